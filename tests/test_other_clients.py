"""Other Python clients (clients/): the same mutual TLS request with requests,
httpx, urllib3 and aiohttp against the real server.py, each beside the
failures it must produce, and the trap each library sets, proven.

The snippets run with $OTHER_CLIENTS_PYTHON (`.ci/run` makes a throwaway
virtual environment with the four packages), else with this interpreter. A
library that interpreter cannot import is skipped, by name."""

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace

from support import CLEAN_ENV, HANG_LIMIT, ROOT, Server, check, gen_certs, run

PYTHON = os.environ.get("OTHER_CLIENTS_PYTHON") or sys.executable
CLIENTS = ROOT / "clients"
SUBJECT = "CN=localhost,OU=Your Unit,O=Your Organization,L=Mountain View,ST=California,C=US"
REQUEST_LOG = r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d 127\.0\.0\.1:\d+ "GET /hello HTTP/1\.1" 200 client="%s"$'
HANDSHAKE_LOG = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d TLS handshake error from 127\.0\.0\.1:\d+: %s$"
# No CA bundle from the environment reaches a snippet unless a test sets one (CLEAN_ENV keeps this one).
ENV = {k: v for k, v in CLEAN_ENV.items() if k != "REQUESTS_CA_BUNDLE"}

# The ways the traps catch people, as a reader would first write them.
REQUESTS_SESSION_VERIFY = """import sys, requests
session = requests.Session()
session.verify = "cert.pem"
session.cert = ("cert.pem", "key.pem")
%s
print(session.get(sys.argv[1], timeout=10).text, end="")
"""
HTTPX_VERIFY_PATH_AND_CERT = """import sys, httpx
with httpx.Client(verify="cert.pem", cert=("cert.pem", "key.pem"), timeout=10) as client:
    print(client.get(sys.argv[1]).text, end="")
"""


def importable(package):
    try:
        return subprocess.run([PYTHON, "-c", f"import {package}"], capture_output=True, env=ENV,
                              timeout=HANG_LIMIT).returncode == 0
    except OSError:
        return False


def needs(package):
    return unittest.skipUnless(importable(package), f"{package} is not installed "
                                                    "(OTHER_CLIENTS_PYTHON names a Python that has it)")


