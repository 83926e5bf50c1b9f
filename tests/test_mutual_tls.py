"""The final server.py and client.py: mutual TLS succeeds with the right
certificates, and every wrong one is refused by the side that should refuse
it, for the reason it should. After each refusal the same server still serves
a good client."""

import http.client
import importlib.util
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import (CLIENT_EXTENSIONS, ROOT, SERVER_EXTENSIONS, Server, client, curl, free_port, gen_certs,
                     openssl_sign, s_client)

SUBJECT = "CN=localhost,OU=Your Unit,O=Your Organization,L=Mountain View,ST=California,C=US"
REQUEST_LOG = r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d 127\.0\.0\.1:\d+ "GET /hello HTTP/1\.1" 200 client="%s"$'
HANDSHAKE_LOG = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d TLS handshake error from 127\.0\.0\.1:\d+: %s$"


class MutualTLSTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        top = Path(cls.folder.name)
        cls.certs = gen_certs(top / "tutorial")
        cls.other = gen_certs(top / "other")
        cert, key = cls.certs / "cert.pem", cls.certs / "key.pem"
        cls.expired_cert, cls.expired_key = openssl_sign(
            top, "expired", cert, key, CLIENT_EXTENSIONS, start="20200101000000Z", end="20200201000000Z")
        cls.server = Server(cls.certs).__enter__()

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        cls.folder.cleanup()
        assert status == 0, f"server exited with {status}"
        assert not any("Traceback" in line for line in cls.server.log), cls.server.log

    def client(self, *args, url=None):
        return client(url or self.server.url, *args, cwd=self.certs)

    def assert_serves_good_client(self):
        """The same server still answers a good client after whatever came before."""
        start = self.server.mark()
        self.assertEqual(self.client(), (0, "Hello, world!\n", ""))
        self.server.wait_for_log(REQUEST_LOG % SUBJECT, start)

    def assert_handshake_error(self, reason, start):
        self.server.wait_for_log(HANDSHAKE_LOG % reason, start)

    # Success, with each peer.

    def test_client_py_gets_hello_and_the_log_names_the_client(self):
        start = self.server.mark()
        self.assertEqual(self.client(), (0, "Hello, world!\n", ""))
        self.server.wait_for_log(REQUEST_LOG % SUBJECT, start)

    def test_curl_gets_hello_with_http_1_1_headers(self):
        status, out, err = curl("--include", "--cacert", "cert.pem", "--cert", "cert.pem", "--key", "key.pem",
                                self.server.url, cwd=self.certs)
        self.assertEqual((status, err), (0, ""))
        head, body = out.split("\n\n", 1)  # text mode: each \r\n reads as \n
        lines = head.split("\n")
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        self.assertIn("Content-Length: 14", lines)
        self.assertIn("Content-Type: text/plain; charset=utf-8", lines)
        self.assertEqual(body, "Hello, world!\n")

    def test_curl_over_tls_1_2_gets_hello(self):
        status, out, err = curl("--tlsv1.2", "--tls-max", "1.2", "--cacert", "cert.pem", "--cert", "cert.pem",
                                "--key", "key.pem", self.server.url, cwd=self.certs)
        self.assertEqual((status, out, err), (0, "Hello, world!\n", ""))

    def test_openssl_s_client_gets_hello(self):
        status, out, err = s_client(self.server.port, "-CAfile", "cert.pem", "-cert", "cert.pem", "-key", "key.pem",
                                    "-verify_return_error", "-verify_hostname", "localhost", cwd=self.certs)
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("HTTP/1.1 200 OK\n"), out)
        self.assertTrue(out.endswith("\n\nHello, world!\n"), out)

    def test_the_server_says_goodbye_with_close_notify(self):
        # s_client reads to the end of the stream; a close without close_notify is an error to it.
        identity = ("-CAfile", "cert.pem", "-cert", "cert.pem", "-key", "key.pem")
        status, out, err = s_client(self.server.port, *identity, cwd=self.certs)
        self.assertEqual(status, 0, err)
        self.assertTrue(out.endswith("\n\nHello, world!\n"), out)
        self.assertNotIn("unexpected eof", err)
        # The step 4 server, which closes without it, shows what the test guards against.
        step4 = Path(__file__).resolve().parent.parent / "steps/4-mutual-tls/server.py"
        with Server(self.certs, script=step4, host=None) as plain_close:
            status, out, err = s_client(plain_close.port, *identity, cwd=self.certs)
        self.assertTrue(out.endswith("\n\nHello, world!\n"), out)
        self.assertIn("unexpected eof while reading", err)

    def test_a_client_that_says_goodbye_hears_one_and_one_that_leaves_is_let_go(self):
        context = ssl.create_default_context(cafile=str(self.certs / "cert.pem"))
        context.load_cert_chain(str(self.certs / "cert.pem"), str(self.certs / "key.pem"))

        def fetch_then(leave):
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
                with context.wrap_socket(sock, server_hostname="localhost") as tls:
                    tls.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    answer = b""
                    while not answer.endswith(b"Hello, world!\n"):
                        answer += tls.recv(4096)
                    return leave(tls)

        start = self.server.mark()
        # unwrap() sends our close_notify and returns only once the server's has come back.
        self.assertIsInstance(fetch_then(lambda tls: tls.unwrap()), socket.socket)
        # Python's clients close without one; the server lets them go without a word (or a traceback).
        fetch_then(lambda tls: tls.close())
        self.server.wait_for_lines(r'"GET /hello HTTP/1\.1" 200', 2, start)
        self.assert_serves_good_client()
        self.assertFalse([line for line in self.server.log[start:] if "failed" in line or "error" in line])

    def test_one_session_ticket_per_handshake_as_go_sends(self):
        def tickets(port):
            """The handshake messages s_client received, with -msg; the body must have come too."""
            status, out, err = s_client(port, "-CAfile", "cert.pem", "-cert", "cert.pem", "-key", "key.pem", "-msg",
                                        cwd=self.certs)
            self.assertIn("Hello, world!\n", out)
            received = re.findall(r"^<<< TLS 1\.3, Handshake \[length \w+\], (\w+)$", out, re.M)
            self.assertIn("Finished", received)
            return received.count("NewSessionTicket")

        self.assertEqual(tickets(self.server.port), 1)
        # The step 4 server keeps OpenSSL's default: two, each carrying the client's certificate.
        step4 = Path(__file__).resolve().parent.parent / "steps/4-mutual-tls/server.py"
        with Server(self.certs, script=step4, host=None) as step4_server:
            self.assertEqual(tickets(step4_server.port), 2)

    def test_head_has_headers_and_no_body(self):
        status, out, err = curl("--head", "--cacert", "cert.pem", "--cert", "cert.pem", "--key", "key.pem",
                                self.server.url, cwd=self.certs)
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("HTTP/1.1 200 OK\n"), out)
        self.assertIn("Content-Length: 14\n", out)
        self.assertTrue(out.endswith("\n\n"), out)

    def test_a_query_string_reaches_the_same_resource(self):
        start = self.server.mark()
        self.assertEqual(self.client(url=self.server.url + "?name=reader"), (0, "Hello, world!\n", ""))
        self.server.wait_for_log(r'"GET /hello\?name=reader HTTP/1\.1" 200', start)

    def test_other_paths_are_404_like_go(self):
        status, out, err = self.client(url=self.server.base + "/other")
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "client.py: the server answered 404 Not Found (404 page not found)\n")

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        context = ssl.create_default_context(cafile=str(self.certs / "cert.pem"))
        context.load_cert_chain(str(self.certs / "cert.pem"), str(self.certs / "key.pem"))
        connection = http.client.HTTPSConnection("localhost", self.server.port, context=context, timeout=60)
        start = self.server.mark()
        try:
            ports = set()
            for _ in range(3):
                connection.request("GET", "/hello")
                response = connection.getresponse()
                self.assertEqual((response.status, response.read()), (200, b"Hello, world!\n"))
                self.assertEqual(response.getheader("Connection"), None)
                ports.add(connection.sock.getsockname()[1])
        finally:
            connection.close()
        self.assertEqual(len(ports), 1)
        matches = self.server.wait_for_lines(r'127\.0\.0\.1:(\d+) "GET /hello HTTP/1\.1" 200', 3, start)
        self.assertEqual([int(match.group(1)) for match in matches], [ports.pop()] * 3)

    def test_control_characters_from_the_client_are_escaped_in_the_log(self):
        context = ssl.create_default_context(cafile=str(self.certs / "cert.pem"))
        context.load_cert_chain(str(self.certs / "cert.pem"), str(self.certs / "key.pem"))
        start = self.server.mark()
        with socket.create_connection(("127.0.0.1", self.server.port)) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET /\x1b[2Jforged\x7f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                self.assertTrue(tls.recv(100).startswith(b"HTTP/1.1 404 "))
        match = self.server.wait_for_log(r'"GET (\S+) HTTP/1\.1" 404', start)
        self.assertEqual(match.group(1), r"/\x1b[2Jforged\x7f")
        self.assertNotIn("\x1b", "".join(self.server.log))

    # Refused by the server: the client's certificate is missing or wrong.

    def test_no_client_certificate_is_refused_during_the_handshake(self):
        start = self.server.mark()
        status, out, err = curl("--cacert", "cert.pem", self.server.url, cwd=self.certs)
        self.assertEqual((status, out), (56, ""))
        self.assertIn("tlsv13 alert certificate required", err)
        self.assert_handshake_error("client sent no certificate", start)
        self.assert_serves_good_client()

    def test_no_client_certificate_over_tls_1_2_is_refused(self):
        start = self.server.mark()
        status, out, err = curl("--tlsv1.2", "--tls-max", "1.2", "--cacert", "cert.pem", self.server.url,
                                cwd=self.certs)
        self.assertEqual((status, out), (35, ""))
        self.assertIn("alert handshake failure", err)
        self.assert_handshake_error("client sent no certificate", start)
        self.assert_serves_good_client()

    def test_no_client_certificate_with_s_client_is_refused(self):
        start = self.server.mark()
        status, out, err = s_client(self.server.port, "-CAfile", "cert.pem", "-verify_return_error", cwd=self.certs)
        self.assertEqual(out, "")
        self.assertIn("alert certificate required", err)
        self.assert_handshake_error("client sent no certificate", start)
        self.assert_serves_good_client()

    def test_step_3_client_without_a_certificate_is_refused(self):
        start = self.server.mark()
        # The finished server lingers after refusing, so the alert always arrives (see hang_up).
        status, out, err = client("--port", self.server.port, cwd=self.certs,
                                  script=Path(__file__).parent.parent / "steps/3-trust-the-server/client.py")
        self.assertEqual((status, out), (1, ""))
        self.assertRegex(err, r"^client\.py: \[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED\] "
                              r"tlsv13 alert certificate required \(_ssl\.c:\d+\)\n$")
        self.assert_handshake_error("client sent no certificate", start)
        self.assert_serves_good_client()

    def test_client_certificate_from_another_ca_is_refused(self):
        start = self.server.mark()
        status, out, err = self.client("--cert", self.other / "cert.pem", "--key", self.other / "key.pem")
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "client.py: the server refused our client certificate (unknown ca); "
                              "pass one signed by the server's CA with --cert and --key\n")
        self.assert_handshake_error("client certificate rejected: self-signed certificate", start)
        self.assert_serves_good_client()

    def test_client_certificate_from_another_ca_over_tls_1_2_is_refused(self):
        start = self.server.mark()
        status, out, err = curl("--tlsv1.2", "--tls-max", "1.2", "--cacert", "cert.pem",
                                "--cert", self.other / "cert.pem", "--key", self.other / "key.pem",
                                self.server.url, cwd=self.certs)
        self.assertEqual((status, out), (35, ""))
        self.assertIn("tlsv1 alert unknown ca", err)
        self.assert_handshake_error("client certificate rejected: self-signed certificate", start)
        self.assert_serves_good_client()

    def test_expired_client_certificate_is_refused(self):
        start = self.server.mark()
        status, out, err = self.client("--cert", self.expired_cert, "--key", self.expired_key)
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "client.py: the server refused our client certificate (certificate expired); "
                              "pass one signed by the server's CA with --cert and --key\n")
        self.assert_handshake_error("client certificate rejected: certificate has expired", start)
        self.assert_serves_good_client()

    def test_expired_client_certificate_with_curl_is_refused(self):
        start = self.server.mark()
        status, out, err = curl("--cacert", "cert.pem", "--cert", self.expired_cert, "--key", self.expired_key,
                                self.server.url, cwd=self.certs)
        self.assertEqual((status, out), (56, ""))
        self.assertIn("sslv3 alert certificate expired", err)
        self.assert_handshake_error("client certificate rejected: certificate has expired", start)
        self.assert_serves_good_client()

    # Refused by the client: the server's certificate is not the one it should be.

    def test_untrusted_server_certificate_is_refused_by_the_client(self):
        start = self.server.mark()
        status, out, err = self.client("--ca", self.other / "cert.pem")
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "client.py: the server's certificate is not trusted (self-signed certificate); "
                              "pass the CA that signed it with --ca\n")
        self.assert_handshake_error("tlsv1 alert unknown ca", start)
        self.assert_serves_good_client()

    def test_expired_server_certificate_is_refused_by_the_client(self):
        cert, key = openssl_sign(self.folder.name, "expired-server", self.certs / "cert.pem", self.certs / "key.pem",
                                 SERVER_EXTENSIONS, start="20200101000000Z", end="20200201000000Z")
        with Server(self.certs, "--cert", cert, "--key", key) as stale:
            self.assertEqual(client(stale.url, cwd=self.certs),
                             (1, "", "client.py: the server's certificate is out of date (certificate has expired); "
                                     "the server needs a new one, or this machine's clock is wrong\n"))
            stale.wait_for_log(HANDSHAKE_LOG % "sslv3 alert certificate expired")
        self.assert_serves_good_client()

    def test_untrusted_server_certificate_is_refused_by_curl(self):
        start = self.server.mark()
        status, out, err = curl("--cacert", self.other / "cert.pem", "--cert", "cert.pem", "--key", "key.pem",
                                self.server.url, cwd=self.certs)
        self.assertEqual((status, out), (60, ""))
        self.assertIn("self-signed certificate", err)
        self.assert_handshake_error("tlsv1 alert unknown ca", start)
        self.assert_serves_good_client()

    def test_wrong_host_name_is_refused_by_curl(self):
        start = self.server.mark()
        status, out, err = curl("--resolve", f"wrong.example:{self.server.port}:127.0.0.1",
                                "--cacert", "cert.pem", "--cert", "cert.pem", "--key", "key.pem",
                                f"https://wrong.example:{self.server.port}/hello", cwd=self.certs)
        self.assertEqual((status, out), (60, ""))
        self.assertIn("no alternative certificate subject name matches target host name 'wrong.example'", err)
        self.assert_serves_good_client()
        # curl checks the name after the handshake and just hangs up: the server sees no error.
        self.assertEqual([line for line in self.server.log[start:] if "TLS handshake error" in line], [])

    @unittest.skipUnless(sys.platform.startswith("linux"), "needs 127.0.0.2 on the loopback interface")
    def test_wrong_host_name_is_refused_by_the_client(self):
        # 127.0.0.2 is this machine too, but the certificate names only localhost, 127.0.0.1 and ::1.
        with Server(self.certs, host="127.0.0.2") as other:
            status, out, err = client(other.url, cwd=self.certs)
            self.assertEqual((status, out), (1, ""))
            self.assertEqual(err, "client.py: the server's certificate is not valid for 127.0.0.2 "
                                  "(IP address mismatch, certificate is not valid for '127.0.0.2'.); "
                                  "use a host name that the certificate lists\n")
            other.wait_for_log(r"TLS handshake error from 127\.0\.0\.1:\d+: tlsv1 alert unknown ca|"
                               r"sslv3 alert bad certificate")
        self.assert_serves_good_client()

    # Refused by the server: not TLS, or not a TLS it accepts.

    def test_tls_1_1_is_refused(self):
        start = self.server.mark()
        # OpenSSL 3 itself refuses to offer TLS 1.1 at its default security level; level 0 lets it try.
        status, out, err = s_client(self.server.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                                    "-cert", "cert.pem", "-key", "key.pem", cwd=self.certs)
        self.assertNotEqual(status, 0)
        self.assertIn("alert protocol version", err)
        self.assert_handshake_error("client offered only TLS versions older than 1.2", start)
        self.assert_serves_good_client()

    def test_client_refuses_a_server_that_speaks_only_tls_1_1(self):
        port = free_port()
        old = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_1",
                                "-cipher", "DEFAULT@SECLEVEL=0", "-cert", "cert.pem", "-key", "key.pem", "-www"],
                               cwd=self.certs, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        try:
            while old.stdout.readline() not in ("ACCEPT\n", ""):  # ready
                pass
            status, out, err = self.client(url=f"https://localhost:{port}/hello")
        finally:
            old.kill()
            old.wait()
            old.stdout.close()
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "client.py: the server speaks no TLS version we accept (protocol version): we require "
                              "TLS 1.2 or newer, because older versions have known attacks; upgrade the server\n")
        # The setting that refuses it, which Python 3.10 and newer would apply by default anyway, but 3.9 not.
        spec = importlib.util.spec_from_file_location("client_under_test", ROOT / "client.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        context = module.make_client_context(*(str(self.certs / name) for name in ("cert.pem", "cert.pem", "key.pem")))
        self.assertEqual(context.minimum_version, ssl.TLSVersion.TLSv1_2)

    def test_plain_http_to_the_tls_port_is_refused(self):
        start = self.server.mark()
        status, out, err = curl(f"http://localhost:{self.server.port}/hello", cwd=self.certs)
        self.assertIn(status, (52, 56))  # empty reply, or reset: the server closes without answering
        self.assertEqual(out, "")
        self.assert_handshake_error("client sent plain HTTP to the HTTPS port", start)
        self.assert_serves_good_client()

    def test_garbage_bytes_are_refused(self):
        start = self.server.mark()
        with socket.create_connection(("127.0.0.1", self.server.port)) as sock:
            sock.sendall(b"\x00\x01\x02 this is not TLS \xff\xfe" * 8)
            try:
                self.assertEqual(sock.recv(100), b"")
            except ConnectionResetError:
                pass  # closed with our bytes unread: also a refusal
        self.assert_handshake_error("client did not speak TLS", start)
        self.assert_serves_good_client()

    def test_connect_and_close_is_logged(self):
        start = self.server.mark()
        socket.create_connection(("127.0.0.1", self.server.port)).close()
        self.assert_handshake_error("client closed the connection during the handshake", start)
        self.assert_serves_good_client()

    def test_stalled_clients_do_not_delay_anyone_else(self):
        # Twenty connections that never send a byte, and five that stop half way
        # through their ClientHello. A server that handshakes inside accept()
        # would serve nobody until they time out.
        hello = client_hello()
        stalled = []
        try:
            for i in range(25):
                sock = socket.create_connection(("127.0.0.1", self.server.port))
                if i >= 20:
                    sock.sendall(hello[: len(hello) // 2])
                stalled.append(sock)
            self.assert_serves_good_client()
            self.assertEqual(curl("--cacert", "cert.pem", "--cert", "cert.pem", "--key", "key.pem",
                                  self.server.url, cwd=self.certs), (0, "Hello, world!\n", ""))
            # They were served while every stalled connection was still open.
            for sock in stalled:
                sock.setblocking(False)
                with self.assertRaises(BlockingIOError):
                    sock.recv(1)
        finally:
            for sock in stalled:
                sock.close()


def client_hello():
    """The first flight of a real TLS client: its ClientHello bytes."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with unittest.TestCase().assertRaises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


class TimeoutTest(unittest.TestCase):
    """Connections that stall are closed by the server, and it says so."""

    def test_stalled_handshake_and_idle_keep_alive_are_closed(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            certs = gen_certs(top)
            with Server(certs) as server:
                stalled = socket.create_connection(("127.0.0.1", server.port))
                context = ssl.create_default_context(cafile=str(certs / "cert.pem"))
                context.load_cert_chain(str(certs / "cert.pem"), str(certs / "key.pem"))
                idle = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=120)
                idle.request("GET", "/hello")
                self.assertEqual(idle.getresponse().read(), b"Hello, world!\n")
                stalled.settimeout(120)
                self.assertEqual(stalled.recv(1), b"")  # closed by the server after HANDSHAKE_TIMEOUT
                server.wait_for_log(HANDSHAKE_LOG % "no handshake within 10 seconds")
                idle.sock.settimeout(120)
                self.assertEqual(idle.sock.recv(1), b"")  # closed after IDLE_TIMEOUT
                stalled.close()
                idle.close()
                self.assertEqual(client(server.url, cwd=certs), (0, "Hello, world!\n", ""))


if __name__ == "__main__":
    unittest.main()
