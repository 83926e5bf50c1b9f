"""README.md cannot drift: its code, diffs and outputs are the real files and
the real runs, and the messages it quotes are ones the programs print."""

import re
import unittest

import readme


class ReadmeTest(unittest.TestCase):
    def setUp(self):
        self.text = readme.README.read_text()

    def test_every_block_matches_its_source(self):
        found = readme.problems(self.text)
        self.assertEqual(found, [], "stale README blocks (python3 tests/readme.py --write updates them):\n"
                         + "\n".join(marker + "\n" + difference for marker, difference in found))

    def test_every_block_is_tied_to_a_source(self):
        # Only drawings (```text) may stand alone.
        fences = [fence for fence in re.findall(r"(?m)^```(\w+)\n", self.text) if fence != "text"]
        tied = list(readme.MARKER.finditer(self.text))
        self.assertGreater(len(tied), 20)
        self.assertEqual(len(fences), len(tied), "a code block without a <!-- check: ... --> comment")

    def test_every_step_program_is_shown_or_diffed(self):
        shown = " ".join(match.group(2) for match in readme.MARKER.finditer(self.text))
        for path in ("steps/1-http/server.py", "steps/1-http/client.py", "steps/2-https/server.py",
                     "steps/2-https/client.py", "steps/3-trust-the-server/client.py", "server.py", "client.py"):
            self.assertIn(path, shown)

    def test_every_link_within_the_readme_has_its_heading(self):
        headings = re.findall(r"(?m)^#+ (.+)$", re.sub(r"(?ms)^```.*?^```", "", self.text))
        # GitHub's anchors: lower case, punctuation dropped except - and _, spaces as hyphens.
        anchors = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
        links = re.findall(r"\]\(#([^)]+)\)", self.text)
        self.assertGreater(len(links), 10)
        self.assertEqual(sorted(set(links) - anchors), [])

    def test_troubleshooting_quotes_real_messages(self):
        messages = readme.troubleshooting_messages(self.text)
        self.assertGreaterEqual(len(messages), 15)
        lines = readme.troubleshooting_lines()
        for message in messages:
            with self.subTest(message):
                self.assertEqual(readme.unquoted(message, lines), [])


if __name__ == "__main__":
    unittest.main()
