"""Each step of the tutorial does what the README says it does, run from its
own folder under steps/ with no file edited."""

import filecmp
import tempfile
import unittest
from pathlib import Path

from support import (CLIENT_EXTENSIONS, SERVER_EXTENSIONS, STEPS, Server, check, client, curl, gen_certs,
                     openssl_sign, run)

STEP1, STEP2, STEP3 = STEPS / "1-http", STEPS / "2-https", STEPS / "3-trust-the-server"
LOG = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d "


class TempFolderTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        self.addCleanup(folder.cleanup)
        self.top = Path(folder.name)

    def certs(self, name="tutorial"):
        return gen_certs(self.top / name)


class StepTest(TempFolderTest):
    def test_step_1_plain_http(self):
        with Server(self.top, script=STEP1 / "server.py") as server:
            self.assertTrue(server.url.startswith("http://localhost:"))
            self.assertEqual(client(server.url, cwd=self.top, script=STEP1 / "client.py"), (0, "Hello, world!\n", ""))
            server.wait_for_log(LOG + r'127\.0\.0\.1:\d+ "GET /hello HTTP/1\.1" 200$')
            self.assertEqual(client(server.base + "/other", cwd=self.top, script=STEP1 / "client.py"),
                             (1, "", "client.py: the server answered 404 Not Found (404 page not found)\n"))

    def test_step_2_the_client_does_not_trust_the_new_certificate(self):
        certs = self.certs()
        with Server(certs, script=STEP2 / "server.py") as server:
            self.assertTrue(server.url.startswith("https://localhost:"))
            self.assertEqual(client(server.url, cwd=certs, script=STEP2 / "client.py"),
                             (1, "", "client.py: the server's certificate is not trusted (self-signed certificate); "
                                     "this client trusts only the system's CAs\n"))
            server.wait_for_log(LOG + r"TLS handshake error from 127\.0\.0\.1:\d+: tlsv1 alert unknown ca$")
            # Any client that trusts cert.pem gets in: the server does not ask who it is yet.
            self.assertEqual(curl("--cacert", "cert.pem", server.url, cwd=certs), (0, "Hello, world!\n", ""))

    def test_step_3_the_client_trusts_cert_pem(self):
        certs = self.certs()
        with Server(certs, script=STEP3 / "server.py") as server:
            self.assertEqual(client(server.url, cwd=certs, script=STEP3 / "client.py"), (0, "Hello, world!\n", ""))
            # ...and only cert.pem: another self-signed certificate is not trusted.
            other = self.certs("other")
            self.assertEqual(client(server.url, "--ca", other / "cert.pem", cwd=certs, script=STEP3 / "client.py"),
                             (1, "", "client.py: the server's certificate is not trusted (self-signed certificate); "
                                     "pass the CA that signed it with --ca\n"))

    def test_step_3_server_is_step_2_server(self):
        self.assertTrue(filecmp.cmp(STEP2 / "server.py", STEP3 / "server.py", shallow=False))

    def test_final_step_needs_the_client_certificate(self):
        certs = self.certs()
        with Server(certs) as server:
            self.assertEqual(client(server.url, cwd=certs), (0, "Hello, world!\n", ""))
            status, out, err = client(server.url, cwd=certs, script=STEP3 / "client.py")
            self.assertEqual((status, out), (1, ""))
            self.assertIn("tlsv13 alert certificate required", err)
            server.wait_for_log(LOG + r"TLS handshake error from 127\.0\.0\.1:\d+: client sent no certificate$")

    def test_the_originals_certificate_names_no_host_today(self):
        # The original's command: the host only in the Common Name, no subjectAltName.
        # Python, like Go since 1.15, matches host names against subjectAltName alone.
        check(run(["openssl", "req", "-newkey", "rsa:2048", "-new", "-nodes", "-x509", "-days", "3650",
                   "-out", "cert.pem", "-keyout", "key.pem", "-subj",
                   "/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=localhost"],
                  cwd=self.top))
        with Server(self.top) as server:
            self.assertEqual(client(server.url, cwd=self.top),
                             (1, "", "client.py: the server's certificate is not valid for localhost "
                                     "(Hostname mismatch, certificate is not valid for 'localhost'.); "
                                     "use a host name that the certificate lists\n"))


class StrictVerificationTest(TempFolderTest):
    """Both sides set VERIFY_X509_STRICT, as Python 3.13 does by default: a
    certificate that plain verification accepts but strict rules reject is
    refused in both directions."""

    def test_server_refuses_a_client_certificate_without_authority_key_identifier(self):
        certs = self.certs()
        # OpenSSL 3 adds the identifier unless told "none"; OpenSSL 1.1.1 adds it only when asked.
        no_identifier = "" if run(["openssl", "version"])[1].startswith("OpenSSL 1.") else "none"
        lax_extensions = CLIENT_EXTENSIONS.replace("keyid:always", no_identifier).rstrip(" =")
        cert, key = openssl_sign(self.top, "lax", certs / "cert.pem", certs / "key.pem", lax_extensions)
        # Without the strict flag, OpenSSL accepts the chain; with it, it does not.
        check(run(["openssl", "verify", "-CAfile", certs / "cert.pem", cert]))
        self.assertNotEqual(run(["openssl", "verify", "-x509_strict", "-CAfile", certs / "cert.pem", cert])[0], 0)
        with Server(certs) as server:
            status, out, err = client(server.url, "--cert", cert, "--key", key, cwd=certs)
            self.assertEqual((status, out), (1, ""))
            self.assertTrue(err.startswith("client.py: the server refused our client certificate"), err)
            server.wait_for_log(LOG + r"TLS handshake error from 127\.0\.0\.1:\d+: "
                                      r"client certificate rejected: Missing Authority Key Identifier$")
            self.assertEqual(client(server.url, cwd=certs), (0, "Hello, world!\n", ""))

    def test_client_refuses_a_server_certificate_from_a_ca_without_critical_basic_constraints(self):
        certs = self.certs()
        ca, ca_key = openssl_sign(self.top, "laxca", None, None,
                                  "basicConstraints = CA:TRUE\nkeyUsage = keyCertSign\nsubjectKeyIdentifier = hash")
        cert, key = openssl_sign(self.top, "server", ca, ca_key, SERVER_EXTENSIONS)
        check(run(["openssl", "verify", "-CAfile", ca, cert]))
        with Server(certs, "--cert", cert, "--key", key) as server:
            self.assertEqual(client(server.url, "--ca", ca, cwd=certs),
                             (1, "", "client.py: the server's certificate is not trusted "
                                     "(Basic Constraints of CA cert not marked critical); "
                                     "pass the CA that signed it with --ca\n"))


if __name__ == "__main__":
    unittest.main()
