"""Every mistake a reader can make gives one line that names the problem and
the fix, and a non-zero exit; never a traceback."""

import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import ROOT, Server, client, free_port, gen_certs, run


def server(*args, cwd, script=ROOT / "server.py"):
    """Run server.py expecting it to stop at once; return (status, stdout, stderr)."""
    return run([sys.executable, script, "--port", "0", *args], cwd=cwd)


class ErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        top = cls.top = Path(cls.folder.name)
        # A copy of the programs, so that the hints' paths to gen_certs.sh are known: ../gen_certs.sh
        # from the folders below.
        for name in ("server.py", "client.py", "gen_certs.sh"):
            shutil.copy2(ROOT / name, top / name)
        cls.certs = gen_certs(top / "tutorial")
        cls.other = gen_certs(top / "other")
        cls.empty = top / "empty"
        cls.empty.mkdir()
        (top / "not-pem.pem").write_text("this is not a certificate\n")
        cls.not_pem = top / "not-pem.pem"

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def assertOneLine(self, result, expected, status=1):
        """The exact line on stderr, nothing on stdout, the exit status."""
        self.assertEqual(result, (status, "", expected + "\n"))


class ServerStartupErrorTest(ErrorTest):
    def server(self, *args, cwd):
        return server(*args, cwd=cwd, script=self.top / "server.py")

    def test_missing_certificate(self):
        self.assertOneLine(self.server(cwd=self.empty),
                           "server.py: cannot read cert.pem: No such file or directory; "
                           "run `../gen_certs.sh` to create it")

    def test_missing_key(self):
        self.assertOneLine(self.server("--key", "nokey.pem", cwd=self.certs),
                           "server.py: cannot read nokey.pem: No such file or directory; "
                           "run `../gen_certs.sh` to create it")

    def test_missing_ca(self):
        self.assertOneLine(self.server("--ca", "noca.pem", cwd=self.certs),
                           "server.py: cannot read noca.pem: No such file or directory; "
                           "run `../gen_certs.sh` to create it")

    def test_a_folder_instead_of_a_file(self):
        self.assertOneLine(self.server("--cert", ".", cwd=self.certs),
                           "server.py: cannot read .: Is a directory; run `../gen_certs.sh` to create it")

    def test_key_that_does_not_match_the_certificate(self):
        self.assertOneLine(self.server("--key", self.other / "key.pem", cwd=self.certs),
                           f"server.py: {self.other / 'key.pem'} is not the key of cert.pem; "
                           "make a matching pair with `../gen_certs.sh --force`")

    def test_certificate_that_is_not_pem(self):
        self.assertOneLine(self.server("--cert", self.not_pem, cwd=self.certs),
                           f"server.py: {self.not_pem} or key.pem is not a PEM certificate and key; "
                           f"make new ones with `../gen_certs.sh --force {self.top}`")

    def test_hints_name_gen_certs_sh_as_typed_from_where_the_server_runs(self):
        # Beside gen_certs.sh, it is ./gen_certs.sh; for the files of `gen_certs.sh --ca`, with --ca.
        self.assertOneLine(self.server(cwd=self.top),
                           "server.py: cannot read cert.pem: No such file or directory; "
                           "run `./gen_certs.sh` to create it")
        self.assertOneLine(self.server("--cert", "pki/server.pem", cwd=self.top),
                           "server.py: cannot read pki/server.pem: No such file or directory; "
                           "run `./gen_certs.sh --ca pki` to create it")

    def test_the_hinted_commands_fix_the_problem(self):
        # From a folder of its own, with the real server.py: run each hint as given, then the server starts.
        folder = self.top / "elsewhere"
        folder.mkdir()
        status, out, err = server(cwd=folder)
        hint = re.fullmatch(r"server\.py: cannot read cert\.pem: .*; run `(.+)` to create it\n", err)
        self.assertTrue(hint, err)
        self.assertEqual(run(["bash", "-c", hint.group(1)], cwd=folder)[0], 0)
        shutil.copy2(self.other / "key.pem", folder / "key.pem")
        status, out, err = server(cwd=folder)
        hint = re.fullmatch(r"server\.py: key\.pem is not the key of cert\.pem; make a matching pair with `(.+)`\n",
                            err)
        self.assertTrue(hint, err)
        self.assertEqual(run(["bash", "-c", hint.group(1)], cwd=folder)[0], 0)
        with Server(folder) as running:
            self.assertEqual(client(running.url, cwd=folder), (0, "Hello, world!\n", ""))

    def test_ca_that_is_not_pem(self):
        self.assertOneLine(self.server("--ca", self.not_pem, cwd=self.certs),
                           f"server.py: {self.not_pem} holds no PEM certificate; "
                           "pass the CA's certificate with --ca")

    def test_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            self.assertOneLine(
                run([sys.executable, ROOT / "server.py", "--host", "127.0.0.1", "--port", port], cwd=self.certs),
                f"server.py: cannot listen on 127.0.0.1:{port}: Address already in use; "
                "stop whatever uses it or pick another --port")

    def test_unknown_host(self):
        status, out, err = server("--host", "no-such-host.invalid", cwd=self.certs)
        self.assertEqual((status, out), (1, ""))
        self.assertRegex(err, r"^server\.py: cannot listen on no-such-host\.invalid: .+; check --host\n$")

    def test_port_out_of_range(self):
        status, out, err = server("--port", "70000", cwd=self.certs)
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err.splitlines()[-1],
                         "server.py: error: argument --port: 70000 is not a port number (0 to 65535)")
        self.assertNotIn("Traceback", err)

    def assert_stopped(self, log, signal_name):
        """The two lines of a clean stop, and nothing else."""
        time = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"
        self.assertEqual(len(log), 2, log)
        self.assertRegex(log[0], rf"^{time} stopping on {signal_name}: requests in progress have 5 seconds to finish$")
        self.assertRegex(log[1], rf"^{time} stopped$")

    def test_ctrl_c_stops_cleanly(self):
        with Server(self.certs) as running:
            running.process.send_signal(signal.SIGINT)
            self.assertEqual(running.process.wait(60), 0)
        self.assert_stopped(running.log, "SIGINT")

    def test_sigterm_stops_cleanly(self):
        with Server(self.certs) as running:
            self.assertEqual(running.stop(), 0)
        self.assert_stopped(running.log, "SIGTERM")


