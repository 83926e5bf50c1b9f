"""gen_certs.sh makes certificates that today's strict verifiers accept, keeps
private keys private, never replaces files without --force, and cannot be
turned against its user: no folder or file that others can write, no writing
through a link, no password on a command line, no name it should not take."""

import os
import re
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import CLIENT_EXTENSIONS, CLEAN_ENV, ROOT, check, gen_certs, openssl_sign, run

SCRIPT = ROOT / "gen_certs.sh"
SUBJECT = "C = US, ST = California, L = Mountain View, O = Your Organization, OU = Your Unit, CN = %s"
ONLY_ONE = "give only one of --ca, --client NAME, --renew NAME, --revoke NAME and --crl"
USAGE = ("usage: gen_certs.sh [--ca | --client NAME | --renew NAME | --revoke NAME | --crl] [--days N] [--force] "
         "[DIR]\n")


def x509(cert, *options):
    return check(run(["openssl", "x509", "-in", cert, "-noout", *options]))


def verify(ca, cert, purpose, *options):
    """openssl verify -x509_strict; returns (status, output)."""
    status, out, err = run(["openssl", "verify", "-x509_strict", "-purpose", purpose, "-CAfile", ca, *options, cert])
    return status, out + err


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class GenCertsTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        self.addCleanup(folder.cleanup)
        self.top = Path(folder.name)

    def test_tutorial_certificate(self):
        status, out, err = run(["bash", SCRIPT], cwd=self.top)
        self.assertEqual((status, out, err), (0, "gen_certs.sh: wrote cert.pem key.pem in .\n", ""))
        cert, key = self.top / "cert.pem", self.top / "key.pem"
        self.assertEqual((mode(cert), mode(key)), (0o644, 0o600))
        self.assertEqual(x509(cert, "-subject"), "subject=" + SUBJECT % "localhost" + "\n")
        text = x509(cert, "-text")
        self.assertIn("Public-Key: (2048 bit)", text)
        self.assertRegex(text, r"X509v3 Subject Alternative Name: \n +DNS:localhost, IP Address:127\.0\.0\.1, "
                               r"IP Address:0:0:0:0:0:0:0:1\n")
        self.assertRegex(text, r"X509v3 Basic Constraints: critical\n +CA:TRUE, pathlen:0\n")
        self.assertRegex(text, r"X509v3 Key Usage: critical\n +Digital Signature, Key Encipherment, Certificate Sign\n")
        self.assertRegex(text, r"X509v3 Extended Key Usage: \n +TLS Web Server Authentication, "
                               r"TLS Web Client Authentication\n")
        ski = re.search(r"X509v3 Subject Key Identifier: \n +(\S+)\n", text).group(1)
        aki = re.search(r"X509v3 Authority Key Identifier: \n +(?:keyid:)?(\S+)\n", text).group(1)
        self.assertEqual(ski, aki)
        # Ten years: still valid in 3649 days, no longer in 3651.
        self.assertEqual(run(["openssl", "x509", "-in", cert, "-noout", "-checkend", str(3649 * 86400)])[0], 0)
        self.assertEqual(run(["openssl", "x509", "-in", cert, "-noout", "-checkend", str(3651 * 86400)])[0], 1)
        for purpose in ("sslserver", "sslclient"):
            self.assertEqual(verify(cert, cert, purpose), (0, f"{cert}: OK\n"))
        # The key belongs to the certificate.
        self.assertEqual(check(run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"])),
                         check(run(["openssl", "pkey", "-in", key, "-pubout"])))

    def test_folder_argument(self):
        status, out, err = run(["bash", SCRIPT, self.top / "a" / "b"])
        self.assertEqual((status, err), (0, ""))
        self.assertTrue((self.top / "a" / "b" / "cert.pem").exists())
        self.assertTrue((self.top / "a" / "b" / "key.pem").exists())

    def test_existing_files_are_kept_unless_force(self):
        gen_certs(self.top)
        before = (self.top / "cert.pem").read_bytes(), (self.top / "key.pem").read_bytes()
        self.assertEqual(run(["bash", SCRIPT, self.top]),
                         (0, f"gen_certs.sh: keeping the existing cert.pem key.pem in {self.top} "
                             "(use --force to replace them)\n", ""))
        self.assertEqual(((self.top / "cert.pem").read_bytes(), (self.top / "key.pem").read_bytes()), before)
        self.assertEqual(run(["bash", SCRIPT, "--force", self.top]),
                         (0, f"gen_certs.sh: wrote cert.pem key.pem in {self.top}\n", ""))
        self.assertNotEqual((self.top / "cert.pem").read_bytes(), before[0])
        self.assertNotEqual((self.top / "key.pem").read_bytes(), before[1])

    def test_folder_that_cannot_be_used(self):
        (self.top / "a-file").write_text("")
        self.assertEqual(run(["bash", SCRIPT, self.top / "a-file"]),
                         (1, "", f"gen_certs.sh: cannot use the folder {self.top / 'a-file'}; "
                                 "pass a folder you can write to\n"))

    def test_half_a_pair_is_an_error(self):
        gen_certs(self.top)
        (self.top / "key.pem").unlink()
        cert = (self.top / "cert.pem").read_bytes()
        self.assertEqual(run(["bash", SCRIPT, self.top]),
                         (1, "", f"gen_certs.sh: found cert.pem but not key.pem in {self.top}; "
                                 "make them all anew with --force\n"))
        self.assertEqual((self.top / "cert.pem").read_bytes(), cert)

    def test_missing_openssl(self):
        status, out, err = run(["env", "PATH=/nonexistent", "/bin/bash", SCRIPT, self.top])
        self.assertEqual((status, out), (1, ""))
        self.assertEqual(err, "gen_certs.sh: the openssl command was not found; install OpenSSL "
                              "(apt-get install openssl, brew install openssl) and run again\n")
        self.assertEqual(list(self.top.iterdir()), [])

    def test_help_and_unknown_options(self):
        status, out, err = run(["bash", SCRIPT, "--help"])
        self.assertEqual((status, err), (0, ""))
        self.assertTrue(out.startswith("Make the certificates for the mutual TLS tutorial"), out)
        for mode in ("--ca [--days N] [--force] [DIR]", "--client NAME [--days N] [--force] [DIR]",
                     "--renew NAME [--days N] [DIR]", "--revoke NAME [DIR]", "--crl [DIR]"):
            self.assertIn(f"./gen_certs.sh {mode}\n", out)
        self.assertIn("DIR/ca-db/", out)
        self.assertEqual(run(["bash", SCRIPT, "--bogus"]),
                         (2, "", USAGE + "gen_certs.sh: unknown option --bogus (see --help)\n"))

    def test_usage_errors_make_nothing(self):
        for args, error in (
                (["a", "b"], "one folder only, not both a and b"),
                (["--ca", "a", "--force", "b"], "one folder only, not both a and b"),
                (["--client"], "--client needs a NAME, for example: --client bob"),
                (["--ca", "--client", "bob", "a"], ONLY_ONE),
                (["--client", "bob", "--client", "carol", "a"], ONLY_ONE),
                (["--revoke", "bob", "--renew", "bob", "a"], ONLY_ONE),
                (["--crl", "--ca", "a"], ONLY_ONE),
                (["--renew"], "--renew needs a NAME, for example: --renew bob"),
                (["--revoke"], "--revoke needs a NAME, for example: --revoke bob"),
                (["--revoke", "bob", "--force", "a"], "--revoke replaces only what it must, and takes no --force"),
                (["--renew", "bob", "--force", "a"], "--renew replaces only what it must, and takes no --force"),
                (["--crl", "--force", "a"], "--crl replaces only what it must, and takes no --force")):
            with self.subTest(args):
                self.assertEqual(run(["bash", SCRIPT, *args], cwd=self.top),
                                 (2, "", USAGE + f"gen_certs.sh: {error} (see --help)\n"))
                self.assertEqual(list(self.top.iterdir()), [])

    def test_nothing_made_is_open_to_others_whatever_the_umask(self):
        # The CA's database (ca-db/, its folders 700 and files 600) is as private as the keys.
        for options, private in (([], ["key.pem"]),
                                 (["--ca"], ["ca-key.pem", "server-key.pem", "client-key.pem", "client.p12", "ca-db"])):
            with self.subTest(options):
                top = self.top / (options[0] if options else "tutorial")
                status, out, err = run(["bash", "-c", 'umask 000; exec bash "$@"', "bash", SCRIPT, *options,
                                        top / "new" / "folder"])
                self.assertEqual((status, err), (0, ""))
                self.assertEqual((mode(top / "new"), mode(top / "new" / "folder")), (0o700, 0o700))
                made = sorted((top / "new" / "folder").rglob("*"))
                self.assertEqual(len(made), 2 if not options else 15, made)
                for path in made:
                    name = path.relative_to(top / "new" / "folder").parts[0]
                    expected = 0o700 if path.is_dir() else 0o600 if name in private else 0o644
                    self.assertEqual(mode(path), expected, path)

    def test_force_never_writes_through_a_link(self):
        gen_certs(self.top / "certs")
        elsewhere = self.top / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "theirs.pem").write_text("not yours\n")
        cert = (self.top / "certs" / "cert.pem").read_bytes()
        for target in (elsewhere, elsewhere / "theirs.pem", elsewhere / "missing.pem"):
            with self.subTest(target.name):
                key = self.top / "certs" / "key.pem"
                key.unlink()
                key.symlink_to(target)
                self.assertEqual(run(["bash", SCRIPT, "--force", self.top / "certs"]),
                                 (1, "", f"gen_certs.sh: key.pem in {self.top / 'certs'} is a symbolic link or a "
                                         "folder; remove it, or pass another folder\n"))
                self.assertEqual(sorted(os.listdir(elsewhere)), ["theirs.pem"])
                self.assertEqual((elsewhere / "theirs.pem").read_text(), "not yours\n")
                self.assertEqual((self.top / "certs" / "cert.pem").read_bytes(), cert)
                self.assertTrue(key.is_symlink())

    def test_moves_replace_a_link_rather_than_follow_it(self):
        # Should a link appear at a file's name after the check, between two commands, the move
        # replaces the link. Seen here by running the script's last loop on a link to a folder.
        script = SCRIPT.read_text()
        start = script.index("# Certificates are public")
        last_loop = script[start:script.index("\ndone\n", start) + len("\ndone\n")]
        (self.top / "scratch").mkdir()
        (self.top / "scratch" / "key.pem").write_text("new key\n")
        elsewhere = self.top / "elsewhere"
        elsewhere.mkdir()
        (self.top / "key.pem").symlink_to(elsewhere)
        check(run(["bash", "-c", f'set -eu; fail() {{ echo "$*"; exit 1; }}; scratch=scratch files=key.pem dir=.\n'
                                 f'{last_loop}'], cwd=self.top))
        self.assertEqual(os.listdir(elsewhere), [])
        self.assertFalse((self.top / "key.pem").is_symlink())
        self.assertEqual((self.top / "key.pem").read_text(), "new key\n")

    def test_the_p12_password_is_never_on_a_command_line(self):
        self.assertNotIn("pass:", SCRIPT.read_text())
        # Every openssl command the script runs, with its arguments, through a logging stand-in.
        bin_folder = self.top / "bin"
        bin_folder.mkdir()
        openssl = check(run(["bash", "-c", "command -v openssl"])).strip()
        (bin_folder / "openssl").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>"{self.top}/argv.log"\n'
                                            f'exec "{openssl}" "$@"\n')
        (bin_folder / "openssl").chmod(0o755)
        env = dict(CLEAN_ENV, PATH=f"{bin_folder}:{CLEAN_ENV['PATH']}", P12_PASSWORD="s3cret-Word")
        done = subprocess.run(["bash", SCRIPT, "--ca", self.top / "pki"], env=env, capture_output=True, text=True,
                              timeout=60)
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        commands = (self.top / "argv.log").read_text()
        self.assertIn("pkcs12 -export", commands)
        self.assertNotIn("s3cret-Word", commands)
        out = check(run(["openssl", "pkcs12", "-in", self.top / "pki" / "client.p12", "-passin", "pass:s3cret-Word",
                         "-nodes"]))
        self.assertIn("friendlyName: client", out)