def python(*args, cwd, **env):
    """Run PYTHON with args; the environment is ENV plus env. Return (status, stdout, stderr)."""
    done = subprocess.run([PYTHON, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=HANG_LIMIT, env={**ENV, **env})
    return done.returncode, done.stdout, done.stderr


SHARED = None


def shared():
    """The certificates and servers every test here uses, made when the first test needs them.

    certs: the tutorial's pair, served by server; other: a second pair from gen_certs.sh, which
    picky (the same certificate as server) trusts as its only client CA; original: the Go guide's
    certificate, without subjectAltName, served by go_guide."""
    global SHARED
    if SHARED is None:
        with contextlib.ExitStack() as stack:
            top = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mtls-test-")))
            certs, other = gen_certs(top / "tutorial"), gen_certs(top / "other")
            original = top / "original"
            original.mkdir()
            check(run(["openssl", "req", "-newkey", "rsa:2048", "-new", "-nodes", "-x509", "-days", "3650",
                       "-out", "cert.pem", "-keyout", "key.pem", "-subj",
                       "/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=localhost"],
                      cwd=original))
            servers = [stack.enter_context(Server(certs)),
                       stack.enter_context(Server(certs, "--ca", other / "cert.pem")),
                       stack.enter_context(Server(original))]
            SHARED = SimpleNamespace(certs=certs, other=other, original=original, server=servers[0],
                                     picky=servers[1], go_guide=servers[2], servers=servers,
                                     close=stack.pop_all().close)
    return SHARED


def tearDownModule():
    if SHARED is not None:
        SHARED.close()
        for server in SHARED.servers:
            assert server.process.returncode == 0, f"server exited with {server.process.returncode}"
            assert not any("Traceback" in line for line in server.log), server.log


class SnippetTests:
    """What every snippet must do; a subclass names the file (script) and is skipped without its package."""

    script = None

    @classmethod
    def setUpClass(cls):
        cls.shared = shared()

    def snippet(self, url, cwd=None, **env):
        return python(CLIENTS / self.script, url, cwd=cwd or self.shared.certs, **env)

    def assert_fails(self, result, reason):
        """Exit 1, nothing on stdout, and one line on stderr that names the program and gives reason."""
        status, out, err = result
        self.assertEqual((status, out), (1, ""), err)
        self.assertRegex(err, rf"\A{re.escape(self.script)}: [^\n]*{re.escape(reason)}[^\n]*\n\Z")

    def test_gets_hello_and_the_server_names_the_client(self):
        server = self.shared.server
        start = server.mark()
        self.assertEqual(self.snippet(server.url), (0, "Hello, world!\n", ""))
        server.wait_for_log(REQUEST_LOG % SUBJECT, start)

    def test_refuses_a_server_from_another_ca(self):
        # Run in the other folder, the snippet trusts only the other cert.pem.
        self.assert_fails(self.snippet(self.shared.server.url, cwd=self.shared.other),
                          "certificate verify failed: self-signed certificate")

    def test_server_refuses_a_client_certificate_it_does_not_trust(self):
        picky = self.shared.picky
        start = picky.mark()
        self.assert_fails(self.snippet(picky.url), "tlsv1 alert unknown ca")
        picky.wait_for_log(HANDSHAKE_LOG % "client certificate rejected: self-signed certificate", start)

    def test_refuses_the_go_guide_certificate_without_subject_alt_name(self):
        self.assert_fails(self.snippet(self.shared.go_guide.url, cwd=self.shared.original),
                          "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'")


@needs("requests")
class RequestsTest(SnippetTests, unittest.TestCase):
    script = "with_requests.py"

    def test_ca_bundle_variables_do_not_override_verify_passed_per_call(self):
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            with self.subTest(variable):
                result = self.snippet(self.shared.server.url, **{variable: str(self.shared.other / "cert.pem")})
                self.assertEqual(result, (0, "Hello, world!\n", ""))

    def test_ca_bundle_variables_override_session_verify(self):
        """The trap: the same settings on a Session lose to the environment."""
        url, other_ca = self.shared.server.url, str(self.shared.other / "cert.pem")
        program = REQUESTS_SESSION_VERIFY % ""
        self.assertEqual(python("-c", program, url, cwd=self.shared.certs), (0, "Hello, world!\n", ""))
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            with self.subTest(variable):
                status, out, err = python("-c", program, url, cwd=self.shared.certs, **{variable: other_ca})
                self.assertEqual((status, out), (1, ""), err)
                self.assertIn("certificate verify failed: self-signed certificate", err)
                # session.trust_env = False makes the Session keep its own verify.
                self.assertEqual(python("-c", REQUESTS_SESSION_VERIFY % "session.trust_env = False", url,
                                        cwd=self.shared.certs, **{variable: other_ca}),
                                 (0, "Hello, world!\n", ""))


@needs("httpx")
class HttpxTest(SnippetTests, unittest.TestCase):
    script = "with_httpx.py"

    def test_verify_path_with_cert_sends_no_client_certificate(self):
        """The trap: httpx 0.28 returns the context for verify="path" before it loads cert=."""
        server = self.shared.server
        start = server.mark()
        status, out, err = python("-c", HTTPX_VERIFY_PATH_AND_CERT, server.url, cwd=self.shared.certs)
        self.assertEqual((status, out), (1, ""), err)
        self.assertIn("tlsv13 alert certificate required", err)
        server.wait_for_log(HANDSHAKE_LOG % "client sent no certificate", start)


@needs("urllib3")
class Urllib3Test(SnippetTests, unittest.TestCase):
    script = "with_urllib3.py"


@needs("aiohttp")
class AiohttpTest(SnippetTests, unittest.TestCase):
    script = "with_aiohttp.py"


class MissingLibraryTest(unittest.TestCase):
    def test_each_snippet_without_its_library_says_so_in_one_line(self):
        # -S leaves out site-packages, where every one of the four libraries lives.
        for library in ("requests", "httpx", "urllib3", "aiohttp"):
            with self.subTest(library):
                self.assertEqual(run([sys.executable, "-S", CLIENTS / f"with_{library}.py"], cwd=CLIENTS),
                                 (1, "", f"with_{library}.py: {library} is not installed; pip install {library}\n"))


if __name__ == "__main__":
    unittest.main()
