"""Beyond the tutorial: a CA that signs a server certificate and named client
certificates (gen_certs.sh --ca, --client NAME), and an allow list of client
names (server.py --allow). Same programs, no code change."""

import tempfile
import unittest
from pathlib import Path

from support import CLIENT_EXTENSIONS, Server, client, curl, gen_certs, openssl_sign, s_client

REQUEST_LOG = r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d 127\.0\.0\.1:\d+ "GET /hello HTTP/1\.1" %d client="%s"$'
HANDSHAKE_LOG = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d TLS handshake error from 127\.0\.0\.1:\d+: %s$"
NAMED = "CN=%s,OU=Your Unit,O=Your Organization,L=Mountain View,ST=California,C=US"
SERVER = ("--ca", "ca.pem", "--cert", "server.pem", "--key", "server-key.pem")


class CertificateAuthorityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        top = Path(cls.folder.name)
        cls.pki = gen_certs(top / "pki", "--ca")
        gen_certs(cls.pki, "--client", "bob")
        cls.other = gen_certs(top / "other", "--ca")
        cls.expired = openssl_sign(top, "expired", cls.pki / "ca.pem", cls.pki / "ca-key.pem", CLIENT_EXTENSIONS,
                                   start="20200101000000Z", end="20200201000000Z")
        cls.server = Server(cls.pki, *SERVER).__enter__()

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        cls.folder.cleanup()
        assert status == 0, status

    def client(self, name, *extra):
        return client(self.server.url, "--ca", "ca.pem", "--cert", f"{name}.pem", "--key", f"{name}-key.pem",
                      *extra, cwd=self.pki)

    def assert_serves(self, name="client"):
        start = self.server.mark()
        self.assertEqual(self.client(name), (0, "Hello, world!\n", ""))
        self.server.wait_for_log(REQUEST_LOG % (200, NAMED % name), start)

    def test_client_py_with_the_ca_signed_certificates(self):
        self.assert_serves("client")
        self.assert_serves("bob")

    def test_curl_with_pem_files(self):
        self.assertEqual(curl("--cacert", "ca.pem", "--cert", "client.pem", "--key", "client-key.pem",
                              self.server.url, cwd=self.pki), (0, "Hello, world!\n", ""))

    def test_curl_with_the_pkcs12_bundle(self):
        start = self.server.mark()
        self.assertEqual(curl("--cacert", "ca.pem", "--cert-type", "P12", "--cert", "bob.p12:mtls",
                              self.server.url, cwd=self.pki), (0, "Hello, world!\n", ""))
        self.server.wait_for_log(REQUEST_LOG % (200, NAMED % "bob"), start)

    def test_openssl_s_client(self):
        status, out, err = s_client(self.server.port, "-CAfile", "ca.pem", "-cert", "client.pem",
                                    "-key", "client-key.pem", "-verify_return_error", "-verify_hostname", "localhost",
                                    cwd=self.pki)
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith("HTTP/1.1 200 OK\n"), out)
        self.assertTrue(out.endswith("\n\nHello, world!\n"), out)

    def test_client_refuses_a_server_from_another_ca(self):
        start = self.server.mark()
        result = client(self.server.url, "--ca", self.other / "ca.pem", "--cert", "client.pem",
                        "--key", "client-key.pem", cwd=self.pki)
        # OpenSSL completes the server's chain from its trust store, so the server sends its CA
        # along: a self-signed certificate that this client does not trust.
        self.assertEqual(result, (1, "", "client.py: the server's certificate is not trusted "
                                         "(self-signed certificate in certificate chain); pass the CA that "
                                         "signed it with --ca\n"))
        self.server.wait_for_log(HANDSHAKE_LOG % "tlsv1 alert unknown ca", start)
        self.assert_serves()

    def test_server_refuses_a_client_from_another_ca(self):
        start = self.server.mark()
        result = client(self.server.url, "--ca", "ca.pem", "--cert", self.other / "client.pem",
                        "--key", self.other / "client-key.pem", cwd=self.pki)
        self.assertEqual(result, (1, "", "client.py: the server refused our client certificate (unknown ca); "
                                         "pass one signed by the server's CA with --cert and --key\n"))
        self.server.wait_for_log(
            HANDSHAKE_LOG % "client certificate rejected: unable to get local issuer certificate", start)
        self.assert_serves()

    def test_server_refuses_its_own_certificate_as_a_client_certificate(self):
        # Signed by the right CA, but its extended key usage says serverAuth only.
        start = self.server.mark()
        self.assertEqual(self.client("server"),
                         (1, "", "client.py: the server refused our client certificate (unsupported certificate); "
                                 "pass one signed by the server's CA with --cert and --key\n"))
        self.server.wait_for_log(HANDSHAKE_LOG % "client certificate rejected: unsuitable certificate purpose",
                                 start)
        self.assert_serves()

    def test_server_refuses_an_expired_client_certificate(self):
        start = self.server.mark()
        result = client(self.server.url, "--ca", "ca.pem", "--cert", self.expired[0], "--key", self.expired[1],
                        cwd=self.pki)
        self.assertEqual(result, (1, "", "client.py: the server refused our client certificate "
                                         "(certificate expired); pass one signed by the server's CA with "
                                         "--cert and --key\n"))
        self.server.wait_for_log(HANDSHAKE_LOG % "client certificate rejected: certificate has expired", start)
        self.assert_serves()

    def test_a_client_certificate_cannot_serve(self):
        # client.pem has no serverAuth usage: a client that trusts the CA refuses it as a server.
        with Server(self.pki, "--ca", "ca.pem", "--cert", "client.pem", "--key", "client-key.pem") as wrong:
            self.assertEqual(client(wrong.url, "--ca", "ca.pem", "--cert", "bob.pem", "--key", "bob-key.pem",
                                    cwd=self.pki),
                             (1, "", "client.py: the server's certificate is not trusted "
                                     "(unsuitable certificate purpose); pass the CA that signed it with --ca\n"))


