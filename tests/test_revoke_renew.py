"""gen_certs.sh --revoke, --renew, --crl and --days: a revoked client is refused by a
real TLS handshake that checks the CRL while other clients get in; a renewed
certificate keeps its key and is replaced in one step; the CA's database is as
private as the keys, and a CA made before it existed gets one on first use."""

import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import unittest
from pathlib import Path

from support import CLEAN_ENV, HANG_LIMIT, ROOT, check, run

SCRIPT = ROOT / "gen_certs.sh"
USAGE = ("usage: gen_certs.sh [--ca | --client NAME | --renew NAME | --revoke NAME | --crl] [--days N] [--force] "
         "[DIR]\n")
DAY = 86400


def gen_certs(*args):
    return run(["bash", SCRIPT, *args])


def make_pki(top, *clients):
    """A CA in top/pki made by gen_certs.sh --ca, and a client for each name."""
    pki = Path(top) / "pki"
    check(gen_certs("--ca", pki))
    for name in clients:
        check(gen_certs("--client", name, pki))
    return pki


def crl_verify(pki, cert, crl=None):
    """openssl verify, strict, checking the leaf against the CRL; returns (status, output)."""
    status, out, err = run(["openssl", "verify", "-crl_check", "-x509_strict", "-CAfile", pki / "ca.pem",
                            "-CRLfile", crl or pki / "crl.pem", cert])
    return status, out + err


def field(path, option, command="x509"):
    """One field of a certificate or CRL, such as -serial or -enddate, without its name."""
    return check(run(["openssl", command, "-in", path, "-noout", option])).split("=", 1)[1].strip()


def seconds(path, option, command="x509"):
    return ssl.cert_time_to_seconds(field(path, option, command))


def public_key(cert):
    return check(run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"]))


def crl_text(pki):
    return check(run(["openssl", "crl", "-in", pki / "crl.pem", "-noout", "-text"]))


def crl_number(pki):
    return int(re.search(r"X509v3 CRL Number: \n +(\d+)\n", crl_text(pki)).group(1))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def snapshot(folder):
    """Every file under folder with its bytes, to show that a failed run changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def make_crl_checking_context(pki):
    """A server context as a server that checks the CRL would make it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki / "server.pem"), str(pki / "server-key.pem"))
    # Verify that the client sent us a certificate signed by the tutorial CA.
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(str(pki / "ca.pem"))
    # The CA's list of revoked certificates: load_verify_locations takes CRLs too.
    context.load_verify_locations(str(pki / "crl.pem"))
    # Refuse a client certificate the CRL lists (the CA signs only end certificates, so the leaf is
    # enough), and check certificates and CRL strictly, as Python 3.13 does by default, on every version.
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF | ssl.VERIFY_X509_STRICT
    return context


def handshake(pki, name):
    """A real TLS connection from client NAME of pki to a server that checks pki/crl.pem.
    Returns (what the server saw, what the client read): the client's Common Name and
    b"hello\\n" if it was admitted, else the server's verify error and the client's."""
    context = make_crl_checking_context(pki)
    seen = []

    def serve_one(listener):
        connection, _ = listener.accept()
        with connection:
            try:
                # The handshake runs here, in the connection's own thread, never in accept().
                with context.wrap_socket(connection, server_side=True) as tls:
                    seen.append(dict(pair[0] for pair in tls.getpeercert()["subject"])["commonName"])
                    tls.sendall(b"hello\n")
            except ssl.SSLCertVerificationError as error:
                seen.append(error.verify_message)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        server = threading.Thread(target=serve_one, args=(listener,))
        server.start()
        client = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        client.load_cert_chain(str(pki / f"{name}.pem"), str(pki / f"{name}-key.pem"))
        with socket.create_connection(listener.getsockname(), timeout=HANG_LIMIT) as raw:
            try:
                with client.wrap_socket(raw, server_hostname="localhost") as tls:
                    read = tls.recv(100)
            # TLS 1.3 reports a refused client certificate late: on the client's first read.
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as error:
                read = error
        server.join(HANG_LIMIT)
    return seen[0], read


