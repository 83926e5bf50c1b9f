"""Each step of the tutorial does what the README says it does, run from the
folder that holds the certificates, with no file edited; and each fails the
way the README says it fails."""

import filecmp
import signal
import socket
import tempfile
import unittest
from pathlib import Path

from support import (CLIENT_EXTENSIONS, ROOT, STEPS, Server, check, client, curl, gen_certs, openssl_sign,
                     run)

STEP1, STEP2, STEP3, STEP4 = (STEPS / "1-http", STEPS / "2-https", STEPS / "3-trust-the-server",
                              STEPS / "4-mutual-tls")
HELLO = (0, "Hello, world!\n", "")
# http.server's own request log, and the steps' handshake log line.
REQUEST_LOG = r'^127\.0\.0\.1 - - \[[^]]+\] "GET /hello HTTP/1\.1" 200 -$'
HANDSHAKE_LOG = r"^TLS handshake error from 127\.0\.0\.1:\d+: %s \(_ssl\.c:\d+\)$"
ORIGINAL_SUBJECT = "/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=localhost"


class StepServer(Server):
    """A step's server.py, stopped with Ctrl-C as a reader stops it, which must end it quietly."""

    def __init__(self, cwd, step, *args):
        super().__init__(cwd, *args, script=step / "server.py", host=None)

    def __exit__(self, *exc):
        status = self.stop(signal.SIGINT)
        assert status == 0, f"Ctrl-C ended the server with {status}: {self.log}"
        assert not any("Traceback" in line for line in self.log), self.log


def step_client(step, port, cwd):
    return client("--port", port, cwd=cwd, script=step / "client.py")


class StepTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        top = Path(cls.folder.name)
        cls.certs = gen_certs(top / "tutorial")
        cls.other = gen_certs(top / "other")
        cls.expired = openssl_sign(top, "expired", cls.certs / "cert.pem", cls.certs / "key.pem",
                                   CLIENT_EXTENSIONS, start="20200101000000Z", end="20200201000000Z")
        cls.empty = top / "empty"
        cls.empty.mkdir()

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def test_step_1_plain_http(self):
        with StepServer(self.empty, STEP1) as server:
            self.assertEqual(server.url, f"http://localhost:{server.port}/hello")
            self.assertEqual(step_client(STEP1, server.port, self.empty), HELLO)
            server.wait_for_log(REQUEST_LOG)
            self.assertEqual(curl(server.base + "/other", cwd=self.empty), (0, "404 page not found\n", ""))

    def test_step_1_client_without_a_server_says_so_in_one_line(self):
        port = socket.create_server(("localhost", 0))
        with port:
            number = port.getsockname()[1]
        self.assertEqual(step_client(STEP1, number, self.empty),
                         (1, "", "client.py: [Errno 111] Connection refused\n"))

    def test_step_2_client_does_not_trust_the_certificate(self):
        with StepServer(self.certs, STEP2) as server:
            self.assertEqual(server.url, f"https://localhost:{server.port}/hello")
            status, out, err = step_client(STEP2, server.port, self.certs)
            self.assertEqual((status, out), (1, ""))
            self.assertRegex(err, r"^client\.py: \[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: "
                                  r"self.signed certificate \(_ssl\.c:\d+\)\n$")
            server.wait_for_log(HANDSHAKE_LOG % r"\[SSL: TLSV1_ALERT_UNKNOWN_CA\] tlsv1 alert unknown ca")
            # Any client that trusts cert.pem gets in: the server does not ask who it is yet.
            self.assertEqual(curl("--cacert", "cert.pem", server.url, cwd=self.certs), HELLO)
            self.assertEqual(curl("--cacert", "cert.pem", server.url, cwd=self.certs), HELLO)

    def test_step_2_one_silent_client_does_not_stop_the_others(self):
        # The naive port does the handshake in accept(): this connection would block every other client.
        with StepServer(self.certs, STEP2) as server, socket.create_connection(("localhost", server.port)):
            self.assertEqual(curl("--max-time", "5", "--cacert", "cert.pem", server.url, cwd=self.certs), HELLO)

    def test_step_2_a_stalled_handshake_is_dropped(self):
        with StepServer(self.certs, STEP2) as server, socket.create_connection(("localhost", server.port)) as sock:
            sock.settimeout(60)
            self.assertEqual(sock.recv(1), b"")  # the server gave up on us (after 10 seconds)
            server.wait_for_log(r"^TLS handshake error from 127\.0\.0\.1:\d+: _ssl\.c:\d+: "
                                r"The handshake operation timed out$")

    def test_step_2_plain_http_is_refused_and_logged(self):
        with StepServer(self.certs, STEP2) as server:
            status, out, err = step_client(STEP1, server.port, self.certs)
            self.assertEqual((status, out), (1, ""))
            server.wait_for_log(HANDSHAKE_LOG % r"\[SSL: HTTP_REQUEST\] http request")
            self.assertEqual(curl("--cacert", "cert.pem", server.url, cwd=self.certs), HELLO)

    def test_step_2_without_certificates_one_line(self):
        status, out, err = run([__import__("sys").executable, STEP2 / "server.py", "--port", "0"], cwd=self.empty)
        self.assertEqual((status, out), (1, ""))
        self.assertRegex(err, r"^server\.py: cannot load cert\.pem and key\.pem: \[Errno 2\] No such file or "
                              r"directory; make a pair with \./gen_certs\.sh --force\n$")

    def test_step_3_server_is_step_2_server(self):
        self.assertTrue(filecmp.cmp(STEP2 / "server.py", STEP3 / "server.py", shallow=False))

    def test_step_3_client_trusts_cert_pem_and_only_it(self):
        with StepServer(self.certs, STEP3) as server:
            self.assertEqual(step_client(STEP3, server.port, self.certs), HELLO)
            # Another folder's cert.pem is another CA: that client does not trust this server.
            status, out, err = step_client(STEP3, server.port, self.other)
            self.assertEqual((status, out), (1, ""))
            self.assertRegex(err, r"^client\.py: \[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: "
                                  r"self.signed certificate \(_ssl\.c:\d+\)\n$")
            server.wait_for_log(HANDSHAKE_LOG % r"\[SSL: TLSV1_ALERT_UNKNOWN_CA\] tlsv1 alert unknown ca")
            self.assertEqual(step_client(STEP3, server.port, self.certs), HELLO)

    def test_step_3_client_matches_the_host_name_against_subject_alt_name_only(self):
        # The Go guide's certificate names localhost only in its Common Name.
        original = Path(self.folder.name) / "original"
        original.mkdir()
        check(run(["openssl", "req", "-newkey", "rsa:2048", "-new", "-nodes", "-x509", "-days", "3650",
                   "-out", "cert.pem", "-keyout", "key.pem", "-subj", ORIGINAL_SUBJECT], cwd=original))
        with StepServer(original, STEP3) as server:
            status, out, err = step_client(STEP3, server.port, original)
            self.assertEqual((status, out), (1, ""))
            self.assertRegex(err, r"^client\.py: \[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: "
                                  r"Hostname mismatch, certificate is not valid for 'localhost'\. \(_ssl\.c:\d+\)\n$")

    def test_step_4_mutual_tls(self):
        with StepServer(self.certs, STEP4) as server:
            self.assertEqual(step_client(STEP4, server.port, self.certs), HELLO)
            server.wait_for_log(REQUEST_LOG)

    def test_step_4_refuses_a_client_without_a_certificate(self):
        with StepServer(self.certs, STEP4) as server:
            start = server.mark()
            status, out, err = step_client(STEP3, server.port, self.certs)
            self.assertEqual((status, out), (1, ""))
            # Under TLS 1.3 the client learns of the refusal on its first read: the server's alert, or,
            # when the server's close wins the race (step 4 does not linger), the end of the connection.
            self.assertRegex(err, r"^client\.py: (\[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED\] tlsv13 alert "
                                  r"certificate required \(_ssl\.c:\d+\)|\[Errno 104\] Connection reset by peer"
                                  r"|(\[SSL: UNEXPECTED_EOF_WHILE_READING\] )?EOF occurred in violation of protocol "
                                  r"\(_ssl\.c:\d+\))\n$")
            server.wait_for_log(HANDSHAKE_LOG % r"\[SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE\] "
                                                r"peer did not return a certificate", start)
            # curl too, and the server still serves a good client.
            self.assertNotEqual(curl("--cacert", "cert.pem", server.url, cwd=self.certs)[0], 0)
            self.assertEqual(step_client(STEP4, server.port, self.certs), HELLO)

    def test_step_4_refuses_a_certificate_from_another_ca_and_an_expired_one(self):
        certs = self.certs
        with StepServer(certs, STEP4) as server:
            other = ["--cacert", "cert.pem", "--cert", self.other / "cert.pem", "--key", self.other / "key.pem"]
            self.assertNotEqual(curl(*other, server.url, cwd=certs)[0], 0)
            server.wait_for_log(HANDSHAKE_LOG % r"\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: "
                                                r"self.signed certificate")
            expired = ["--cacert", "cert.pem", "--cert", self.expired[0], "--key", self.expired[1]]
            self.assertNotEqual(curl(*expired, server.url, cwd=certs)[0], 0)
            server.wait_for_log(HANDSHAKE_LOG % r"\[SSL: CERTIFICATE_VERIFY_FAILED\] certificate verify failed: "
                                                r"certificate has expired")
            self.assertEqual(curl("--cacert", "cert.pem", "--cert", "cert.pem", "--key", "key.pem", server.url,
                                  cwd=certs), HELLO)

    def test_step_4_client_is_refused_by_a_server_that_trusts_another_ca(self):
        # The finished server, told to trust only the other CA, refuses step 4's certificate.
        with Server(self.certs, "--ca", self.other / "cert.pem") as server:
            status, out, err = step_client(STEP4, server.port, self.certs)
            self.assertEqual((status, out), (1, ""))
            self.assertRegex(err, r"^client\.py: (\[SSL: TLSV1_ALERT_UNKNOWN_CA\] tlsv1 alert unknown ca "
                                  r"\(_ssl\.c:\d+\)|\[Errno 104\] Connection reset by peer)\n$")
            server.wait_for_log("client certificate rejected")


class StepSizeTest(unittest.TestCase):
    """The lesson stays small: the budgets of the tutorial's steps."""

    def test_step_programs_stay_within_their_budgets(self):
        for step, budget in ((STEP1, 40), (STEP4, 70)):
            for name in ("server.py", "client.py"):
                with self.subTest(f"{step.name}/{name}"):
                    self.assertLess(len((step / name).read_text().splitlines()), budget)

    def test_every_step_is_standard_library_only_and_names_its_step(self):
        for path in sorted(STEPS.glob("*/*.py")):
            with self.subTest(str(path.relative_to(ROOT))):
                text = path.read_text()
                self.assertIn(" of the mutual TLS tutorial: ", text.splitlines()[1])
                imports = {line.split()[1] for line in text.splitlines() if line.startswith("import ")}
                self.assertLessEqual(imports, {"argparse", "http.client", "http.server", "ssl", "sys"})


if __name__ == "__main__":
    unittest.main()
