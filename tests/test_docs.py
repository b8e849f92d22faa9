"""The README and docs/ hold real output: every generated block must match what the tool prints.

A block is a begin line `<!-- lstm-shapes ARGS -->`, a blank line, the output of `lstm-shapes ARGS`
(Markdown by default; other formats inside a fenced code block), a blank line and an end line
`<!-- /lstm-shapes -->`.
Refresh them with `python -m pytest tests/test_docs.py --update-goldens`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from lstm_shapes.cli import main_command

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^<!-- lstm-shapes (?P<args>.*?) -->\n(?P<body>.*?)^<!-- /lstm-shapes -->$", re.MULTILINE | re.DOTALL)
FENCE = {"text": "text", "json": "json", "csv": "csv"}


def expected(args: str) -> str:
    argv = shlex.split(args)
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "markdown"
    if "--format" not in argv:
        argv += ["--format", "markdown"]
    result = CliRunner().invoke(main_command, argv)
    assert result.exit_code == 0, result.output
    out = result.stdout
    return out if fmt == "markdown" else f"```{FENCE[fmt]}\n{out}```\n"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_generated_blocks_are_current(page: Path, update_goldens: bool) -> None:
    text = page.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    if page.name == "README.md":
        assert blocks, "the README shows real output"
    # Blank lines around the output keep prettier and mdformat from changing the page.
    fresh = BLOCK.sub(lambda m: f"<!-- lstm-shapes {m['args']} -->\n\n{expected(m['args'])}\n<!-- /lstm-shapes -->", text)
    if update_goldens and text != fresh:
        page.write_text(fresh, encoding="utf-8")
        text = fresh
    assert text == fresh, f"{page.name} has stale generated output; run: python -m pytest tests/test_docs.py --update-goldens"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install -e ".[test]" && python -m pytest'
    assert command in readme
    assert command in ci
