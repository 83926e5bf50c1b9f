"""server.py --crl and SIGHUP: a revoked client is refused during the handshake, and a
reload puts new certificates and CRLs in force for new connections, without a restart,
while connections already open go on. A reload that fails changes nothing but the log.

Everything is real: certificates from gen_certs.sh --ca, --revoke and --renew, the
server as a process, SIGHUP from os.kill, and curl and openssl s_client as peers.
"""

import http.client
import os
import re
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from support import CLEAN_ENV, HANG_LIMIT, ROOT, Server, check, curl, run

TIME = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"
HANDSHAKE_ERROR = rf"^{TIME} TLS handshake error from 127\.0\.0\.1:\d+: "
REVOKED = HANDSHAKE_ERROR + "client certificate rejected: certificate revoked$"
FILES = ["--ca", "pki/ca.pem", "--cert", "pki/server.pem", "--key", "pki/server-key.pem"]
WITH_CRL = FILES + ["--crl", "pki/crl.pem"]


class PkiTest(unittest.TestCase):
    """Each test has a folder of its own with copies of server.py and gen_certs.sh, so that the hints
    read `./gen_certs.sh`, and a CA in pki/ with clients bob and carol."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        self.addCleanup(folder.cleanup)
        self.top = Path(folder.name)
        for name in ("server.py", "gen_certs.sh"):
            shutil.copy2(ROOT / name, self.top / name)
        self.pki = self.top / "pki"
        self.gen_certs("--ca", "pki")
        self.gen_certs("--client", "bob", "pki")
        self.gen_certs("--client", "carol", "pki")
        # What the clients trust, apart, so that a test may break pki/ca.pem for the server alone.
        self.trusted = self.top / "trusted-ca.pem"
        shutil.copy(self.pki / "ca.pem", self.trusted)

    def gen_certs(self, *args):
        return check(run(["bash", "gen_certs.sh", *args], cwd=self.top))

    def server(self, *args):
        return Server(self.top, *args, script=self.top / "server.py")

    def start(self, *args):
        """Run server.py to its end (it fails to start); return (status, stdout, stderr)."""
        return run([sys.executable, "server.py", *args], cwd=self.top)

    def connect(self, server, name):
        """A keep-alive HTTPS connection to server as client name."""
        context = ssl.create_default_context(cafile=str(self.trusted))
        context.load_cert_chain(str(self.pki / f"{name}.pem"), str(self.pki / f"{name}-key.pem"))
        connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=HANG_LIMIT)
        self.addCleanup(connection.close)
        return connection

    def ask(self, server, name, connection=None):
        """GET /hello as client name, on connection or a new one: (status, body), or the reason of the
        TLS alert that refused the client."""
        connection = connection or self.connect(server, name)
        try:
            connection.request("GET", "/hello")
            response = connection.getresponse()
            return response.status, response.read()
        # Under TLS 1.3 the client learns of a refusal late: on its first read.
        except ssl.SSLError as error:
            return error.reason

    def assertServes(self, server, name, connection=None):
        start = server.mark()
        self.assertEqual(self.ask(server, name, connection), (200, b"Hello, world!\n"))
        server.wait_for_log(rf'"GET /hello HTTP/1.1" 200 client="CN={name},', start)

    def assertRevoked(self, server, name):
        start = server.mark()
        self.assertEqual(self.ask(server, name), "SSLV3_ALERT_CERTIFICATE_REVOKED")
        server.wait_for_log(REVOKED, start)

    def der(self, name):
        """The certificate pki/NAME.pem, as DER: what getpeercert(binary_form=True) returns."""
        return ssl.PEM_cert_to_DER_cert((self.pki / f"{name}.pem").read_text())


class CrlTest(PkiTest):
    """--crl FILE: clients the CA revoked are refused during the handshake; the others are served."""

    def test_a_revoked_client_is_refused_and_the_others_are_served(self):
        self.gen_certs("--revoke", "bob", "pki")
        with self.server(*WITH_CRL) as server:
            self.assertRevoked(server, "bob")
            self.assertServes(server, "carol")
            self.assertServes(server, "client")
            status, out, err = curl("--cacert", "pki/ca.pem", "--cert", "pki/bob.pem", "--key", "pki/bob-key.pem",
                                    server.url, cwd=self.top)
            self.assertNotEqual(status, 0)
            self.assertIn("alert certificate revoked", err)
            server.wait_for_lines(REVOKED, 2)
            self.assertEqual(server.stop(), 0)

    def test_without_crl_a_revoked_client_is_served(self):
        # The CRL is what refuses bob: without it the server knows nothing of the revocation.
        self.gen_certs("--revoke", "bob", "pki")
        with self.server(*FILES) as server:
            self.assertServes(server, "bob")

    def test_an_expired_crl_refuses_everyone_and_the_log_says_so(self):
        expired = self.top / "expired-crl.pem"
        sign_crl(self.pki, expired, "20200101000000Z", "20200201000000Z")
        with self.server(*FILES, "--crl", "expired-crl.pem") as server:
            self.assertEqual(self.ask(server, "carol"), "SSLV3_ALERT_CERTIFICATE_EXPIRED")
            server.wait_for_log(HANDSHAKE_ERROR + re.escape(
                "client certificate rejected: CRL has expired; expired-crl.pem is out of date, so every client is "
                "refused: write it anew with `./gen_certs.sh --crl`, then reload (SIGHUP)") + "$")

    def test_a_client_of_a_ca_whose_crl_is_missing_is_refused(self):
        # Two CAs trusted, the CRL of one: OpenSSL refuses the other's clients, having no CRL to check.
        self.gen_certs("--ca", "other")
        self.gen_certs("--client", "dave", "other")
        (self.top / "both.pem").write_text((self.pki / "ca.pem").read_text() + (self.top / "other/ca.pem").read_text())
        with self.server("--ca", "both.pem", "--cert", "pki/server.pem", "--key", "pki/server-key.pem",
                         "--crl", "pki/crl.pem") as server:
            self.assertServes(server, "carol")
            context = ssl.create_default_context(cafile=str(self.pki / "ca.pem"))
            context.load_cert_chain(str(self.top / "other/dave.pem"), str(self.top / "other/dave-key.pem"))
            connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=HANG_LIMIT)
            self.addCleanup(connection.close)
            self.assertEqual(self.ask(server, "dave", connection), "TLSV1_ALERT_UNKNOWN_CA")
            server.wait_for_log(HANDSHAKE_ERROR + re.escape(
                "client certificate rejected: unable to get certificate CRL; pki/crl.pem has no CRL from the CA that "
                "signed this client's certificate") + "$")


class CrlStartupErrorTest(PkiTest):
    """A --crl the server cannot use stops it at start-up with one line: the file, the problem, the fix."""

    def assertOneLine(self, result, line):
        self.assertEqual(result, (1, "", line + "\n"))

    def test_missing(self):
        (self.pki / "crl.pem").unlink()
        self.assertOneLine(self.start(*WITH_CRL), "server.py: cannot read pki/crl.pem: No such file or directory; "
                                                  "run `./gen_certs.sh --crl pki` to create it")

    def test_not_a_crl(self):
        (self.pki / "crl.pem").write_text("this is not a CRL\n")
        self.assertOneLine(self.start(*WITH_CRL),
                           "server.py: pki/crl.pem holds no CRL; write it anew with `./gen_certs.sh --crl pki`")

    def test_a_certificate_instead_of_a_crl(self):
        self.assertOneLine(self.start(*FILES, "--crl", "pki/ca.pem"),
                           "server.py: pki/ca.pem holds no CRL; pass the CA's CRL, which `./gen_certs.sh --crl pki` "
                           "writes")

    def test_damaged(self):
        text = (self.pki / "crl.pem").read_text()
        (self.pki / "crl.pem").write_text(text[:len(text) // 2] + "\n-----END X509 CRL-----\n")
        self.assertOneLine(self.start(*WITH_CRL),
                           "server.py: pki/crl.pem holds a damaged CRL; write it anew with `./gen_certs.sh --crl pki`")

    def test_a_certificate_beside_the_crl(self):
        # load_verify_locations would trust it as a CA.
        with open(self.pki / "crl.pem", "a") as crl:
            crl.write((self.pki / "bob.pem").read_text())
        self.assertOneLine(self.start(*WITH_CRL),
                           "server.py: pki/crl.pem holds a certificate as well as CRLs; pass a file of CRLs only")

    def test_the_crl_of_another_ca(self):
        # Another gen_certs.sh --ca: the same name as ours, another key. OpenSSL would load its CRL
        # and refuse every client, finding no CRL of our CA.
        self.gen_certs("--ca", "other")
        self.assertOneLine(self.start(*FILES, "--crl", "other/crl.pem"),
                           "server.py: other/crl.pem is not from the CA in pki/ca.pem; pass that CA's CRL, which "
                           "`./gen_certs.sh --crl pki` writes")

    def test_the_hinted_command_fixes_the_problem(self):
        (self.pki / "crl.pem").write_text("")
        status, out, err = self.start(*WITH_CRL)
        hint = re.fullmatch(r"server\.py: pki/crl\.pem holds no CRL; write it anew with `(.+)`\n", err)
        self.assertTrue(hint, err)
        self.assertEqual(run(["bash", "-c", hint.group(1)], cwd=self.top)[0], 0)
        with self.server(*WITH_CRL) as server:
            self.assertServes(server, "bob")


RELOADED = rf"^{TIME} reloaded pki/server\.pem, pki/server-key\.pem, pki/ca\.pem, pki/crl\.pem$"


def reload(server):
    """SIGHUP, as `kill -HUP` sends it; return the line the server logs about it."""
    start = server.mark()
    os.kill(server.process.pid, signal.SIGHUP)
    return server.wait_for_log(rf"^{TIME} reload", start).string


class ReloadTest(PkiTest):
    """SIGHUP: new connections get the files as they are now; open connections go on as they were."""

    def test_a_client_revoked_and_reloaded_is_refused_while_others_are_served(self):
        with self.server(*WITH_CRL) as server:
            carol = self.connect(server, "carol")
            self.assertServes(server, "carol", carol)
            bob = self.connect(server, "bob")
            self.assertServes(server, "bob", bob)
            self.gen_certs("--revoke", "bob", "pki")
            # The server reads crl.pem when told to: until then, bob is served.
            self.assertServes(server, "bob")
            self.assertRegex(reload(server), RELOADED)
            self.assertRevoked(server, "bob")
            status, out, err = curl("--cacert", "pki/ca.pem", "--cert", "pki/bob.pem", "--key", "pki/bob-key.pem",
                                    server.url, cwd=self.top)
            self.assertNotEqual(status, 0)
            self.assertIn("alert certificate revoked", err)
            server.wait_for_lines(REVOKED, 2)
            self.assertServes(server, "carol")
            self.assertServes(server, "carol", carol)  # the connection opened before the reload
            # bob's connection from before the reload is not cut: it ends when bob leaves it idle.
            self.assertServes(server, "bob", bob)
            # The same process all along, and it stops as cleanly as ever.
            self.assertIsNone(server.process.poll())
            self.assertEqual(server.stop(), 0)
            self.assertEqual(len([line for line in server.log if " reload" in line]), 1, server.log)

    def test_a_renewed_server_certificate_is_presented_to_new_connections(self):
        old = self.der("server")
        with self.server(*WITH_CRL) as server:
            before = self.connect(server, "client")
            self.assertServes(server, "client", before)
            self.assertEqual(before.sock.getpeercert(binary_form=True), old)
            self.gen_certs("--renew", "server", "pki")
            new = self.der("server")
            self.assertNotEqual(new, old)
            # Not before the reload.
            unreloaded = self.connect(server, "client")
            self.assertServes(server, "client", unreloaded)
            self.assertEqual(unreloaded.sock.getpeercert(binary_form=True), old)
            self.assertRegex(reload(server), RELOADED)
            after = self.connect(server, "client")
            self.assertServes(server, "client", after)
            self.assertEqual(after.sock.getpeercert(binary_form=True), new)
            # The connection opened before goes on, on the old certificate.
            self.assertServes(server, "client", before)
            self.assertEqual(before.sock.getpeercert(binary_form=True), old)
            self.assertEqual(server.stop(), 0)

    def test_without_crl_the_reload_names_three_files(self):
        with self.server(*FILES) as server:
            self.assertRegex(reload(server),
                             rf"^{TIME} reloaded pki/server\.pem, pki/server-key\.pem, pki/ca\.pem$")
            self.assertServes(server, "bob")


class BrokenReloadTest(PkiTest):
    """A reload whose files fail logs one line, and the server goes on with what it had."""

    def test_each_broken_reload_changes_nothing_but_the_log(self):
        self.gen_certs("--ca", "other")
        self.gen_certs("--revoke", "bob", "pki")
        pki = self.pki
        original = {path: path.read_bytes() for path in pki.glob("*.pem")}
        server_der = self.der("server")

        def write(name, text):
            (pki / name).write_bytes(text if isinstance(text, bytes) else text.encode())

        crl = original[pki / "crl.pem"]
        breakages = [
            ("missing CRL", lambda: (pki / "crl.pem").unlink(),
             "cannot read pki/crl.pem: No such file or directory"),
            ("missing certificate", lambda: (pki / "server.pem").unlink(),
             "cannot read pki/server.pem: No such file or directory"),
            ("a key that does not match", lambda: shutil.copy(pki / "client-key.pem", pki / "server-key.pem"),
             "pki/server-key.pem is not the key of pki/server.pem"),
            ("not a CRL", lambda: write("crl.pem", "this is not a CRL\n"), "pki/crl.pem holds no CRL"),
            ("a damaged CRL", lambda: write("crl.pem", crl[:len(crl) // 2] + b"\n-----END X509 CRL-----\n"),
             "pki/crl.pem holds a damaged CRL"),
            ("a certificate beside the CRL", lambda: write("crl.pem", crl + original[pki / "bob.pem"]),
             "pki/crl.pem holds a certificate as well as CRLs"),
            ("the CRL of another CA", lambda: shutil.copy(self.top / "other/crl.pem", pki / "crl.pem"),
             "pki/crl.pem is not from the CA in pki/ca.pem"),
            ("not a CA", lambda: write("ca.pem", "this is not a certificate\n"), "pki/ca.pem holds no PEM certificate"),
        ]
        with self.server(*WITH_CRL) as server:
            for name, breakage, problem in breakages:
                with self.subTest(name):
                    breakage()
                    try:
                        start = server.mark()
                        reload(server)
                        # The old certificate, the old CRL: carol is served, bob is still refused.
                        connection = self.connect(server, "carol")
                        self.assertServes(server, "carol", connection)
                        self.assertEqual(connection.sock.getpeercert(binary_form=True), server_der)
                        self.assertRevoked(server, "bob")
                        log = server.log[start:]
                        self.assertEqual(len(log), 3, log)
                        self.assertRegex(log[0], f"^{TIME} reload failed: {re.escape(problem)}; "
                                                 "still serving with the previous certificates$")
                        self.assertRegex(log[1], r'"GET /hello HTTP/1\.1" 200 client="CN=carol,')
                        self.assertRegex(log[2], REVOKED)
                    finally:
                        for path, data in original.items():
                            path.write_bytes(data)
            # Mended, the files reload.
            self.assertRegex(reload(server), RELOADED)
            self.assertServes(server, "carol")
            self.assertEqual(server.stop(), 0)


class SessionResumptionTest(PkiTest):
    """A reload makes a new context: new session ticket keys and an empty session cache. So no
    session from before it resumes after it, and a client revoked then is checked in full."""

    # TLS 1.3 resumes with a ticket; TLS 1.2 with a ticket, or without one (-no_ticket) from the
    # session cache the server keeps in the context.
    WAYS = [("TLS 1.3 ticket", ["-tls1_3"]), ("TLS 1.2 ticket", ["-tls1_2"]),
            ("TLS 1.2 session cache", ["-tls1_2", "-no_ticket"])]

    def s_client(self, server, name, *args):
        """openssl s_client as client name, GET /hello; returns (how the session began: "New" or
        "Reused", or None if the handshake failed first, and whether the server answered 200)."""
        status, out, err = run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername",
                                "localhost", "-CAfile", self.trusted, "-cert", f"pki/{name}.pem", "-key",
                                f"pki/{name}-key.pem", "-verify_return_error", "-ign_eof", *args],
                               cwd=self.top, input="GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        began = re.search(r"^(New|Reused), TLSv1\.[23], Cipher is ", out, re.M)
        return began and began.group(1), "HTTP/1.1 200 OK" in out

    def test_sessions_resume_until_a_reload(self):
        with self.server(*WITH_CRL) as server:
            for way, options in self.WAYS:
                with self.subTest(way):
                    session = f"{way.replace(' ', '-')}.session"
                    self.assertEqual(self.s_client(server, "carol", *options, "-sess_out", session), ("New", True))
                    self.assertEqual(self.s_client(server, "carol", *options, "-sess_in", session), ("Reused", True))
                    self.assertRegex(reload(server), RELOADED)
                    self.assertEqual(self.s_client(server, "carol", *options, "-sess_in", session), ("New", True))

    def test_a_client_revoked_and_reloaded_cannot_resume_an_earlier_session(self):
        with self.server(*WITH_CRL) as server:
            for way, options in self.WAYS:
                sessions = f"{way.replace(' ', '-')}.session"
                self.assertEqual(self.s_client(server, "bob", *options, "-sess_out", sessions), ("New", True))
            self.gen_certs("--revoke", "bob", "pki")
            # Before the reload the server knows nothing of it: the sessions resume, without a check.
            for way, options in self.WAYS:
                with self.subTest(way, reloaded=False):
                    sessions = f"{way.replace(' ', '-')}.session"
                    self.assertEqual(self.s_client(server, "bob", *options, "-sess_in", sessions), ("Reused", True))
            self.assertRegex(reload(server), RELOADED)
            for way, options in self.WAYS:
                with self.subTest(way, reloaded=True):
                    start = server.mark()
                    sessions = f"{way.replace(' ', '-')}.session"
                    began, served = self.s_client(server, "bob", *options, "-sess_in", sessions)
                    # A full handshake, refused: under TLS 1.3 after the client's side of it is done.
                    self.assertEqual(began, "New")
                    self.assertFalse(served)
                    server.wait_for_log(REVOKED, start)


# Run a program in a terminal of its own (a pseudo-terminal), as a reader runs the server:
# a new session whose controlling terminal it is, so that closing it sends the program SIGHUP.
ON_TERMINAL = """
import fcntl, os, sys, termios
os.setsid()
terminal = int(sys.argv[1])
fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
for fd in (0, 1, 2):
    os.dup2(terminal, fd)