class CertificateAuthorityTest(unittest.TestCase):
    """gen_certs.sh --ca and --client NAME: a CA, a server and named clients."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        cls.top = Path(cls.folder.name)
        cls.ca_status = run(["bash", SCRIPT, "--ca", cls.top])
        cls.bob_status = run(["bash", SCRIPT, "--client", "bob", cls.top])

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def test_files_and_modes(self):
        self.assertEqual(self.ca_status, (0, f"gen_certs.sh: wrote ca.pem ca-key.pem server.pem server-key.pem "
                                             f"client.pem client-key.pem client.p12 crl.pem ca-db/ in {self.top}\n",
                                          ""))
        self.assertEqual(self.bob_status, (0, f"gen_certs.sh: wrote bob.pem bob-key.pem bob.p12 in {self.top}\n", ""))
        for name in ("ca.pem", "server.pem", "client.pem", "bob.pem", "crl.pem"):
            self.assertEqual(mode(self.top / name), 0o644, name)
        for name in ("ca-key.pem", "server-key.pem", "client-key.pem", "bob-key.pem", "client.p12", "bob.p12"):
            self.assertEqual(mode(self.top / name), 0o600, name)

    def test_ca(self):
        ca = self.top / "ca.pem"
        text = x509(ca, "-text")
        self.assertEqual(x509(ca, "-subject"), "subject=" + SUBJECT % "Tutorial CA" + "\n")
        self.assertRegex(text, r"X509v3 Basic Constraints: critical\n +CA:TRUE, pathlen:0\n")
        self.assertRegex(text, r"X509v3 Key Usage: critical\n +Certificate Sign, CRL Sign\n")
        self.assertIn("X509v3 Subject Key Identifier", text)
        self.assertNotIn("Extended Key Usage", text)

    def test_server_certificate(self):
        ca, server = self.top / "ca.pem", self.top / "server.pem"
        text = x509(server, "-text")
        self.assertRegex(text, r"X509v3 Basic Constraints: critical\n +CA:FALSE\n")
        self.assertRegex(text, r"X509v3 Subject Alternative Name: \n +DNS:localhost, IP Address:127\.0\.0\.1, "
                               r"IP Address:0:0:0:0:0:0:0:1\n")
        self.assertRegex(text, r"X509v3 Extended Key Usage: \n +TLS Web Server Authentication\n")
        self.assertIn("X509v3 Authority Key Identifier", text)
        self.assertEqual(verify(ca, server, "sslserver"), (0, f"{server}: OK\n"))
        status, out = verify(ca, server, "sslclient")
        self.assertNotEqual(status, 0)
        self.assertIn("unsuitable certificate purpose", out)

    def test_client_certificates(self):
        ca = self.top / "ca.pem"
        for name in ("client", "bob"):
            cert = self.top / f"{name}.pem"
            self.assertEqual(x509(cert, "-subject"), "subject=" + SUBJECT % name + "\n")
            self.assertRegex(x509(cert, "-text"), r"X509v3 Extended Key Usage: \n +TLS Web Client Authentication\n")
            self.assertEqual(verify(ca, cert, "sslclient"), (0, f"{cert}: OK\n"))
            status, out = verify(ca, cert, "sslserver")
            self.assertNotEqual(status, 0)
            self.assertIn("unsuitable certificate purpose", out)

    def test_pkcs12_bundles_hold_the_client_and_the_ca(self):
        for name in ("client", "bob"):
            out = check(run(["openssl", "pkcs12", "-in", self.top / f"{name}.p12", "-passin", "pass:mtls",
                             "-nodes"]))
            self.assertIn(f"friendlyName: {name}", out)
            self.assertIn("BEGIN PRIVATE KEY", out)
            subjects = re.findall(r"subject=.*CN = (.+)\n", out)
            self.assertEqual(subjects, [name, "Tutorial CA"])

    def test_client_needs_a_ca(self):
        with tempfile.TemporaryDirectory() as empty:
            self.assertEqual(run(["bash", SCRIPT, "--client", "carol", empty]),
                             (1, "", f"gen_certs.sh: no CA in {empty} (ca.pem and ca-key.pem); "
                                     f"make one first with: ./gen_certs.sh --ca {empty}\n"))
            self.assertEqual(os.listdir(empty), [])
            # A mistyped folder is not created.
            typo = Path(empty) / "typo-dir"
            self.assertEqual(run(["bash", SCRIPT, "--client", "carol", typo]),
                             (1, "", f"gen_certs.sh: no CA in {typo} (ca.pem and ca-key.pem); "
                                     f"make one first with: ./gen_certs.sh --ca {typo}\n"))
            self.assertEqual(os.listdir(empty), [])

    def test_client_names_that_are_not_allowed(self):
        before = sorted(os.listdir(self.top))
        for name in ("../evil", "a b", ".hidden", "x/y", "", "-rf", "--force", "caf\u00e9", "a\x1b[2J"):
            with self.subTest(name):
                self.assertEqual(run(["bash", SCRIPT, "--client", name, self.top]),
                                 (2, "", USAGE + f"gen_certs.sh: client name '{name}' is not allowed: use letters, "
                                                 "digits, '.', '_' and '-', not first '-' or '.' (see --help)\n"))
        for name in ("ca", "CA", "server", "Server", "client", "cert", "KEY", "ca-key", "Client-Key", "bob-key", "crl",
                     "CRL"):
            with self.subTest(name):
                self.assertEqual(run(["bash", SCRIPT, "--client", name, self.top]),
                                 (2, "", USAGE + f"gen_certs.sh: client name '{name}' is taken: ca, server, client, "
                                                 "cert, key, crl and names ending in -key name other files "
                                                 "(see --help)\n"))
        # --revoke NAME revokes every certificate with NAME's subject: a client must not share the server's.
        for name in ("localhost", "LocalHost"):
            with self.subTest(name):
                self.assertEqual(run(["bash", SCRIPT, "--client", name, self.top]),
                                 (2, "", USAGE + f"gen_certs.sh: client name '{name}' is the server's Common Name; "
                                                 "choose another (see --help)\n"))
        self.assertEqual(run(["bash", SCRIPT, "--client", "x" * 65, self.top]),
                         (2, "", USAGE + f"gen_certs.sh: client name '{'x' * 65}' is longer than 64 characters, the "
                                         "most a Common Name holds (see --help)\n"))
        self.assertEqual(sorted(os.listdir(self.top)), before)

    def test_ca_signs_only_end_certificates(self):
        # pathlen:0: a certificate the CA signed with CA:TRUE by mistake cannot sign a client in turn.
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as work:
            mistake, mistake_key = openssl_sign(work, "mistake", self.top / "ca.pem", self.top / "ca-key.pem",
                                                "basicConstraints = critical, CA:TRUE\n"
                                                "keyUsage = critical, keyCertSign, digitalSignature\n"
                                                "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always")
            forged, _ = openssl_sign(work, "forged", mistake, mistake_key, CLIENT_EXTENSIONS)
            status, out = verify(self.top / "ca.pem", forged, "sslclient", "-untrusted", mistake)
            self.assertNotEqual(status, 0, out)
            self.assertIn("path length constraint exceeded", out)

    def test_existing_client_is_kept(self):
        before = (self.top / "bob.pem").read_bytes()
        self.assertEqual(run(["bash", SCRIPT, "--client", "bob", self.top]),
                         (0, f"gen_certs.sh: keeping the existing bob.pem bob-key.pem bob.p12 in {self.top} "
                             "(use --force to replace them)\n", ""))
        self.assertEqual((self.top / "bob.pem").read_bytes(), before)


if __name__ == "__main__":
    unittest.main()
