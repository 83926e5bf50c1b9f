"""client.py against servers that misbehave on purpose: it always ends within
--timeout, keeps at most MAX_BODY bytes, shows what a server sends only as
escaped text, and any bad input or broken output gives one line, not a traceback.

Each hostile server is a few lines of real TLS on a free port, with the
certificates of the real gen_certs.sh.
"""

import os
import pty
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from support import CLEAN_ENV, HANG_LIMIT, ROOT, gen_certs

TIMEOUT = 2  # seconds: the --timeout the tests give the client, so that each deadline test is short
DRIP = 0.5  # seconds between the bytes of a dripping server: far less than TIMEOUT, so no single read times out
SLACK = 10  # seconds beyond TIMEOUT that a client may take to start and stop on a busy machine
MAX_BODY = 10 * 2**20  # client.py's MAX_BODY
HELLO = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nHello, world!\n"


class HostileServer:
    """A TLS server on a free port that asks for a client certificate, reads one request, then hands
    the connection to behave(tls, server). Each connection has its own thread, which does the handshake.

        with HostileServer(certs, behave) as server:
            server.url  # https://127.0.0.1:PORT/hello
    """

    def __init__(self, certs, behave):
        self.behave = behave
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certs / "cert.pem", certs / "key.pem")
        self.context.load_verify_locations(certs / "cert.pem")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.stopping = threading.Event()
        self.requests = []
        self.threads = []

    def __enter__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}/hello"
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()
        return self

    def _accept(self):
        self.listener.settimeout(0.1)  # to see self.stopping soon: closing a socket does not end accept()
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, sock):
        sock.settimeout(HANG_LIMIT)
        try:
            with self.context.wrap_socket(sock, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = tls.recv(4096)
                    if not data:
                        return
                    request += data
                self.requests.append(request)
                self.behave(tls, self)
        except OSError:
            pass  # the client hung up, as it should once its deadline has passed

    def drip(self, tls, data, interval=DRIP):
        """Send data one byte every interval seconds, until the test ends."""
        for byte in data:
            if self.stopping.wait(interval):
                return
            tls.sendall(bytes([byte]))

    def __exit__(self, *exc):
        self.stopping.set()
        self.acceptor.join(HANG_LIMIT)
        self.listener.close()
        for thread in self.threads:
            thread.join(HANG_LIMIT)


def run_client(*args, cwd, stdout=subprocess.PIPE, limit=HANG_LIMIT):
    """Run client.py; return (status, stdout bytes, stderr text, seconds it took).
    A client still running after limit seconds is killed and fails the test."""
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, ROOT / "client.py", *map(str, args)], cwd=cwd,
                               stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, env=CLEAN_ENV)
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"client.py was still running after {limit} seconds")
    return process.returncode, out, err.decode(), time.monotonic() - start


# Run a program with the terminal on stdin, stdout and stderr as its controlling terminal, where
# getpass (and OpenSSL) ask for a passphrase; a new session has none until it claims one.
TAKE_TERMINAL = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                 "os.execv(sys.argv[1], sys.argv[1:])")