os.execv(sys.executable, [sys.executable] + sys.argv[2:])
"""


class TerminalTest(PkiTest):
    """SIGHUP is also what a closing terminal sends: then the server stops, as it always did."""

    def read_terminal(self, terminal, pattern):
        """What the terminal shows until pattern appears."""
        shown = ""
        deadline = time.monotonic() + HANG_LIMIT
        while not re.search(pattern, shown):
            ready, _, _ = select.select([terminal], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"no {pattern!r} on the terminal: {shown!r}")
            shown += os.read(terminal, 65536).decode()
        return shown

    def test_sighup_reloads_and_closing_the_terminal_stops_the_server(self):
        terminal, its_end = os.openpty()
        process = subprocess.Popen([sys.executable, "-c", ON_TERMINAL, str(its_end), "server.py", "--port", "0",
                                    *WITH_CRL], cwd=self.top, env=CLEAN_ENV, pass_fds=[its_end],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: process.poll() is None and (process.kill(), process.wait()))
        os.close(its_end)
        try:
            self.read_terminal(terminal, r"server\.py: serving https://localhost:\d+/hello")
            process.send_signal(signal.SIGHUP)  # kill -HUP, from elsewhere: a reload
            self.read_terminal(terminal, r"reloaded pki/server\.pem, pki/server-key\.pem, pki/ca\.pem, pki/crl\.pem")
            self.assertIsNone(process.poll())
        finally:
            os.close(terminal)  # the window closes: the system sends the server SIGHUP
        # A clean stop (status 0), not the end SIGHUP's default action would make, nor serving on.
        self.assertEqual(process.wait(HANG_LIMIT), 0)


def sign_crl(pki, path, last_update, next_update):
    """A CRL of pki's CA valid from last_update to next_update (openssl ca's date form), written to path;
    pki's own records are left as they were."""
    work = Path(tempfile.mkdtemp(prefix="crl-", dir=path.parent))
    shutil.copy(pki / "ca-db" / "index.txt", work / "index.txt")
    (work / "crlnumber").write_text("1000\n")
    (work / "openssl.cnf").write_text(
        f"[ca]\ndefault_ca = test\n[test]\ndatabase = {work}/index.txt\ncrlnumber = {work}/crlnumber\n"
        "default_md = sha256\ncrl_extensions = crl_extensions\n"
        "[crl_extensions]\nauthorityKeyIdentifier = keyid:always\n")
    check(run(["openssl", "ca", "-gencrl", "-config", work / "openssl.cnf", "-cert", pki / "ca.pem",
               "-keyfile", pki / "ca-key.pem", "-crl_lastupdate", last_update, "-crl_nextupdate", next_update,
               "-out", path]))


if __name__ == "__main__":
    unittest.main()
