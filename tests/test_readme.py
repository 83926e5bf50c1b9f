"""README.md and docs/ cannot drift: their code, diffs and outputs are the real
files and the real runs, the messages they quote are ones the programs print,
and the tutorial keeps within its budgets."""

import re
import unittest
from pathlib import Path

import readme
from support import ROOT, nginx_path

WORDS = 7000  # the whole README
WORDS_TO_MUTUAL_TLS = 3000  # from the top to the first mutual-TLS "Hello, world!"
FIRST_LINES = 60  # where the handshake drawing and "mTLS in a nutshell" must stand
DIFF_LINES = 30  # lines changed by a diff between two steps
BLOCK_LINES = 60  # lines of any code block


def code_blocks(text):
    """(language, body) of every fenced block."""
    return re.findall(r"(?ms)^```(\w*)\n(.*?)^```\n", text)


class ReadmeTest(unittest.TestCase):
    def test_every_block_matches_its_source(self):
        for page in readme.PAGES:
            with self.subTest(page.name):
                found = readme.problems(page.read_text())
                self.assertEqual(found, [], "stale blocks (python3 tests/readme.py --write updates them):\n"
                                 + "\n".join(marker + "\n" + difference for marker, difference in found))

    def test_every_block_is_tied_to_a_source(self):
        # Only drawings and commands the tests cannot run (```text) may stand alone.
        for page in readme.PAGES:
            with self.subTest(page.name):
                text = page.read_text()
                fences = [language for language, body in code_blocks(text) if language != "text"]
                self.assertEqual(len(fences), len(list(readme.MARKER.finditer(text))),
                                 "a code block without a <!-- check: ... --> comment")
        self.assertGreater(len(list(readme.MARKER.finditer(readme.README.read_text()))), 20)

    def test_the_nginx_transcripts_are_checked(self):
        # Without nginx, test_every_block_matches_its_source cannot check them: this says so.
        if not nginx_path():
            self.skipTest("nginx is not installed: the nginx transcripts of docs/production.md are not checked")
        shown = (ROOT / "docs" / "production.md").read_text()
        for name in readme.NGINX_OUTPUTS:
            self.assertIn(name, readme.outputs())
            self.assertIn(f"<!-- check: output {name} -->", shown)

    def test_every_step_program_is_shown_or_diffed(self):
        shown = " ".join(match.group(2) for match in readme.MARKER.finditer(readme.README.read_text()))
        for path in sorted(ROOT.glob("steps/*/*.py")):
            self.assertIn(str(path.relative_to(ROOT)), shown)

    def test_every_link_has_its_heading_or_file(self):
        for page in readme.PAGES:
            with self.subTest(page.name):
                text = page.read_text()
                headings = re.findall(r"(?m)^#+ (.+)$", re.sub(r"(?ms)^```.*?^```", "", text))
                # GitHub's anchors: lower case, punctuation dropped except - and _, spaces as hyphens.
                anchors = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
                links = re.findall(r"\]\(([^)]+)\)", text)
                self.assertEqual(sorted({link[1:] for link in links if link.startswith("#")} - anchors), [])
                for link in links:
                    if not link.startswith(("#", "http")):
                        self.assertTrue((page.parent / link.split("#")[0]).exists(), link)

    def test_every_test_it_names_exists(self):
        import importlib
        for page in readme.PAGES:
            names = set(re.findall(r"`(test_\w+(?:\.\w+)*)`", page.read_text()))
            for name in sorted(names):
                with self.subTest(name):
                    module, *attributes = name.split(".")
                    target = importlib.import_module(module)
                    for attribute in attributes:
                        target = getattr(target, attribute)
        self.assertGreater(len(set(re.findall(r"`(test_\w+(?:\.\w+)*)`", readme.README.read_text()))), 10)

    def test_troubleshooting_quotes_real_messages(self):
        messages = readme.troubleshooting_messages(readme.README.read_text())
        self.assertGreaterEqual(len(messages), 15)
        lines = readme.troubleshooting_lines()
        for message in messages:
            with self.subTest(message):
                self.assertEqual(readme.unquoted(message, lines), [])


class BudgetTest(unittest.TestCase):
    """A reader learns mutual TLS in one sitting: the lesson comes first and stays short."""

    text = readme.README.read_text()

    def test_the_readme_is_short(self):
        self.assertLessEqual(len(self.text.split()), WORDS)
        first_hello = self.text.index("<!-- check: output step4-client -->")
        self.assertLessEqual(len(self.text[:first_hello].split()), WORDS_TO_MUTUAL_TLS)

    def test_the_lesson_comes_first(self):
        top = "\n".join(self.text.splitlines()[:FIRST_LINES])
        self.assertIn("CertificateRequest", top)  # the handshake drawing
        self.assertIn("mTLS in a nutshell", top)
        self.assertIn("<!-- check: lines steps/4-mutual-tls/server.py -->", top)
        self.assertIn("<!-- check: lines steps/4-mutual-tls/client.py -->", top)

    def test_diffs_between_steps_are_small_and_no_block_is_long(self):
        for page in readme.PAGES:
            for language, body in code_blocks(page.read_text()):
                with self.subTest(page=page.name, block=body.splitlines()[0][:60]):
                    self.assertLessEqual(len(body.splitlines()), BLOCK_LINES)
                    if language == "diff":
                        changed = [line for line in body.splitlines()
                                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
                        self.assertLessEqual(len(changed), DIFF_LINES)


if __name__ == "__main__":
    unittest.main()
