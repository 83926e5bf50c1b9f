"""The Makefile: `make help` lists every target from its `## ` comment."""

import re
import unittest

from support import ROOT, run

RULE = re.compile(r"^([a-z][a-z-]*):(?!=)(.*)$", re.MULTILINE)


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


if __name__ == "__main__":
    unittest.main()
