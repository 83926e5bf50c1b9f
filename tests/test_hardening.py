"""The finished server.py under attack: every limit holds, the log can be trusted
and never stops service, and a stop lets requests in progress finish. After each
attack the same server still serves a good client.

The deadlines are shortened with their options, so that proving them takes
seconds. The only timings asserted are generous upper bounds, at least twice
the deadline, that a server without the deadline could not meet.
"""

import importlib.util
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from support import (CLIENT_EXTENSIONS, HANG_LIMIT, ROOT, Server, client, gen_certs, openssl_sign, run)
from test_mutual_tls import client_hello

SUBJECT = "CN=localhost,OU=Your Unit,O=Your Organization,L=Mountain View,ST=California,C=US"
TIME = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"
QUOTED = r'"((?:[^"\\]|\\.)*)"'  # a quoted log field: anything but " and \, or \ and any character
REQUEST_LINE = re.compile(rf"^{TIME} 127\.0\.0\.1:\d+ {QUOTED} (\d\d\d) client={QUOTED}$")
GET = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"
GET_AND_CLOSE = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
LINUX = sys.platform.startswith("linux")


def setUpModule():
    global FOLDER, CERTS
    FOLDER = tempfile.TemporaryDirectory(prefix="mtls-test-")
    CERTS = gen_certs(Path(FOLDER.name) / "tutorial")


def tearDownModule():
    FOLDER.cleanup()


def sign(name, subject):
    """A client certificate with this subject, signed by the tutorial's cert.pem; its (cert, key)."""
    return openssl_sign(FOLDER.name, name, CERTS / "cert.pem", CERTS / "key.pem", CLIENT_EXTENSIONS,
                        subject=subject)


def tls_context(cert=None, key=None):
    context = ssl.create_default_context(cafile=str(CERTS / "cert.pem"))
    context.load_cert_chain(str(cert or CERTS / "cert.pem"), str(key or CERTS / "key.pem"))
    return context


def connect(server, cert=None, key=None):
    """A TLS connection to server with a good (or the given) client certificate."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HANG_LIMIT)
    return tls_context(cert, key).wrap_socket(sock, server_hostname="localhost")


def read_to_end(tls):
    """Everything the server sends until it closes the connection."""
    data = b""
    try:
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                return data
            data += chunk
    except (ConnectionResetError, ssl.SSLEOFError):
        return data


def exchange(server, request, cert=None, key=None):
    """Send request bytes on one TLS connection; return all the server answered before closing."""
    with connect(server, cert, key) as tls:
        tls.sendall(request)
        return read_to_end(tls)


def statuses(answer):
    return re.findall(rb"^HTTP/1\.1 (\d\d\d) ", answer, re.M)


def seconds_until_reset(sock, every, limit=HANG_LIMIT):
    """Send a byte every so many seconds until the server has closed the connection for good,
    so that our bytes meet a reset; return how long that took."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            sock.send(b"x")
        except ConnectionError:  # reset, or broken pipe
            return time.monotonic() - start
        time.sleep(every)
    raise AssertionError(f"still open after {limit} seconds")


def seconds_until_closed(sock, data, every, limit=HANG_LIMIT):
    """Send data one byte every so many seconds until the server closes the connection;
    return how long that took."""
    start = time.monotonic()
    sock.settimeout(every)
    for byte in data:
        try:
            if sock.recv(100) == b"":
                return time.monotonic() - start
            raise AssertionError("the server answered an incomplete message")
        except socket.timeout:
            pass
        except (ConnectionError, ssl.SSLError):
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            break
        try:
            sock.sendall(bytes([byte]))
        except (ConnectionError, ssl.SSLError):
            return time.monotonic() - start
    raise AssertionError(f"still open after {time.monotonic() - start:.1f} seconds")


def unescape(field):
    """A quoted log field as it was before the log escaped it."""
    return re.sub(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)",
                  lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) > 1 else m.group(1), field)


