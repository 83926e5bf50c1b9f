"""gen_certs.sh --days: short-lived certificates, from 1 to 3650 days, for
what a run signs; the CA keeps its ten years."""

import ssl
import tempfile
import unittest
from pathlib import Path

from support import ROOT, check, run

SCRIPT = ROOT / "gen_certs.sh"
USAGE = "usage: gen_certs.sh [--ca | --client NAME] [--days N] [--force] [DIR]\n"
DAY = 86400


def gen_certs(*args):
    return run(["bash", SCRIPT, *args])


def field(path, option, command="x509"):
    """One field of a certificate or CRL, such as -serial or -enddate, without its name."""
    return check(run(["openssl", command, "-in", path, "-noout", option])).split("=", 1)[1].strip()


def seconds(path, option, command="x509"):
    return ssl.cert_time_to_seconds(field(path, option, command))


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
        self.assertEqual(run(["openssl", "verify", "-x509_strict", "-CAfile", pki / "ca.pem", alice]),
                         (0, f"{alice}: OK\n", ""))
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
                (["--days", "30"], "--days goes with --ca or --client, which sign certificates")):
            with self.subTest(args):
                self.assertEqual(run(["bash", SCRIPT, *args], cwd=self.top),
                                 (2, "", USAGE + f"gen_certs.sh: {error} (see --help)\n"))
        self.assertEqual(list(self.top.iterdir()), [])
        # The most, the CA's own life.
        check(gen_certs("--ca", "--days", "3650", self.top / "pki"))


if __name__ == "__main__":
    unittest.main()
