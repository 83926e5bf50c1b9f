"""server.py behind a proxy: the real nginx, with the repository's nginx/mtls-proxy.conf, ends the
clients' mutual TLS and calls two server.py processes over mutual TLS of its own, with the client's
subject in X-Client-Subject, which server.py --trusted-proxy believes from nginx's certificate alone.
Then the same header from anyone else, malformed, doubled or missing, and the parser on its own."""

import re
import socket
import ssl
import sys
import tempfile
import time
import unittest
from pathlib import Path

from support import (CLIENT_EXTENSIONS, HANG_LIMIT, ROOT, Nginx, Server, client, curl, free_port, gen_certs,
                     nginx_path, openssl_sign, run)
from test_hardening import import_server

TIME = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"
NAMED = "CN=%s,OU=Your Unit,O=Your Organization,L=Mountain View,ST=California,C=US"
NGINX_SUBJECT = NAMED % "nginx"
# A request that nginx forwarded: the client server.py took from the header, and nginx.
PROXIED = rf'^{TIME} (127\.0\.0\.1:\d+) "GET /hello HTTP/1\.1" (\d\d\d) client="(.*)" via="{NGINX_SUBJECT}"$'
DIRECT = rf'^{TIME} (127\.0\.0\.1:\d+) "GET /hello HTTP/1\.1" (\d\d\d) client="([^"]*)"$'
REQUEST = r'"GET /hello HTTP/1\.1" \d\d\d client="'  # any request line
IGNORED = rf"^{TIME} 127\.0\.0\.1:\d+ ignored X-Client-Subject from a client that is not the trusted proxy$"
SERVER = ("--trusted-proxy", "nginx", "--ca", "ca.pem", "--cert", "server.pem", "--key", "server-key.pem",
          "--allow", "client")


def setUpModule():
    global FOLDER, TOP, PKI, OTHER
    FOLDER = tempfile.TemporaryDirectory(prefix="mtls-test-")
    TOP = Path(FOLDER.name)
    PKI = gen_certs(TOP / "pki", "--ca")
    gen_certs(PKI, "--client", "nginx")
    gen_certs(PKI, "--client", "bob")
    OTHER = gen_certs(TOP / "other", "--ca")


def tearDownModule():
    FOLDER.cleanup()


def pem(name, folder="pki"):
    """curl's and client.py's options for the client certificate NAME.pem in folder, as typed in TOP."""
    return ["--cert", f"{folder}/{name}.pem", "--key", f"{folder}/{name}-key.pem"]


def wait_for_requests(servers, marks, count):
    """Wait until the servers, together, have logged count request lines since marks; return
    [(server, match of PROXIED)] for each, in the order of servers. A request line that is
    not PROXIED fails the test."""
    for _ in range(HANG_LIMIT * 20):
        lines = [(server, line) for server, start in zip(servers, marks) for line in server.log[start:]
                 if re.search(REQUEST, line)]
        if len(lines) >= count:
            for server, line in lines:
                if not re.match(PROXIED, line):
                    raise AssertionError(f"not a request nginx forwarded: {line}")
            return [(server, re.match(PROXIED, line)) for server, line in lines]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} request lines; the logs: {[s.log for s in servers]}")