def thread_count(pid):
    return int(re.search(r"^Threads:\s+(\d+)$", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def assert_serves_good_client(test, server):
    start = server.mark()
    test.assertEqual(client(server.url, cwd=CERTS), (0, "Hello, world!\n", ""))
    if server.stderr == subprocess.PIPE:
        server.wait_for_log(r'"GET /hello HTTP/1\.1" 200 client="%s"$' % SUBJECT, start)


def assert_stops_cleanly(test, server):
    test.assertEqual(server.stop(), 0)
    test.assertFalse([line for line in server.log if "Traceback" in line], server.log)


def import_server():
    spec = importlib.util.spec_from_file_location("server_under_test", ROOT / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# 1. Bounded resources: deadlines for the whole handshake and the whole request, and a cap.

class DeadlineTest(unittest.TestCase):
    def test_a_dripped_client_hello_is_cut_at_the_handshake_deadline(self):
        with Server(CERTS, "--handshake-timeout", "2") as server:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                # One byte every 0.2 seconds: each read is quick, the whole handshake is not.
                self.assertLess(seconds_until_closed(sock, client_hello(), every=0.2), 4)  # twice the deadline
            server.wait_for_log(rf"^{TIME} TLS handshake error from 127\.0\.0\.1:\d+: no handshake within 2 seconds$")
            assert_serves_good_client(self, server)
            assert_stops_cleanly(self, server)

    def test_a_refused_connection_is_closed_within_about_a_second_of_its_last_byte(self):
        # The server refuses the handshake, then reads briefly so that its alert is not lost to a
        # reset; a client that keeps sending must not keep it reading.
        with Server(CERTS) as server:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(b"this is not TLS\r\n\r\n")
                self.assertLess(seconds_until_reset(sock, every=0.5), 4)
            server.wait_for_log("client did not speak TLS")
            assert_serves_good_client(self, server)
            assert_stops_cleanly(self, server)

    def test_dripped_headers_are_cut_at_the_header_deadline(self):
        with Server(CERTS, "--header-timeout", "2") as server:
            start = server.mark()
            with connect(server) as tls:
                request = b"GET /hello HTTP/1.1\r\nX-Slow: " + b"a" * 100
                self.assertLess(seconds_until_closed(tls, request, every=0.2), 4)
            server.wait_for_log(rf"^{TIME} 127\.0\.0\.1:\d+ no complete request within 2 seconds$", start)
            assert_serves_good_client(self, server)
            assert_stops_cleanly(self, server)

    def test_an_idle_keep_alive_connection_is_closed_quietly(self):
        with Server(CERTS, "--idle-timeout", "2") as server:
            start = server.mark()
            with connect(server) as tls:
                tls.sendall(GET)
                self.assertTrue(tls.recv(1000).startswith(b"HTTP/1.1 200 OK\r\n"))
                began = time.monotonic()
                self.assertEqual(read_to_end(tls), b"")
                self.assertLess(time.monotonic() - began, 4)
            assert_serves_good_client(self, server)
            # The idle close wrote nothing: the log holds the two requests only.
            self.assertEqual(len(server.log[start:]), 2, server.log[start:])
            assert_stops_cleanly(self, server)

    def test_a_stalled_first_request_is_cut_at_the_header_deadline(self):
        # After the handshake, the first request has header_timeout to arrive, not idle_timeout.
        with Server(CERTS, "--header-timeout", "2") as server:
            with connect(server) as tls:
                began = time.monotonic()
                self.assertEqual(read_to_end(tls), b"")
                self.assertLess(time.monotonic() - began, 4)
            server.wait_for_log("no complete request within 2 seconds")
            assert_stops_cleanly(self, server)


class ConnectionLimitTest(unittest.TestCase):
    @unittest.skipUnless(LINUX, "counts threads in /proc")
    def test_connections_beyond_the_limit_are_closed_at_once(self):
        with Server(CERTS, "--max-connections", "20", "--handshake-timeout", "60") as server:
            socks = []
            try:
                began = time.monotonic()
                for _ in range(150):  # none sends a byte: each would hold a thread for a minute
                    socks.append(socket.create_connection(("127.0.0.1", server.port)))
                # All but 20 are closed by the server, at once.
                for _ in range(HANG_LIMIT * 10):
                    open_ = [sock for sock in socks if still_open(sock)]
                    if len(open_) <= 20:
                        break
                    time.sleep(0.1)
                self.assertEqual(len(open_), 20)
                self.assertLess(time.monotonic() - began, 10)
                self.assertLessEqual(thread_count(server.process.pid), 20 + 3)  # main, log writer, spare
                # One line about it, and at most one a second.
                server.wait_for_log(rf"^{TIME} refusing connections: 20 are open \(the limit set by --max-connections\)$")
                refusals = [line for line in server.log if "refusing connections" in line]
                self.assertLessEqual(len(refusals), time.monotonic() - began + 1)
            finally:
                for sock in socks:
                    sock.close()
            server.wait_for_lines("client closed the connection during the handshake", 20)
            assert_serves_good_client(self, server)
            assert_stops_cleanly(self, server)


def still_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except ConnectionError:
        return False


# 2. Out of file descriptors, accepting pauses and then resumes by itself.

class AcceptErrorTest(unittest.TestCase):
    @unittest.skipUnless(LINUX, "reads CPU time in /proc")
    def test_out_of_descriptors_pauses_accepting_and_recovers(self):
        import resource

        def few_descriptors():
            resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

        with Server(CERTS, "--handshake-timeout", "60", preexec_fn=few_descriptors) as server:
            socks = []
            try:
                for _ in range(60):  # more than the server has descriptors for; each stalls
                    socks.append(socket.create_connection(("127.0.0.1", server.port)))
                server.wait_for_log(rf"^{TIME} cannot accept connections: Too many open files; "
                                    r"trying again every 0\.1 seconds$")
                # Not spinning: a server that retried accept() at once would use a whole CPU.
                cpu = cpu_seconds(server.process.pid)
                time.sleep(2)
                self.assertLess(cpu_seconds(server.process.pid) - cpu, 1)
                self.assertLessEqual(len([line for line in server.log if "cannot accept" in line]), 5)
            finally:
                for sock in socks:
                    sock.close()
            assert_serves_good_client(self, server)
            assert_stops_cleanly(self, server)


# 3. A log that cannot be written costs log lines, never requests.

def small_pipe():
    """A pipe (read end, write end) that holds as little as the system allows."""
    read_end, write_end = os.pipe()
    if LINUX:
        import fcntl
        fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    return read_end, write_end


class BrokenLogTest(unittest.TestCase):
    def assert_serves_without_a_log(self, server):
        for _ in range(3):
            assert_serves_good_client(self, server)
        socket.create_connection(("127.0.0.1", server.port)).close()  # a handshake error to log
        assert_serves_good_client(self, server)

    def test_closed_stderr(self):
        # As `python3 server.py 2>&-`: the process starts with file descriptor 2 closed.
        with Server(CERTS, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.close(2)) as server:
            self.assert_serves_without_a_log(server)
            self.assertEqual(server.stop(), 0)

    def test_broken_pipe(self):
        # As `python3 server.py 2>&1 | head -1` once head has exited.
        read_end, write_end = os.pipe()
        with Server(CERTS, stderr=write_end) as server:
            os.close(write_end)
            os.close(read_end)
            self.assert_serves_without_a_log(server)
            self.assertEqual(server.stop(), 0)

    def test_a_pipe_nobody_reads(self):
        read_end, write_end = small_pipe()
        with Server(CERTS, stderr=write_end) as server:
            os.close(write_end)
            try:
                # 3,000 requests, pipelined on one connection: 3,000 log lines, far more than
                # the pipe and the log's queue hold.
                with connect(server) as tls:
                    answer = b""
                    for round in range(30):
                        tls.sendall(GET * 100)
                        while len(statuses(answer)) < 100 * (round + 1):
                            answer += tls.recv(65536)
                self.assertEqual(statuses(answer), [b"200"] * 3000)
                if LINUX:
                    self.assertLessEqual(thread_count(server.process.pid), 5)
                assert_serves_good_client(self, server)
                # Once the log is read again, it says how many lines it lost.
                with os.fdopen(read_end, "r", errors="replace") as log:
                    read_end = None
                    lines = []
                    reader = threading.Thread(target=lambda: lines.extend(log))
                    reader.start()
                    self.assertEqual(server.stop(), 0)
                    reader.join(HANG_LIMIT)
            finally:
                if read_end is not None:
                    os.close(read_end)
        lost = [int(m.group(1)) for m in map(re.compile(rf"^{TIME} log: (\d+) lines were lost: stderr was not "
                                                        r"taking them$").match, lines) if m]
        self.assertTrue(lost, lines[-5:])
        requests = len([line for line in lines if '"GET /hello HTTP/1.1" 200' in line])
        self.assertEqual(requests + sum(lost), 3000 + 1)  # every request is either shown or counted
        self.assertRegex(lines[-1], rf"^{TIME} stopped$")


# 4. A clean stop.

class StopTest(unittest.TestCase):
    def test_sigterm_and_ctrl_c_let_requests_in_progress_finish(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal.Signals(signum).name), Server(CERTS, "--drain-timeout", "20") as server:
                busy = [connect(server) for _ in range(5)]
                idle = [connect(server) for _ in range(3)]
                for tls in busy:  # half a request each
                    tls.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n")
                for tls in idle:  # one whole request each, then nothing: idle keep-alive connections
                    tls.sendall(GET)
                    self.assertTrue(tls.recv(1000).startswith(b"HTTP/1.1 200 OK\r\n"))
                server.wait_for_lines('"GET /hello HTTP/1.1" 200', 3)
                time.sleep(1)  # for the server to read the half requests
                server.process.send_signal(signum)
                server.wait_for_log(rf"^{TIME} stopping on {signal.Signals(signum).name}: "
                                    r"requests in progress have 20 seconds to finish$")
                # Idle connections are closed at once, and no new connection is accepted.
                for tls in idle:
                    tls.settimeout(10)
                    self.assertEqual(read_to_end(tls), b"")
                    tls.close()
                with self.assertRaises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", server.port)).close()
                # The requests in progress finish, and are told that the connection closes.
                for tls in busy:
                    tls.sendall(b"\r\n")
                    answer = read_to_end(tls)
                    tls.close()
                    self.assertTrue(answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
                    self.assertIn(b"\r\nConnection: close\r\n", answer)
                    self.assertTrue(answer.endswith(b"\r\n\r\nHello, world!\n"), answer)
                self.assertEqual(server.process.wait(HANG_LIMIT), 0)
                server.reader.join(HANG_LIMIT)
                self.assertRegex(server.log[-1], rf"^{TIME} stopped$")
                self.assertEqual(len(server.wait_for_lines('"GET /hello HTTP/1.1" 200', 8)), 8)

    def test_a_request_that_never_finishes_is_cut_at_the_drain_deadline(self):
        with Server(CERTS, "--drain-timeout", "1") as server:
            with connect(server) as tls:
                tls.sendall(b"GET /hello HTTP/1.1\r\n")
                time.sleep(1)
                began = time.monotonic()
                self.assertEqual(server.stop(), 0)
                self.assertLess(time.monotonic() - began, 10)
        self.assertRegex(server.log[-1], rf"^{TIME} stopped; connections cut off: 1$")


# 5. Requests are read exactly: a body is never taken for a request.

class RequestBodyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(CERTS).__enter__()

    @classmethod
    def tearDownClass(cls):
        assert_stops_cleanly(unittest.TestCase(), cls.server)

    def assert_nothing_smuggled(self, start):
        assert_serves_good_client(self, self.server)
        self.assertFalse([line for line in self.server.log[start:] if "smuggled" in line], self.server.log[start:])

    SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"

    def test_a_get_body_is_read_and_dropped(self):
        start = self.server.mark()
        request = (b"GET /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(self.SMUGGLED)
                   + self.SMUGGLED + GET_AND_CLOSE)
        self.assertEqual(statuses(exchange(self.server, request)), [b"200", b"200"])
        self.assert_nothing_smuggled(start)

    def test_a_head_body_is_read_and_dropped(self):
        start = self.server.mark()
        request = (b"HEAD /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(self.SMUGGLED)
                   + self.SMUGGLED + GET_AND_CLOSE)
        self.assertEqual(statuses(exchange(self.server, request)), [b"200", b"200"])
        self.assert_nothing_smuggled(start)

    def test_a_large_body_is_refused_with_413(self):
        start = self.server.mark()
        request = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n" + self.SMUGGLED * 100
        answer = exchange(self.server, request)
        self.assertEqual(statuses(answer), [b"413"])
        self.assertIn(b"\r\nConnection: close\r\n", answer)
        self.assert_nothing_smuggled(start)

    def test_a_bad_content_length_is_refused_with_400(self):
        for length in (b"abc", b"-1", b"+5", b"5, 5", b"0x10", b"\xb2", b"5\r\nContent-Length: 5"):
            with self.subTest(length):
                start = self.server.mark()
                request = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + length + b"\r\n\r\n"
                answer = exchange(self.server, request + self.SMUGGLED)
                self.assertEqual(statuses(answer), [b"400"])
                self.assert_nothing_smuggled(start)

    def test_transfer_encoding_is_refused(self):
        for coding in (b"chunked", b"gzip, chunked", b"identity"):
            with self.subTest(coding):
                start = self.server.mark()
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(self.SMUGGLED), self.SMUGGLED)
                request = b"GET /hello HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: " + coding + b"\r\n\r\n"
                answer = exchange(self.server, request + body + self.SMUGGLED)
                self.assertEqual(statuses(answer), [b"501"])
                self.assert_nothing_smuggled(start)

    def test_other_methods_are_501_and_close(self):
        # http.server's answer to a method it has no do_ method for; its body is never read as a request.
        start = self.server.mark()
        request = b"POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(self.SMUGGLED)
        self.assertEqual(statuses(exchange(self.server, request + self.SMUGGLED)), [b"501"])
        self.assert_nothing_smuggled(start)


# 6. Logs a reader can trust.

class SubjectFormatTest(unittest.TestCase):
    """describe_subject and quote_field on their own: RFC 4514, then the log's quoting."""

    @classmethod
    def setUpClass(cls):
        cls.server = import_server()

    def test_rfc_4514(self):
        describe = self.server.describe_subject
        cases = [
            (((("countryName", "US"),), (("organizationName", "Example"),), (("commonName", "bob"),)),
             "CN=bob,O=Example,C=US"),
            (((("organizationName", "Evil,CN=client"),),), r"O=Evil\,CN=client"),
            (((("commonName", "bob"), ("commonName", "client")),), "CN=bob+CN=client"),
            (((("commonName", "a+b"),),), r"CN=a\+b"),
            (((("commonName", 'x"y\\z<a>b;c=d'),),), r'CN=x\"y\\z\<a\>b\;c=d'),
            (((("commonName", "#hash"),),), r"CN=\#hash"),
            (((("commonName", "in#side"),),), "CN=in#side"),
            (((("commonName", " spaces "),),), r"CN=\ spaces\ "),
            (((("commonName", " "),),), "CN=\\ "),
            (((("commonName", "nul\0"),),), r"CN=nul\00"),
            (((("domainComponent", "com"),), (("domainComponent", "example"),), (("userId", "u1"),),
              (("streetAddress", "1 Main St"),), (("emailAddress", "a@b"),)),
             "emailAddress=a@b,STREET=1 Main St,UID=u1,DC=example,DC=com"),
            (((("localityName", "L"),), (("stateOrProvinceName", "ST"),), (("organizationalUnitName", "OU"),),
              (("1.2.3.4", "x"),)), "1.2.3.4=x,OU=OU,ST=ST,L=L"),
        ]
        for subject, expected in cases:
            with self.subTest(expected):
                self.assertEqual(describe(subject), expected)

    def test_log_quoting(self):
        quote = self.server.quote_field
        self.assertEqual(quote("CN=localhost,O=Example"), "CN=localhost,O=Example")
        self.assertEqual(quote('a"b\\c'), 'a\\"b\\\\c')
        self.assertEqual(quote("a\nb\rc\x1b[2J\x7f\x85"), r"a\x0ab\x0dc\x1b[2J\x7f\x85")
        self.assertEqual(quote("\u2028\u2029\u202e\u200b\ufeff\U000e0041"), r"\u2028\u2029\u202e\u200b\ufeff\U000e0041")
        self.assertEqual(quote("héllo wörld ☃"), "héllo wörld ☃")  # printable: as is
        self.assertEqual(self.server.escape_unprintable('"\\\n'), '"\\\\x0a')


class TrustworthyLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(CERTS).__enter__()

    @classmethod
    def tearDownClass(cls):
        assert_stops_cleanly(unittest.TestCase(), cls.server)

    def request_line(self, start):
        """The request line logged since start, its fields unescaped: (request, status, client).
        No other line holds a double quote that is not escaped."""
        self.server.wait_for_log(r'" \d{3} client="', start)
        lines = self.server.log[start:]
        quoted = [line for line in lines if '"' in re.sub(r"\\.", "", line)]
        self.assertEqual(len(quoted), 1, lines)
        match = REQUEST_LINE.match(quoted[0])
        self.assertTrue(match, quoted[0])
        return unescape(match.group(1)), match.group(2), unescape(match.group(3))

    def test_a_forged_request_line_stays_in_its_field(self):
        start = self.server.mark()
        forged = b'/hello" 200 client="CN=admin,O=Corp\\'
        exchange(self.server, b"GET " + forged + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        # Spaces in the path make it a bad request, which http.server logs with the request in repr().
        self.assertEqual(self.request_line(start), ("GET " + forged.decode() + " HTTP/1.1", "400", SUBJECT))

    def test_subjects_that_try_to_look_like_others(self):
        cases = [
            ("comma", "/O=Evil,CN=client", r"O=Evil\,CN=client"),
            ("multi", "/CN=bob+CN=client", "CN=bob+CN=client"),
            ("quote", '/O=Corp/CN=admin", O="x', r'CN=admin\"\, O=\"x,O=Corp'),
            ("lines", "/CN=a\u2028b\u202ec\x1bd", "CN=a\u2028b\u202ec\x1bd"),
            ("edges", "/CN=#lead/OU= trail ", r"OU=\ trail\ ,CN=\#lead"),
        ]
        for name, subject, shown in cases:
            with self.subTest(name):
                cert, key = sign(name, subject)
                start = self.server.mark()
                self.assertEqual(statuses(exchange(self.server, GET_AND_CLOSE, cert, key)), [b"200"])
                # The field, unescaped once, is the RFC 4514 subject; nothing in it is raw.
                self.assertEqual(self.request_line(start), ("GET /hello HTTP/1.1", "200", shown))
                line = self.server.log[-1]
                self.assertTrue(line.isascii() and line.isprintable(), line)


# 7. Authorization that cannot be confused.

class AllowTest(unittest.TestCase):
    def test_an_empty_allow_is_refused_at_start(self):
        status, out, err = run([sys.executable, ROOT / "server.py", "--port", "0", "--allow", ""], cwd=CERTS)
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err.splitlines()[-1], "server.py: error: argument --allow: an empty name would admit "
                                               "certificates that have no name; pass a client's Common Name")

    def test_no_common_name_or_several_are_refused_with_403(self):
        cases = [
            ("no-cn", "/O=Example/OU=Nobody", "client certificate has no Common Name"),
            ("two-cn", "/CN=localhost/CN=bob", "client certificate has 2 Common Names"),
            ("two-cn-one-rdn", "/CN=localhost+CN=bob", "client certificate has 2 Common Names"),
        ]
        with Server(CERTS, "--allow", "localhost") as server:
            for name, subject, reason in cases:
                with self.subTest(name):
                    cert, key = sign(name, subject)
                    start = server.mark()
                    answer = exchange(server, GET, cert, key)  # keep-alive asked for; closed anyway
                    self.assertEqual(statuses(answer), [b"403"])
                    self.assertIn(b"\r\nConnection: close\r\n", answer)
                    self.assertTrue(answer.endswith(b"\r\n\r\n403 forbidden: " + reason.encode() + b"\n"), answer)
                    server.wait_for_log(rf"^{TIME} 127\.0\.0\.1:\d+ forbidden: {reason}$", start)
                    server.wait_for_log(r'"GET /hello HTTP/1\.1" 403 client=', start)
            assert_serves_good_client(self, server)
            assert_stops_cleanly(self, server)


# 10. Whatever --host says, the ready line shows a URL a client can use.

class WildcardHostTest(unittest.TestCase):
    def test_every_address_is_shown_as_localhost(self):
        hosts = ["0.0.0.0", ""]
        if socket.has_ipv6 and ipv6_works():
            hosts.append("::")
        for host in hosts:
            with self.subTest(host=host), Server(CERTS, host=host) as server:
                self.assertEqual(server.url, f"https://localhost:{server.port}/hello")
                assert_serves_good_client(self, server)
                assert_stops_cleanly(self, server)


def ipv6_works():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