class RevokeTest(unittest.TestCase):
    """--ca writes an empty CRL; --revoke NAME lists NAME.pem in it."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        cls.pki = make_pki(cls.folder.name, "bob", "carol")
        cls.empty_crl = Path(cls.folder.name) / "empty-crl.pem"
        shutil.copy(cls.pki / "crl.pem", cls.empty_crl)
        cls.revoked = gen_certs("--revoke", "bob", cls.pki)

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def test_ca_writes_an_empty_crl_that_strict_checks_accept(self):
        text = check(run(["openssl", "crl", "-in", self.empty_crl, "-noout", "-text"]))
        self.assertIn("No Revoked Certificates.", text)
        # What RFC 5280 asks of a CRL, and strict verifiers check: its number and its issuer's key identifier.
        self.assertRegex(text, r"X509v3 CRL Number: \n +1\n")
        ski = re.search(r"Subject Key Identifier: \n +(\S+)\n", check(run(["openssl", "x509", "-in",
                                                                          self.pki / "ca.pem", "-noout", "-text"])))
        self.assertRegex(text, r"X509v3 Authority Key Identifier: \n +(keyid:)?" + re.escape(ski.group(1)) + "\n")
        check(run(["openssl", "crl", "-in", self.empty_crl, "-noout", "-CAfile", self.pki / "ca.pem"]))
        for name in ("server", "client", "bob", "carol"):
            cert = self.pki / f"{name}.pem"
            self.assertEqual(crl_verify(self.pki, cert, self.empty_crl), (0, f"{cert}: OK\n"))

    def test_the_crl_is_valid_for_365_days(self):
        self.assertEqual(seconds(self.pki / "crl.pem", "-nextupdate", "crl")
                         - seconds(self.pki / "crl.pem", "-lastupdate", "crl"), 365 * DAY)

    def test_revoked_certificate_fails_verification_and_others_pass(self):
        self.assertEqual(self.revoked, (0, f"gen_certs.sh: revoked bob.pem; wrote crl.pem in {self.pki}\n", ""))
        bob = self.pki / "bob.pem"
        status, out = crl_verify(self.pki, bob)
        self.assertEqual(status, 2, out)
        self.assertIn("certificate revoked", out)
        self.assertIn(f"Serial Number: {field(bob, '-serial')}\n", crl_text(self.pki))
        self.assertEqual(crl_number(self.pki), 2)
        for name in ("server", "client", "carol"):
            cert = self.pki / f"{name}.pem"
            self.assertEqual(crl_verify(self.pki, cert), (0, f"{cert}: OK\n"))

    def test_a_server_checking_the_crl_refuses_the_revoked_client_and_admits_another(self):
        seen, read = handshake(self.pki, "carol")
        self.assertEqual((seen, read), ("carol", b"hello\n"))
        seen, read = handshake(self.pki, "bob")
        self.assertEqual(seen, "certificate revoked")
        self.assertIsInstance(read, (ssl.SSLError, ConnectionResetError, BrokenPipeError))

    def test_database_files_are_private(self):
        self.assertEqual(mode(self.pki / "crl.pem"), 0o644)
        self.assertEqual(sorted(p.name for p in (self.pki / "ca-db").iterdir()),
                         ["certs", "crlnumber", "index.txt", "index.txt.attr"])
        for path in [self.pki / "ca-db", *(self.pki / "ca-db").rglob("*")]:
            self.assertEqual(mode(path), 0o700 if path.is_dir() else 0o600, path)
        # A copy of each certificate the CA signed, named by its serial, for revoking it once replaced.
        copies = sorted(p.name for p in (self.pki / "ca-db" / "certs").iterdir())
        self.assertEqual(copies, sorted(field(self.pki / f"{name}.pem", "-serial") + ".pem"
                                        for name in ("server", "client", "bob", "carol")))
        self.assertEqual([name for name in os.listdir(self.pki) if name.startswith(".")], [])

    def test_a_name_with_no_certificate_is_one_line(self):
        before = snapshot(self.pki)
        self.assertEqual(gen_certs("--revoke", "dave", self.pki),
                         (1, "", f"gen_certs.sh: no dave.pem in {self.pki} to revoke\n"))
        self.assertEqual(snapshot(self.pki), before)

    def test_names_that_are_not_certificates_of_the_ca(self):
        before = snapshot(self.pki)
        for name in ("ca", "CA", "cert", "key", "crl", "bob-key"):
            with self.subTest(name):
                self.assertEqual(gen_certs("--revoke", name, self.pki),
                                 (2, "", USAGE + f"gen_certs.sh: --revoke takes server, client or a NAME made with "
                                                 f"--client, not '{name}' (see --help)\n"))
        self.assertEqual(gen_certs("--revoke", "../pki/bob", self.pki),
                         (2, "", USAGE + "gen_certs.sh: name '../pki/bob' is not allowed: use letters, digits, '.', "
                                         "'_' and '-', not first '-' or '.' (see --help)\n"))
        # A certificate another CA signed is not this CA's to revoke.
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as other:
            check(gen_certs("--ca", other))
            shutil.copy(Path(other) / "client.pem", self.pki / "stranger.pem")
            self.addCleanup(os.unlink, self.pki / "stranger.pem")
            before = snapshot(self.pki)
            self.assertEqual(gen_certs("--revoke", "stranger", self.pki),
                             (1, "", f"gen_certs.sh: stranger.pem in {self.pki} is not signed by the CA there "
                                     "(ca.pem), so it cannot be revoked here\n"))
            self.assertEqual(snapshot(self.pki), before)

    def test_revoking_again_writes_the_crl_anew(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = make_pki(top, "bob")
            check(gen_certs("--revoke", "bob", pki))
            first = (pki / "crl.pem").read_bytes()
            self.assertEqual(gen_certs("--revoke", "bob", pki),
                             (0, f"gen_certs.sh: bob.pem was already revoked; wrote crl.pem in {pki}\n", ""))
            self.assertNotEqual((pki / "crl.pem").read_bytes(), first)
            self.assertEqual(crl_number(pki), 3)
            self.assertEqual(crl_text(pki).count("Serial Number:"), 1)
            self.assertIn("certificate revoked", crl_verify(pki, pki / "bob.pem")[1])

    def test_revoking_a_name_revokes_the_certificates_it_had_before(self):
        # A renewed certificate keeps its key, so the one it replaced would still let a thief in:
        # --revoke NAME revokes both. So for one replaced with --client NAME --force.
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = make_pki(top, "dave", "erin")
            shutil.copy(pki / "dave.pem", Path(top) / "dave-first.pem")
            check(gen_certs("--renew", "dave", pki))
            shutil.copy(pki / "dave.pem", Path(top) / "dave-second.pem")
            check(gen_certs("--renew", "dave", pki))
            shutil.copy(pki / "erin.pem", Path(top) / "erin-first.pem")
            check(gen_certs("--client", "erin", "--force", pki))
            for name in ("dave-first", "dave-second", "erin-first"):
                self.assertEqual(crl_verify(pki, Path(top) / f"{name}.pem")[0], 0)
            self.assertEqual(gen_certs("--revoke", "dave", pki),
                             (0, f"gen_certs.sh: revoked dave.pem and 2 earlier certificates of dave; "
                                 f"wrote crl.pem in {pki}\n", ""))
            self.assertEqual(gen_certs("--revoke", "erin", pki),
                             (0, f"gen_certs.sh: revoked erin.pem and 1 earlier certificate of erin; "
                                 f"wrote crl.pem in {pki}\n", ""))
            for cert in (pki / "dave.pem", pki / "erin.pem", *(Path(top) / f"{name}.pem" for name in
                                                                ("dave-first", "dave-second", "erin-first"))):
                status, out = crl_verify(pki, cert)
                self.assertEqual(status, 2, out)
                self.assertIn("certificate revoked", out)
            for name in ("server", "client"):
                self.assertEqual(crl_verify(pki, pki / f"{name}.pem")[0], 0)

    def test_crl_writes_the_list_anew(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = make_pki(top, "bob")
            check(gen_certs("--revoke", "bob", pki))
            self.assertEqual(gen_certs("--crl", pki), (0, f"gen_certs.sh: wrote crl.pem in {pki}\n", ""))
            self.assertEqual(crl_number(pki), 3)
            self.assertIn("certificate revoked", crl_verify(pki, pki / "bob.pem")[1])
            self.assertEqual(crl_verify(pki, pki / "client.pem")[0], 0)
            # A new CA starts a new database: nothing it signed is revoked.
            check(gen_certs("--ca", "--force", pki))
            self.assertIn("No Revoked Certificates.", crl_text(pki))
            self.assertEqual(crl_number(pki), 1)
            self.assertEqual(len(list((pki / "ca-db" / "certs").iterdir())), 2)

    def test_the_database_is_never_written_through_a_link(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = make_pki(top, "bob")
            elsewhere = Path(top) / "elsewhere"
            (pki / "ca-db").rename(elsewhere)
            (pki / "ca-db").symlink_to(elsewhere)
            before = snapshot(elsewhere)
            for args in (["--revoke", "bob"], ["--crl"], ["--renew", "bob"], ["--client", "carol"]):
                with self.subTest(args):
                    self.assertEqual(gen_certs(*args, pki),
                                     (1, "", f"gen_certs.sh: ca-db in {pki} is a symbolic link or not a folder; "
                                             "remove it, or pass another folder\n"))
            self.assertEqual(snapshot(elsewhere), before)
            (pki / "ca-db").unlink()
            (pki / "crl.pem").unlink()
            (pki / "crl.pem").symlink_to(elsewhere / "index.txt")
            self.assertEqual(gen_certs("--revoke", "bob", pki),
                             (1, "", f"gen_certs.sh: crl.pem in {pki} is a symbolic link or a folder; "
                                     "remove it, or pass another folder\n"))
            self.assertEqual(snapshot(elsewhere), before)

    def test_a_database_without_its_list_is_an_error(self):
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as top:
            pki = make_pki(top, "bob")
            (pki / "ca-db" / "index.txt").unlink()
            before = snapshot(pki)
            self.assertEqual(gen_certs("--revoke", "bob", pki),
                             (1, "", f"gen_certs.sh: no index.txt in {pki}/ca-db, the CA's record of what it "
                                     "revoked; restore ca-db from a backup\n"))
            self.assertEqual(snapshot(pki), before)


class RenewTest(unittest.TestCase):
    """--renew NAME: a new certificate for the same key, replacing NAME.pem in one step."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        self.addCleanup(folder.cleanup)
        self.top = Path(folder.name)
        self.pki = self.top / "pki"
        check(gen_certs("--ca", "--days", "30", self.pki))
        check(gen_certs("--client", "bob", "--days", "30", self.pki))

    def test_renewal_keeps_the_key_and_changes_serial_and_dates(self):
        bob, p12 = self.pki / "bob.pem", self.pki / "bob.p12"
        before = snapshot(self.pki)
        old = {"serial": field(bob, "-serial"), "end": seconds(bob, "-enddate"), "inode": os.stat(bob).st_ino,
               "text": check(run(["openssl", "x509", "-in", bob, "-noout", "-subject", "-issuer", "-ext",
                                  "basicConstraints,keyUsage,extendedKeyUsage,subjectAltName"]))}
        self.assertEqual(gen_certs("--renew", "bob", self.pki),
                         (0, f"gen_certs.sh: renewed bob.pem and bob.p12 for 3650 days in {self.pki}\n", ""))
        self.assertEqual(public_key(bob), check(run(["openssl", "pkey", "-in", self.pki / "bob-key.pem", "-pubout"])))
        self.assertNotEqual(field(bob, "-serial"), old["serial"])
        self.assertEqual(seconds(bob, "-enddate") - seconds(bob, "-startdate"), 3650 * DAY)
        self.assertGreater(seconds(bob, "-enddate"), old["end"])
        # The same subject and extensions.
        self.assertEqual(check(run(["openssl", "x509", "-in", bob, "-noout", "-subject", "-issuer", "-ext",
                                    "basicConstraints,keyUsage,extendedKeyUsage,subjectAltName"])), old["text"])
        self.assertEqual(crl_verify(self.pki, bob), (0, f"{bob}: OK\n"))
        # Replaced by a rename: a new file at the name, not the old one written over.
        self.assertNotEqual(os.stat(bob).st_ino, old["inode"])
        # The bundle holds the new certificate; nothing else changed.
        bundled = check(run(["openssl", "pkcs12", "-in", p12, "-passin", "pass:mtls", "-nokeys", "-clcerts"]))
        self.assertEqual(check(run(["openssl", "x509", "-noout", "-serial"], input=bundled)),
                         f"serial={field(bob, '-serial')}\n")
        after = snapshot(self.pki)
        changed = sorted(name for name in after if before.get(name) != after[name])
        self.assertEqual(changed, ["bob.p12", "bob.pem", "ca-db/certs/" + field(bob, "-serial") + ".pem",
                                   "ca-db/index.txt"])
        self.assertEqual(mode(bob), 0o644)
        self.assertEqual(mode(p12), 0o600)

    def test_renewing_the_server(self):
        server = self.pki / "server.pem"
        old_serial = field(server, "-serial")
        self.assertEqual(gen_certs("--renew", "server", "--days", "90", self.pki),
                         (0, f"gen_certs.sh: renewed server.pem for 90 days in {self.pki}\n", ""))
        self.assertNotEqual(field(server, "-serial"), old_serial)
        self.assertFalse((self.pki / "server.p12").exists())
        self.assertEqual(public_key(server),
                         check(run(["openssl", "pkey", "-in", self.pki / "server-key.pem", "-pubout"])))
        status, out, err = run(["openssl", "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile",
                                self.pki / "ca.pem", server])
        self.assertEqual((status, out), (0, f"{server}: OK\n"))
        self.assertIn("DNS:localhost, IP Address:127.0.0.1",
                      check(run(["openssl", "x509", "-in", server, "-noout", "-ext", "subjectAltName"])))

    def test_renewing_for_one_day(self):
        bob = self.pki / "bob.pem"
        self.assertEqual(gen_certs("--renew", "bob", "--days", "1", self.pki),
                         (0, f"gen_certs.sh: renewed bob.pem and bob.p12 for 1 day in {self.pki}\n", ""))
        self.assertEqual(seconds(bob, "-enddate") - seconds(bob, "-startdate"), DAY)
        self.assertEqual(run(["openssl", "x509", "-in", bob, "-noout", "-checkend", str(DAY - 3600)])[0], 0)
        self.assertEqual(run(["openssl", "x509", "-in", bob, "-noout", "-checkend", str(DAY + 3600)])[0], 1)

    def test_a_revoked_name_gets_a_new_key(self):
        # Its key may be in a thief's hands: a new certificate for it would let the thief back in.
        bob = self.pki / "bob.pem"
        shutil.copy(bob, self.top / "old-bob.pem")
        old_key = (self.pki / "bob-key.pem").read_bytes()
        check(gen_certs("--revoke", "bob", self.pki))
        self.assertEqual(gen_certs("--renew", "bob", self.pki),
                         (0, f"gen_certs.sh: renewed bob.pem and bob.p12 for 3650 days in {self.pki}, with a new key "
                             "(bob-key.pem) since bob.pem was revoked\n", ""))
        self.assertNotEqual((self.pki / "bob-key.pem").read_bytes(), old_key)
        self.assertEqual(mode(self.pki / "bob-key.pem"), 0o600)
        self.assertEqual(public_key(bob), check(run(["openssl", "pkey", "-in", self.pki / "bob-key.pem", "-pubout"])))
        self.assertEqual(field(bob, "-subject"), field(self.top / "old-bob.pem", "-subject"))
        self.assertEqual(crl_verify(self.pki, bob), (0, f"{bob}: OK\n"))
        status, out = crl_verify(self.pki, self.top / "old-bob.pem")
        self.assertEqual(status, 2, out)
        self.assertIn("certificate revoked", out)
        self.assertEqual(handshake(self.pki, "bob"), ("bob", b"hello\n"))

    def test_what_cannot_be_renewed(self):
        before = snapshot(self.pki)
        self.assertEqual(gen_certs("--renew", "carol", self.pki),
                         (1, "", f"gen_certs.sh: no carol.pem in {self.pki} to renew\n"))
        self.assertEqual(gen_certs("--renew", "ca", self.pki),
                         (2, "", USAGE + "gen_certs.sh: --renew takes server, client or a NAME made with --client, "
                                         "not 'ca' (see --help)\n"))
        self.assertEqual(snapshot(self.pki), before)
        # The tutorial's pair has no CA: --force makes a new one.
        self.assertEqual(gen_certs("--renew", "cert", self.top),
                         (2, "", USAGE + "gen_certs.sh: --renew takes server, client or a NAME made with --client, "
                                         "not 'cert' (see --help)\n"))
        (self.pki / "bob-key.pem").rename(self.top / "bob-key.pem")
        self.assertEqual(gen_certs("--renew", "bob", self.pki),
                         (1, "", f"gen_certs.sh: no bob-key.pem in {self.pki}; --renew keeps the key of bob.pem, "
                                 "so it needs it\n"))
        shutil.copy(self.pki / "client-key.pem", self.pki / "bob-key.pem")
        before = snapshot(self.pki)
        self.assertEqual(gen_certs("--renew", "bob", self.pki),
                         (1, "", f"gen_certs.sh: bob-key.pem in {self.pki} is not the key of bob.pem; --renew keeps "
                                 "the key, so they must match\n"))
        self.assertEqual(snapshot(self.pki), before)
        self.assertEqual([name for name in os.listdir(self.pki) if name.startswith(".")], [])

    def test_a_failed_renewal_leaves_the_old_certificate(self):
        # openssl fails as it signs: bob.pem, bob.p12 and the database are as they were.
        bin_folder = self.top / "bin"
        bin_folder.mkdir()
        openssl = check(run(["bash", "-c", "command -v openssl"])).strip()
        (bin_folder / "openssl").write_text('#!/bin/sh\ncase " $* " in *" -req "*) echo "error: no" >&2; exit 1;; '
                                            f'esac\nexec "{openssl}" "$@"\n')
        (bin_folder / "openssl").chmod(0o755)
        before = snapshot(self.pki)
        done = subprocess.run(["bash", SCRIPT, "--renew", "bob", self.pki], capture_output=True, text=True,
                              env=dict(CLEAN_ENV, PATH=f"{bin_folder}:{CLEAN_ENV['PATH']}"), timeout=HANG_LIMIT)
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (1, "", "gen_certs.sh: openssl x509 failed: error: no\n"))
        self.assertEqual(snapshot(self.pki), before)
        self.assertEqual([name for name in os.listdir(self.pki) if name.startswith(".")], [])