@unittest.skipUnless(nginx_path(), "nginx is not installed")
class BehindNginxTest(unittest.TestCase):
    """Two server.py processes with --trusted-proxy nginx --allow client, and nginx in front."""

    @classmethod
    def setUpClass(cls):
        cls.servers = [Server(PKI, *SERVER).__enter__() for _ in range(2)]
        try:
            cls.nginx = Nginx(TOP, {9443: free_port(), 8443: cls.servers[0].port,
                                    8444: cls.servers[1].port}).__enter__()
        except BaseException:
            for server in cls.servers:
                server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        nginx_status = cls.nginx.stop()
        statuses = [server.stop() for server in cls.servers]
        assert (nginx_status, statuses) == (0, [0, 0]), (nginx_status, statuses, cls.nginx.log)
        assert not [line for s in cls.servers for line in s.log if "Traceback" in line]

    def marks(self):
        return [server.mark() for server in self.servers]

    def assert_no_request_reached_server_py(self, marks):
        """server.py logged nothing since marks but the request of a good client, sent now."""
        self.assertEqual(client(self.nginx.url, "--ca", "pki/ca.pem", *pem("client"), cwd=TOP),
                         (0, "Hello, world!\n", ""))
        wait_for_requests(self.servers, marks, 1)
        self.assertEqual(sum(len(server.log) - start for server, start in zip(self.servers, marks)), 1,
                         [server.log[start:] for server, start in zip(self.servers, marks)])

    def test_client_py_through_nginx_is_logged_as_itself_via_nginx(self):
        marks = self.marks()
        self.assertEqual(client(self.nginx.url, "--ca", "pki/ca.pem", *pem("client"), cwd=TOP),
                         (0, "Hello, world!\n", ""))
        [(server, match)] = wait_for_requests(self.servers, marks, 1)
        self.assertEqual(match.group(0)[20:], f'{match.group(1)} "GET /hello HTTP/1.1" 200 '
                                              f'client="{NAMED % "client"}" via="{NGINX_SUBJECT}"')
        self.assertEqual(len(server.log), marks[self.servers.index(server)] + 1, server.log)  # no other line

    def test_curl_through_nginx_is_logged_as_itself_via_nginx(self):
        marks = self.marks()
        self.assertEqual(curl("--cacert", "pki/ca.pem", *pem("client"), self.nginx.url, cwd=TOP),
                         (0, "Hello, world!\n", ""))
        [(server, match)] = wait_for_requests(self.servers, marks, 1)
        self.assertEqual(match.group(2, 3), ("200", NAMED % "client"))

    def test_requests_reach_both_processes_over_kept_alive_connections(self):
        marks = self.marks()
        requests = 8
        # One curl, one connection to nginx, eight requests in turn; nginx takes turns between the two.
        status, out, err = curl("--cacert", "pki/ca.pem", *pem("client"), *[self.nginx.url] * requests,
                                cwd=TOP)
        self.assertEqual((status, out, err), (0, "Hello, world!\n" * requests, ""))
        found = wait_for_requests(self.servers, marks, requests)
        self.assertEqual([m.group(2, 3) for _, m in found], [("200", NAMED % "client")] * requests)
        for server in self.servers:
            self.assertTrue([m for s, m in found if s is server], f"no request reached {server.url}")
        # Eight requests came over at most one connection to each process: seven handshakes saved.
        addresses = {(id(server), m.group(1)) for server, m in found}
        self.assertLessEqual(len(addresses), 2, found)

    def test_a_forged_header_through_nginx_is_replaced(self):
        marks = self.marks()
        # nginx sets X-Client-Subject itself, over the client's, and drops X_Client_Subject (an underscore).
        forged = ["-H", "X-Client-Subject: CN=admin", "-H", "x-client-subject: CN=admin",
                  "-H", "X_Client_Subject: CN=admin"]
        self.assertEqual(curl("--cacert", "pki/ca.pem", *pem("client"), *forged, self.nginx.url, cwd=TOP),
                         (0, "Hello, world!\n", ""))
        [(server, match)] = wait_for_requests(self.servers, marks, 1)
        self.assertEqual(match.group(2, 3), ("200", NAMED % "client"))
        self.assertEqual(len(server.log), marks[self.servers.index(server)] + 1, server.log)  # no other line

    def test_a_forged_header_sent_directly_is_ignored_and_logged(self):
        server = self.servers[0]
        start = server.mark()
        # Twice on one connection: each request is judged, and logged, on its own.
        status, out, err = curl("--cacert", "pki/ca.pem", *pem("client"), "-H", "X-Client-Subject: CN=admin",
                                server.url, server.url, cwd=TOP)
        self.assertEqual((status, out, err), (0, "Hello, world!\n" * 2, ""))
        server.wait_for_lines(DIRECT, 2, start)
        lines = server.log[start:]
        self.assertEqual(len(lines), 4, lines)
        for ignored, request in (lines[0:2], lines[2:4]):
            self.assertRegex(ignored, IGNORED)
            self.assertEqual(re.match(DIRECT, request).group(2, 3), ("200", NAMED % "client"))

    def test_nginx_refuses_a_client_without_a_certificate(self):
        marks = self.marks()
        status, out, err = curl("--include", "--cacert", "pki/ca.pem", self.nginx.url, cwd=TOP)
        self.assertEqual((status, err), (0, ""))
        self.assertTrue(out.startswith("HTTP/1.1 400 Bad Request\n"), out)
        self.assertIn("<title>400 No required SSL certificate was sent</title>", out)
        self.assert_no_request_reached_server_py(marks)

    def test_nginx_refuses_a_client_from_another_ca(self):
        marks = self.marks()
        status, out, err = curl("--include", "--cacert", "pki/ca.pem", *pem("client", OTHER), self.nginx.url,
                                cwd=TOP)
        self.assertEqual((status, err), (0, ""))
        self.assertTrue(out.startswith("HTTP/1.1 400 Bad Request\n"), out)
        self.assertIn("<title>400 The SSL certificate error</title>", out)
        self.assert_no_request_reached_server_py(marks)

    def test_allow_judges_the_client_behind_nginx_not_nginx(self):
        marks = self.marks()
        self.assertEqual(client(self.nginx.url, "--ca", "pki/ca.pem", *pem("bob"), cwd=TOP),
                         (1, "", "client.py: the server answered 403 Forbidden "
                                 "(403 forbidden: client 'bob' is not allowed)\n"))
        [(server, match)] = wait_for_requests(self.servers, marks, 1)
        self.assertEqual(match.group(2, 3), ("403", NAMED % "bob"))
        self.assertRegex(server.log[-2], rf"^{TIME} 127\.0\.0\.1:\d+ forbidden: client 'bob' is not allowed$")
        marks = self.marks()
        self.assertEqual(client(self.nginx.url, "--ca", "pki/ca.pem", *pem("client"), cwd=TOP),
                         (0, "Hello, world!\n", ""))
        [(server, match)] = wait_for_requests(self.servers, marks, 1)
        self.assertEqual(match.group(2, 3), ("200", NAMED % "client"))

    def test_nginx_itself_is_not_a_client(self):
        # nginx's certificate is for calling server.py: nginx, called with it, asks for a name, and
        # server.py, without --allow nginx, refuses the name it is given.
        marks = self.marks()
        self.assertEqual(client(self.nginx.url, "--ca", "pki/ca.pem", *pem("nginx"), cwd=TOP),
                         (1, "", "client.py: the server answered 403 Forbidden "
                                 "(403 forbidden: client 'nginx' is not allowed)\n"))
        [(server, match)] = wait_for_requests(self.servers, marks, 1)
        self.assertEqual(match.group(2, 3), ("403", NGINX_SUBJECT))


