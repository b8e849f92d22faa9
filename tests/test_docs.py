"""The README and docs/ hold real output: every generated block must match what the tool prints.

Refresh them with `lstm-shapes docs update README.md docs` (or this test with --update-goldens).
"""

from __future__ import annotations

from pathlib import Path

from lstm_shapes.subcommands import render_marker
from lstm_shapes.docs import process, write_atomic

ROOT = Path(__file__).parent.parent


def test_generated_blocks_in_readme_and_docs_are_current(update_goldens: bool) -> None:
    results = process([str(ROOT / "README.md"), str(ROOT / "docs")], render_marker)
    assert any(r.path.name == "README.md" and r.blocks for r in results), "the README shows real output"
    if update_goldens:
        for result in results:
            if result.changed:
                write_atomic(result.path, result.updated)
        return
    stale = [f"{b.path}:{b.line}" for r in results for b in r.blocks if b.stale]
    assert not stale, f"stale generated blocks {stale}; run: lstm-shapes docs update README.md docs"


def test_ci_runs_the_readme_test_command_and_checks_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install -e ".[test,files]" && python -m pytest'
    assert command in readme
    assert command in ci
    assert "lstm-shapes docs check README.md docs" in ci
