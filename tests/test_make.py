"""The Makefile: `make help` lists every target from its `## ` comment, and
`make clean` removes what the tutorial makes and nothing that is tracked."""

import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import ROOT, check, gen_certs, run

RULE = re.compile(r"^([a-z][a-z-]*):(?!=)(.*)$", re.MULTILINE)


def tracked_files():
    """The repository's tracked files, relative to ROOT; skip the test outside a git checkout."""
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise unittest.SkipTest("git ls-files does not work here (not a git checkout)")
    return {Path(name) for name in done.stdout.split("\0") if name and (ROOT / name).is_file()}


class MakeHelpTest(unittest.TestCase):
    def test_lists_every_target_with_its_comment(self):
        makefile = (ROOT / "Makefile").read_text()
        rules = RULE.findall(makefile)
        phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE).group(1).split()
        self.assertEqual(sorted(name for name, _ in rules), sorted(phony))
        expected = []
        for name, rest in rules:
            self.assertIn("## ", rest, f"target {name} has no `## ` comment for make help")
            expected.append(f"make {name:<6}  {rest.split('## ', 1)[1]}")
        status, out, err = run(["make", "--no-print-directory", "help"], cwd=ROOT)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.splitlines(), expected)


class MakeCleanTest(unittest.TestCase):
    def test_removes_what_the_tutorial_makes_and_nothing_tracked(self):
        tracked = tracked_files()
        with tempfile.TemporaryDirectory(prefix="mtls-test-") as scratch:
            tree = Path(scratch) / "tree"
            for name in tracked:
                (tree / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, tree / name)
            # What a reader makes by following the README: the tutorial's pair, a CA with a named
            # client in pki/ and (for the curious) at the top, the Go guide's certificate in original/,
            # and Python's bytecode caches.
            check(run(["make", "--no-print-directory", "certs"], cwd=tree))
            gen_certs(tree / "pki", "--ca")
            gen_certs(tree / "pki", "--client", "bob")
            gen_certs(tree, "--ca")
            (tree / "original").mkdir()
            check(run(["openssl", "req", "-newkey", "rsa:2048", "-new", "-nodes", "-x509", "-days", "3650",
                       "-out", "cert.pem", "-keyout", "key.pem", "-subj", "/CN=localhost"], cwd=tree / "original"))
            check(run([sys.executable, "-m", "compileall", "-q", "."], cwd=tree))
            # nginx's runtime folder (docs/production.md), with the pid file of a running nginx.
            (tree / "nginx-run").mkdir()
            (tree / "nginx-run" / "nginx.pid").write_text("1\n")
            made = {path.relative_to(tree) for path in tree.rglob("*")}
            for name in ("cert.pem", "key.pem", "ca.pem", "client.p12", "pki/bob.p12", "original/key.pem",
                         "tests/__pycache__", "nginx-run/nginx.pid"):
                self.assertIn(Path(name), made)

            check(run(["make", "--no-print-directory", "clean"], cwd=tree))
            left = {path.relative_to(tree) for path in tree.rglob("*")}
            folders = {parent for name in tracked for parent in name.parents if parent != Path(".")}
            self.assertEqual(left, tracked | folders)
            for name in tracked:
                self.assertEqual((tree / name).read_bytes(), (ROOT / name).read_bytes(), name)


if __name__ == "__main__":
    unittest.main()