def tls_to(server, name):
    """A TLS connection to server with pki/NAME.pem as the client certificate."""
    context = ssl.create_default_context(cafile=str(PKI / "ca.pem"))
    context.load_cert_chain(str(PKI / f"{name}.pem"), str(PKI / f"{name}-key.pem"))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HANG_LIMIT)
    return context.wrap_socket(sock, server_hostname="localhost")


def exchange(server, name, *requests):
    """Send the requests on one connection as NAME (the last one closes it); return what came back."""
    with tls_to(server, name) as tls:
        tls.sendall(b"".join(requests))
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                return data
            data += chunk


def get(*headers, close=False):
    lines = ["GET /hello HTTP/1.1", "Host: localhost", *headers, *(["Connection: close"] if close else [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def responses(answer):
    """(status, body) of each response in answer."""
    return re.findall(rb"HTTP/1\.1 (\d\d\d) .*?\r\n\r\n([^\r\n]*\n)", answer, re.S)


class TrustedProxyTest(unittest.TestCase):
    """server.py --trusted-proxy, called directly with nginx's certificate, as nginx calls it."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(PKI, *SERVER).__enter__()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def test_each_request_on_a_connection_has_its_own_client(self):
        start = self.server.mark()
        answer = exchange(self.server, "nginx", get(f"X-Client-Subject: {NAMED % 'bob'}"),
                          get(f"X-Client-Subject: {NAMED % 'client'}"), get(), get(close=True))
        self.assertEqual(responses(answer), [
            (b"403", b"403 forbidden: client 'bob' is not allowed\n"),  # and the connection stays open
            (b"200", b"Hello, world!\n"),
            (b"400", b"400 bad request: X-Client-Subject is missing\n"),
            (b"400", b"400 bad request: X-Client-Subject is missing\n")])
        self.server.wait_for_lines(r'"GET /hello HTTP/1\.1" \d+ client=', 4, start)
        lines = [line[20:] for line in self.server.log[start:]]
        address = lines[0].split()[0]
        self.assertEqual(lines, [
            f"{address} forbidden: client 'bob' is not allowed",
            f'{address} "GET /hello HTTP/1.1" 403 client="{NAMED % "bob"}" via="{NGINX_SUBJECT}"',
            f'{address} "GET /hello HTTP/1.1" 200 client="{NAMED % "client"}" via="{NGINX_SUBJECT}"',
            # Without the header the request is nginx's own, refused: never the last client's.
            f"{address} bad request from the trusted proxy: X-Client-Subject is missing",
            f'{address} "GET /hello HTTP/1.1" 400 client="{NGINX_SUBJECT}"',
            f"{address} bad request from the trusted proxy: X-Client-Subject is missing",
            f'{address} "GET /hello HTTP/1.1" 400 client="{NGINX_SUBJECT}"'])

    def test_a_header_sent_twice_or_malformed_is_refused_with_400(self):
        cases = [
            ([f"X-Client-Subject: {NAMED % 'client'}", f"X-Client-Subject: {NAMED % 'client'}"],
             "X-Client-Subject was sent 2 times"),
            (["X-Client-Subject: CN=client,"],
             'X-Client-Subject "CN=client," is not an RFC 4514 name (from character 11 on)'),
            (["X-Client-Subject: CN=client;O=x"],
             'X-Client-Subject "CN=client;O=x" is not an RFC 4514 name (from character 1 on)'),
            (["X-Client-Subject: CN=\\FF"],
             'X-Client-Subject "CN=\\\\FF" is not an RFC 4514 name (a value is not UTF-8)'),
            (['X-Client-Subject: CN=a",CN=client'],
             'X-Client-Subject "CN=a\\",CN=client" is not an RFC 4514 name (from character 1 on)'),
        ]
        for headers, problem in cases:
            with self.subTest(problem):
                start = self.server.mark()
                answer = exchange(self.server, "nginx", get(*headers, close=True))
                self.assertEqual(responses(answer), [(b"400", f"400 bad request: {problem}\n".encode())])
                self.server.wait_for_log(r'"GET /hello HTTP/1\.1" 400 client=', start)
                self.assertRegex(self.server.log[start], rf"^{TIME} 127\.0\.0\.1:\d+ bad request from the "
                                                         rf"trusted proxy: {re.escape(problem)}$")
                self.assertTrue(self.server.log[start + 1].endswith(f' 400 client="{NGINX_SUBJECT}"'))

    def test_a_second_common_name_makes_no_proxy(self):
        # One of its names is "nginx", but a certificate with two is not nginx's: the header is ignored,
        # and --allow refuses the certificate itself.
        cert, key = openssl_sign(TOP, "two-names", PKI / "ca.pem", PKI / "ca-key.pem", CLIENT_EXTENSIONS,
                                 subject="/CN=nginx+CN=client")
        start = self.server.mark()
        status, out, err = curl("--cacert", "pki/ca.pem", "--cert", cert, "--key", key,
                                "-H", f"X-Client-Subject: {NAMED % 'client'}", self.server.url, cwd=TOP)
        self.assertEqual((status, out, err), (0, "403 forbidden: client certificate has 2 Common Names\n", ""))
        self.server.wait_for_log(r'"GET /hello HTTP/1\.1" 403 client="CN=nginx\+CN=client"$', start)
        self.assertRegex(self.server.log[start], IGNORED)

    def test_without_trusted_proxy_the_header_is_ignored_and_logged(self):
        with Server(PKI, "--ca", "ca.pem", "--cert", "server.pem", "--key", "server-key.pem") as server:
            status, out, err = curl("--cacert", "pki/ca.pem", *pem("nginx"),
                                    "-H", f"X-Client-Subject: {NAMED % 'bob'}", server.url, cwd=TOP)
            self.assertEqual((status, out, err), (0, "Hello, world!\n", ""))
            server.wait_for_log(rf'"GET /hello HTTP/1\.1" 200 client="{NGINX_SUBJECT}"$')
            self.assertRegex(server.log[0], rf"^{TIME} 127\.0\.0\.1:\d+ ignored X-Client-Subject from a client "
                                            r"that is not the trusted proxy \(there is no --trusted-proxy\)$")

    def test_an_empty_trusted_proxy_is_refused_at_start(self):
        status, out, err = run([sys.executable, ROOT / "server.py", "--port", "0", "--trusted-proxy", ""], cwd=PKI)
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err.splitlines()[-1], "server.py: error: argument --trusted-proxy: an empty name would "
                                               "admit certificates that have no name; pass a client's Common Name")


class DistinguishedNameTest(unittest.TestCase):
    """parse_distinguished_name on its own: RFC 4514, as nginx's $ssl_client_s_dn writes it."""

    @classmethod
    def setUpClass(cls):
        cls.server = import_server()

    def parse(self, text):
        return self.server.parse_distinguished_name(text)

    def test_what_nginx_writes(self):
        # Each as nginx 1.22 wrote it for a real certificate: most specific part first, a multi-valued
        # part reversed too, and every byte of a non-ASCII character as \XX.
        cases = [
            (NAMED % "client", ((("countryName", "US"),), (("stateOrProvinceName", "California"),),
                                (("localityName", "Mountain View"),), (("organizationName", "Your Organization"),),
                                (("organizationalUnitName", "Your Unit"),), (("commonName", "client"),))),
            (r"O=Evil\,CN=client", ((("organizationName", "Evil,CN=client"),),)),
            ("CN=client+CN=bob", ((("commonName", "bob"), ("commonName", "client")),)),
            (r'CN=admin\"\, O=\"x,O=Corp', ((("organizationName", "Corp"),), (("commonName", 'admin", O="x'),))),
            (r"CN=a\E2\80\A8b\E2\80\AEc\1Bd", ((("commonName", "a\u2028b\u202ec\x1bd"),),)),
            (r"OU=\ trail\ ,CN=\#lead", ((("commonName", "#lead"),), (("organizationalUnitName", " trail "),))),
            (r"O=x=y\;z\<a\>b\\,CN=h\C3\A9llo \E2\98\83",
             ((("commonName", "héllo ☃"),), (("organizationName", "x=y;z<a>b\\"),))),
            # A type OpenSSL does not know: the hex of the value's DER encoding, here a UTF8String.
            ("CN=c,1.2.3.4=#0C03782079", ((("1.2.3.4", "x y"),), (("commonName", "c"),))),
            ("street=1 Main,UID=u1,DC=com,emailAddress=a@b,cn=lower",
             ((("commonName", "lower"),), (("emailAddress", "a@b"),), (("domainComponent", "com"),),
              (("userId", "u1"),), (("streetAddress", "1 Main"),))),
            ("CN=", ((("commonName", ""),),)),
            ("CN=h\xc3\xa9llo", ((("commonName", "héllo"),),)),  # RFC 4514 allows UTF-8 unescaped too
        ]
        for text, subject in cases:
            with self.subTest(text):
                self.assertEqual(self.parse(text), subject)

    def test_the_log_shows_a_subject_from_the_header_as_from_a_certificate(self):
        # describe_subject writes non-ASCII characters as they are; a header brings their UTF-8 bytes.
        cases = [((("commonName", 'x"y\\z<a>b;c=d'),),), ((("commonName", " #both ends "),),),
                 ((("commonName", "nul\0"),), (("organizationName", "\u2028☃ é"),)),
                 ((("domainComponent", "com"),), (("userId", "u1"),), (("streetAddress", "1 Main St"),),
                  (("emailAddress", "a@b"),), (("1.2.3.4", "x"),))]
        for subject in cases:
            with self.subTest(subject):
                header = self.server.describe_subject(subject).encode().decode("latin-1")
                self.assertEqual(self.parse(header), subject)

    def test_two_common_names_are_two(self):
        for text in ("CN=a,CN=b", "CN=a+CN=b", "CN=a,O=x+CN=b"):
            with self.subTest(text):
                self.assertEqual(self.server.refusal(self.parse(text), {"a", "b"}),
                                 "client certificate has 2 Common Names")

    def test_anything_else_is_refused(self):
        cases = ["", "CN", "=a", "CN =a", "CN= a", "CN=a ", "CN=a, O=b", "CN=a,", ",CN=a", "CN=a,,O=b", "CN=a+",
                 "CN=a;O=b", 'CN=a"b', "CN=a<b", "CN=a>b", "CN=#a", "CN=#0C", "CN=#0C0278", "CN=#0C0178,",
                 "CN=#0402abcd", "CN=#xy", "CN=a\\", "CN=\\q", "CN=\\F", "CN=\\FF", "CN=\\C3", "CN=é",
                 "CN=a\nb", "CN=a\x00", "CN=a\x7f", "1CN=a", "1.=a", "C N=a", "CN=a\n"]
        for text in cases:
            with self.subTest(text):
                with self.assertRaisesRegex(ValueError, r"^not an RFC 4514 name \("):
                    self.parse(text)

    def test_a_long_malformed_value_is_refused_at_once(self):
        start = time.monotonic()
        with self.assertRaises(ValueError):
            self.parse("CN=" + "a\\20" * 20000 + ";")
        self.assertLess(time.monotonic() - start, 1)


if __name__ == "__main__":
    unittest.main()