class DaysTest(unittest.TestCase):
    """--days N: the life of the certificates a run signs, from 1 to 3650 days."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        self.addCleanup(folder.cleanup)
        self.top = Path(folder.name)

    def test_short_lived_client_and_ca_leaves(self):
        pki = self.top / "pki"
        check(gen_certs("--ca", "--days", "30", pki))
        self.assertEqual(seconds(pki / "ca.pem", "-enddate") - seconds(pki / "ca.pem", "-startdate"), 3650 * DAY)
        for name in ("server", "client"):
            cert = pki / f"{name}.pem"
            self.assertEqual(seconds(cert, "-enddate") - seconds(cert, "-startdate"), 30 * DAY, name)
        self.assertEqual(gen_certs("--client", "alice", "--days", "1", pki),
                         (0, f"gen_certs.sh: wrote alice.pem alice-key.pem alice.p12 in {pki}\n", ""))
        alice = pki / "alice.pem"
        self.assertEqual(seconds(alice, "-enddate") - seconds(alice, "-startdate"), DAY)
        self.assertEqual(crl_verify(pki, alice), (0, f"{alice}: OK\n"))
        check(gen_certs("--client", "bob", pki))
        self.assertEqual(seconds(pki / "bob.pem", "-enddate") - seconds(pki / "bob.pem", "-startdate"), 3650 * DAY)

    def test_bad_days_are_usage_errors_that_make_nothing(self):
        for days in ("0", "-1", "3651", "99999", "abc", "1.5", "", "007", " 7", "1e3"):
            with self.subTest(days):
                self.assertEqual(run(["bash", SCRIPT, "--client", "alice", "--days", days, "new"], cwd=self.top),
                                 (2, "", USAGE + "gen_certs.sh: --days takes a whole number of days from 1 to 3650, "
                                                 f"not '{days}' (see --help)\n"))
        for args, error in (
                (["--client", "alice", "--days"], "--days needs a number of days, for example: --days 30"),
                (["--ca", "--days", "3", "--days", "4"], "give --days once"),
                (["--days", "30"], "--days goes with --ca, --client or --renew, which sign certificates"),
                (["--revoke", "bob", "--days", "30"], "--days goes with --ca, --client or --renew, which sign "
                                                      "certificates"),
                (["--crl", "--days", "30"], "--days goes with --ca, --client or --renew, which sign certificates")):
            with self.subTest(args):
                self.assertEqual(run(["bash", SCRIPT, *args], cwd=self.top),
                                 (2, "", USAGE + f"gen_certs.sh: {error} (see --help)\n"))
        self.assertEqual(list(self.top.iterdir()), [])
        # The most, the CA's own life.
        check(gen_certs("--ca", "--days", "3650", self.top / "pki"))


class OldCaTest(unittest.TestCase):
    """A CA folder made before gen_certs.sh kept a database: no ca-db/, no crl.pem."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="mtls-test-")
        self.addCleanup(folder.cleanup)
        self.pki = make_pki(folder.name, "bob")
        shutil.rmtree(self.pki / "ca-db")
        (self.pki / "crl.pem").unlink()

    def test_revoke_makes_the_database(self):
        self.assertEqual(gen_certs("--revoke", "bob", self.pki),
                         (0, f"gen_certs.sh: revoked bob.pem; wrote crl.pem in {self.pki}\n", ""))
        self.assertIn("certificate revoked", crl_verify(self.pki, self.pki / "bob.pem")[1])
        self.assertEqual(crl_verify(self.pki, self.pki / "client.pem")[0], 0)
        for path in [self.pki / "ca-db", *(self.pki / "ca-db").rglob("*")]:
            self.assertEqual(mode(path), 0o700 if path.is_dir() else 0o600, path)

    def test_renew_then_revoke_revokes_both(self):
        shutil.copy(self.pki / "client.pem", self.pki.parent / "old-client.pem")
        check(gen_certs("--renew", "client", self.pki))
        self.assertEqual(gen_certs("--revoke", "client", self.pki),
                         (0, f"gen_certs.sh: revoked client.pem and 1 earlier certificate of client; "
                             f"wrote crl.pem in {self.pki}\n", ""))
        for cert in (self.pki / "client.pem", self.pki.parent / "old-client.pem"):
            self.assertIn("certificate revoked", crl_verify(self.pki, cert)[1])

    def test_crl_and_client(self):
        self.assertEqual(gen_certs("--crl", self.pki), (0, f"gen_certs.sh: wrote crl.pem in {self.pki}\n", ""))
        self.assertIn("No Revoked Certificates.", crl_text(self.pki))
        check(gen_certs("--client", "carol", self.pki))
        self.assertEqual(crl_verify(self.pki, self.pki / "carol.pem")[0], 0)
        # The CA keeps what it finds: --ca without --force writes nothing, crl.pem included.
        self.assertEqual(gen_certs("--ca", self.pki)[0], 0)


if __name__ == "__main__":
    unittest.main()