class ClientErrorTest(ErrorTest):
    def client(self, *args, cwd):
        """The copy of client.py, whose hints name ../gen_certs.sh from the folders below."""
        return client(*args, cwd=cwd, script=self.top / "client.py")

    def test_server_not_running(self):
        port = free_port()
        self.assertOneLine(client(f"https://localhost:{port}/hello", cwd=self.certs),
                           f"client.py: nothing is listening on localhost:{port}; start the server first (make server)")

    def test_host_that_does_not_exist(self):
        status, out, err = client("https://no-such-host.invalid/hello", cwd=self.certs)
        self.assertEqual((status, out), (1, ""))
        self.assertRegex(err, r"^client\.py: cannot find the host no-such-host\.invalid \(.+\); check the URL\n$")

    def test_server_that_never_answers(self):
        # Accepts TCP connections (the kernel does it for a listening socket) but never speaks TLS.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            port = silent.getsockname()[1]
            self.assertOneLine(client(f"https://127.0.0.1:{port}/hello", cwd=self.certs),
                               f"client.py: 127.0.0.1:{port} did not answer within 10 seconds; "
                               "is it the right server?")

    def test_ctrl_c_while_waiting_stops_quietly(self):
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            waiting = subprocess.Popen([sys.executable, ROOT / "client.py",
                                        f"https://127.0.0.1:{silent.getsockname()[1]}/hello"],
                                       cwd=self.certs, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            silent.settimeout(60)
            connection, _ = silent.accept()  # the client is now waiting for a handshake that never comes
            waiting.send_signal(signal.SIGINT)
            out, err = waiting.communicate(timeout=60)
            connection.close()
        self.assertEqual((waiting.returncode, out, err), (130, "", ""))

    def test_missing_files(self):
        for option in ("--ca", "--cert", "--key"):
            with self.subTest(option):
                self.assertOneLine(self.client(option, "missing.pem", cwd=self.certs),
                                   "client.py: cannot read missing.pem: No such file or directory; "
                                   "run `../gen_certs.sh` to create it")

    def test_no_certificates_at_all(self):
        self.assertOneLine(self.client(cwd=self.empty),
                           "client.py: cannot read cert.pem: No such file or directory; "
                           "run `../gen_certs.sh` to create it")

    def test_key_that_does_not_match_the_certificate(self):
        self.assertOneLine(client("--key", self.other / "key.pem", cwd=self.certs),
                           f"client.py: {self.other / 'key.pem'} is not the key of cert.pem; pass the matching --key")

    def test_ca_that_is_not_pem(self):
        self.assertOneLine(client("--ca", self.not_pem, cwd=self.certs),
                           f"client.py: {self.not_pem} holds no PEM certificate; pass the CA's certificate with --ca")

    def test_certificate_that_is_not_pem(self):
        self.assertOneLine(self.client("--cert", self.not_pem, cwd=self.certs),
                           f"client.py: {self.not_pem} or key.pem is not a PEM certificate and key; "
                           f"make new ones with `../gen_certs.sh --force {self.top}`")

    def test_urls_that_are_not_https(self):
        # A usage error: argparse's usage line, the error, and exit status 2.
        for url in ("http://localhost:8443/hello", "localhost:8443", "https://:8443/hello",
                    "https://localhost:port/hello"):
            with self.subTest(url):
                status, out, err = client(url, cwd=self.certs)
                self.assertEqual((status, out), (2, ""))
                self.assertRegex(err, r"^usage: client\.py .*\n")
                self.assertTrue(err.endswith(f"\nclient.py: error: {url} is not an https://HOST[:PORT]/PATH URL\n"),
                                err)


if __name__ == "__main__":
    unittest.main()