def run_client_in_terminal(*args, cwd, typed):
    """Run client.py in a new terminal, type typed once it asks for a passphrase;
    return (exit status, everything the terminal showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", TAKE_TERMINAL, sys.executable, ROOT / "client.py", *args],
                               cwd=cwd, stdin=terminal, stdout=terminal, stderr=terminal,
                               start_new_session=True, env=CLEAN_ENV)
    os.close(terminal)
    shown = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], HANG_LIMIT)
            if not ready:
                raise AssertionError(f"client.py showed nothing more for {HANG_LIMIT} seconds: {shown!r}")
            try:
                data = os.read(controller, 4096)
            except OSError:  # EIO: the client has exited and closed the terminal
                break
            if not data:
                break
            shown += data
            if typed is not None and b"passphrase" in shown:
                os.write(controller, typed)
                typed = None
        return process.wait(HANG_LIMIT), shown
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()


class ClientHardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        cls.certs = gen_certs(Path(cls.folder.name) / "tutorial")

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def fetch(self, behave, *args, url_path="/hello", **options):
        """client.py --timeout TIMEOUT against a HostileServer(behave); also returns the server."""
        with HostileServer(self.certs, behave) as server:
            url = server.url.replace("/hello", url_path)
            result = run_client("--timeout", TIMEOUT, *args, url, cwd=self.certs, **options)
        return result, server

    def assertEndsInTime(self, behave):
        """The client gives up once TIMEOUT has passed, with the one line that says so."""
        (status, out, err, took), server = self.fetch(behave, limit=TIMEOUT + SLACK)
        self.assertEqual((status, out, err),
                         (1, b"", f"client.py: 127.0.0.1:{server.port} did not answer within {TIMEOUT} seconds; "
                                  "is it the right server?\n"))
        self.assertGreaterEqual(took, TIMEOUT)

    # One deadline for the whole fetch.

    def test_headers_dripped_one_byte_at_a_time(self):
        self.assertEndsInTime(lambda tls, server: server.drip(tls, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: a\r\n" * 1000))

    def test_body_dripped_one_byte_at_a_time(self):
        def behave(tls, server):
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            server.drip(tls, b"x" * 1000)
        self.assertEndsInTime(behave)

    def test_endless_100_continue(self):
        def behave(tls, server):
            while not server.stopping.wait(0.01):
                tls.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.assertEndsInTime(behave)

    def test_handshake_dripped_one_byte_at_a_time(self):
        # Plain TCP that starts a TLS record (a handshake message of 16 kB) and never finishes it.
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            stop = threading.Event()

            def drip():
                listener.settimeout(HANG_LIMIT)
                connection, _ = listener.accept()
                with connection:
                    try:
                        connection.sendall(b"\x16\x03\x03\x40\x00")
                        while not stop.wait(DRIP):
                            connection.sendall(b"\x00")
                    except OSError:
                        pass

            thread = threading.Thread(target=drip)
            thread.start()
            try:
                status, out, err, took = run_client("--timeout", TIMEOUT, f"https://127.0.0.1:{port}/hello",
                                                    cwd=self.certs, limit=TIMEOUT + SLACK)
            finally:
                stop.set()
                thread.join(HANG_LIMIT)
        self.assertEqual((status, out, err),
                         (1, b"", f"client.py: 127.0.0.1:{port} did not answer within {TIMEOUT} seconds; "
                                  "is it the right server?\n"))

    # A limit on the body.

    def test_endless_body(self):
        def close_delimited(tls, server):
            tls.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            while not server.stopping.is_set():
                tls.sendall(b"x" * 65536)

        def chunked(tls, server):
            tls.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not server.stopping.is_set():
                tls.sendall(b"10000\r\n" + b"x" * 65536 + b"\r\n")

        def announced(tls, server):
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n")
            while not server.stopping.is_set():
                tls.sendall(b"x" * 65536)

        for behave in (close_delimited, chunked, announced):
            with self.subTest(behave.__name__):
                (status, out, err, took), server = self.fetch(behave, "--timeout", 60)
                self.assertEqual((status, out, err),
                                 (1, b"", f"client.py: 127.0.0.1:{server.port} sent more than 10 MiB, more than "
                                          "this client keeps; is it the right URL?\n"))

    def test_body_of_exactly_max_body_is_kept(self):
        def behave(tls, server):
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % MAX_BODY + b"x" * MAX_BODY)
        (status, out, err, took), _ = self.fetch(behave, "--timeout", 60)
        self.assertEqual((status, len(out), err), (0, MAX_BODY, ""))

    # --timeout itself.

    def test_timeouts_that_cannot_be(self):
        for value in ("0", "-1", "nan", "inf", "1e12", "ten"):
            with self.subTest(value):
                status, out, err, took = run_client("--timeout", value, cwd=self.certs)
                self.assertEqual((status, out), (2, b""))
                self.assertTrue(err.endswith(f"\nclient.py: error: argument --timeout: {value} is not a number "
                                             "of seconds above 0 and up to 86400\n"), err)

    def test_timeout_is_in_the_help(self):
        status, out, err, took = run_client("--help", cwd=self.certs)
        self.assertEqual((status, err), (0, ""))
        self.assertIn(b"--timeout SECONDS", out)

    # What the server says reaches the terminal only as escaped text.

    def test_escape_sequences_in_reason_and_body_are_escaped(self):
        def behave(tls, server):
            body = "\x1b]0;owned\x07\u202etxt.exe\u2028line\nsecond line\n".encode()
            tls.sendall(b"HTTP/1.1 500 \x1b[2J\x9bred\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        (status, out, err, took), _ = self.fetch(behave)
        self.assertEqual((status, out), (1, b""))
        self.assertEqual(err, "client.py: the server answered 500 \\x1b[2J\\x9bred "
                              "(\\x1b]0;owned\\x07\\u202etxt.exe\\u2028line)\n")

    def test_a_long_error_page_is_cut_to_one_short_line(self):
        def behave(tls, server):
            tls.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 1000\r\n\r\n" + b"y" * 1000)
        (status, out, err, took), _ = self.fetch(behave)
        self.assertEqual((status, out, err),
                         (1, b"", f"client.py: the server answered 404 Not Found ({'y' * 200}...)\n"))

    def test_body_goes_to_a_pipe_byte_for_byte(self):
        body = b"\x1b[31mred\x1b[0m \xff\xfe\n"

        def behave(tls, server):
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        (status, out, err, took), _ = self.fetch(behave)
        self.assertEqual((status, out, err), (0, body, ""))

    def test_body_goes_to_a_terminal_escaped(self):
        def behave(tls, server):
            body = "\x1b[31mred\x1b[0m\ttab \u202e\xff\n".encode() + b"\xfe\n"
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        controller, terminal = pty.openpty()
        try:
            (status, out, err, took), _ = self.fetch(behave, stdout=terminal)
            os.close(terminal)
            terminal = None
            shown = b""
            while True:
                try:
                    data = os.read(controller, 4096)
                except OSError:  # EIO: the terminal is closed and everything was read
                    break
                if not data:
                    break
                shown += data
        finally:
            if terminal is not None:
                os.close(terminal)
            os.close(controller)
        self.assertEqual((status, err), (0, ""))
        # The terminal turns each newline into \r\n itself; ÿ is printable and stays as it is.
        self.assertEqual(shown, "\\x1b[31mred\\x1b[0m\ttab \\u202e\xff\r\n\\xfe\r\n".encode())

    # Output that cannot be written.

    def test_reader_that_goes_away(self):
        # As `client.py | head -c0`: the pipe has no reader by the time the body is written.
        reader, writer = os.pipe()
        os.close(reader)
        try:
            (status, out, err, took), _ = self.fetch(lambda tls, server: tls.sendall(HELLO), stdout=writer)
        finally:
            os.close(writer)
        self.assertEqual((status, err), (141, ""))

    def test_full_disk(self):
        with open("/dev/full", "wb") as full:
            (status, out, err, took), _ = self.fetch(lambda tls, server: tls.sendall(HELLO), stdout=full)
        self.assertEqual((status, err), (1, "client.py: cannot write the answer: No space left on device\n"))

    def test_closed_stdout(self):
        with HostileServer(self.certs, lambda tls, server: tls.sendall(HELLO)) as server:
            done = subprocess.run(["bash", "-c", 'exec "$0" "$1" "$2" >&-', sys.executable, ROOT / "client.py",
                                   server.url], cwd=self.certs, capture_output=True, text=True,
                                  timeout=HANG_LIMIT, env=CLEAN_ENV)
        self.assertEqual((done.returncode, done.stderr),
                         (1, "client.py: cannot write the answer: standard output is closed\n"))

    # Bad input: one line, never a traceback.

    def test_non_ascii_path_and_query_are_percent_encoded(self):
        (status, out, err, took), server = self.fetch(lambda tls, server: tls.sendall(HELLO),
                                                      url_path="/h\u00e9llo/a b?q=\u00e9 x&r=%41")
        self.assertEqual((status, out, err), (0, b"Hello, world!\n", ""))
        self.assertEqual(server.requests[0].split(b"\r\n")[0], b"GET /h%C3%A9llo/a%20b?q=%C3%A9%20x&r=%41 HTTP/1.1")

    def test_host_names_that_cannot_be(self):
        for url in ("https://a..b/hello", "https://.example/hello", "https://a b/hello",
                    f"https://{'x' * 64}.example/hello", "https://x\u202e/hello"):
            with self.subTest(url):
                status, out, err, took = run_client(url, cwd=self.certs)
                self.assertEqual((status, out), (2, b""))
                self.assertTrue(err.startswith("usage: client.py "), err)
                shown = url.replace("\u202e", "\\u202e")  # escaped, like all it prints
                self.assertTrue(err.endswith(f"\nclient.py: error: {shown} is not an https://HOST[:PORT]/PATH URL\n"),
                                err)

    def test_encrypted_key_with_no_terminal(self):
        check = subprocess.run(["openssl", "pkey", "-in", self.certs / "key.pem", "-aes256", "-passout",
                                "pass:secret", "-out", self.certs / "encrypted-key.pem"], capture_output=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        status, out, err, took = run_client("--key", "encrypted-key.pem", "https://127.0.0.1:1/hello", cwd=self.certs)
        self.assertEqual((status, out, err), (1, b"", "client.py: encrypted-key.pem is encrypted; run client.py in a "
                                                      "terminal to type its passphrase\n"))

    def test_encrypted_key_in_a_terminal(self):
        check = subprocess.run(["openssl", "pkey", "-in", self.certs / "key.pem", "-aes256", "-passout",
                                "pass:secret", "-out", self.certs / "encrypted-key.pem"], capture_output=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        with HostileServer(self.certs, lambda tls, server: tls.sendall(HELLO)) as server:
            self.assertEqual(run_client_in_terminal("--key", "encrypted-key.pem", server.url, cwd=self.certs,
                                                    typed=b"secret\n"),
                             (0, b"client.py: passphrase of encrypted-key.pem: \r\nHello, world!\r\n"))
            self.assertEqual(run_client_in_terminal("--key", "encrypted-key.pem", server.url, cwd=self.certs,
                                                    typed=b"wrong\n"),
                             (1, b"client.py: passphrase of encrypted-key.pem: \r\n"
                                 b"client.py: cannot decrypt encrypted-key.pem: the passphrase is wrong\r\n"))


if __name__ == "__main__":
    unittest.main()