class AllowListTest(unittest.TestCase):
    def test_only_listed_names_get_in(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = gen_certs(Path(top), "--ca")
            gen_certs(pki, "--client", "bob")
            gen_certs(pki, "--client", "carol")
            with Server(pki, *SERVER, "--allow", "client", "--allow", "carol") as server:
                def fetch(name):
                    return client(server.url, "--ca", "ca.pem", "--cert", f"{name}.pem", "--key", f"{name}-key.pem",
                                  cwd=pki)
                start = server.mark()
                self.assertEqual(fetch("bob"), (1, "", "client.py: the server answered 403 Forbidden "
                                                       "(403 forbidden: client 'bob' is not allowed)\n"))
                server.wait_for_log(REQUEST_LOG % (403, NAMED % "bob"), start)
                status, out, err = curl("--include", "--cacert", "ca.pem", "--cert", "bob.pem", "--key", "bob-key.pem",
                                        server.url, cwd=pki)
                self.assertEqual(status, 0, err)
                self.assertTrue(out.startswith("HTTP/1.1 403 Forbidden\n"), out)
                self.assertTrue(out.endswith("\n\n403 forbidden: client 'bob' is not allowed\n"), out)
                for name in ("client", "carol"):
                    start = server.mark()
                    self.assertEqual(fetch(name), (0, "Hello, world!\n", ""))
                    server.wait_for_log(REQUEST_LOG % (200, NAMED % name), start)

    def test_without_allow_every_client_of_the_ca_gets_in(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = gen_certs(Path(top), "--ca")
            gen_certs(pki, "--client", "dave")
            with Server(pki, *SERVER) as server:
                for name in ("client", "dave"):
                    self.assertEqual(client(server.url, "--ca", "ca.pem", "--cert", f"{name}.pem",
                                            "--key", f"{name}-key.pem", cwd=pki), (0, "Hello, world!\n", ""))


class PythonStrictDefaultsTest(unittest.TestCase):
    """The CA chain passes the flags that Python 3.13 sets by default (VERIFY_X509_STRICT, and
    VERIFY_X509_PARTIAL_CHAIN where this Python has it), checked here in-process as well."""

    def test_chain_verifies_with_strict_flags(self):
        import socket
        import ssl
        import threading
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = gen_certs(Path(top), "--ca")
            server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_context.load_cert_chain(pki / "server.pem", pki / "server-key.pem")
            server_context.load_verify_locations(pki / "ca.pem")
            server_context.verify_mode = ssl.CERT_REQUIRED
            strict = ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)  # 3.10 and newer
            server_context.verify_flags |= strict
            client_context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
            client_context.verify_flags |= strict
            client_context.load_cert_chain(pki / "client.pem", pki / "client-key.pem")
            with socket.create_server(("127.0.0.1", 0)) as listener:
                seen = {}

                def accept():
                    sock, _ = listener.accept()
                    with server_context.wrap_socket(sock, server_side=True) as tls:
                        seen["client"] = tls.getpeercert()["subject"][-1]
                        tls.sendall(b"ok")

                thread = threading.Thread(target=accept)
                thread.start()
                with socket.create_connection(listener.getsockname()) as sock:
                    with client_context.wrap_socket(sock, server_hostname="localhost") as tls:
                        self.assertEqual(tls.recv(2), b"ok")
                thread.join(60)
            self.assertEqual(seen["client"], (("commonName", "client"),))


if __name__ == "__main__":
    unittest.main()
