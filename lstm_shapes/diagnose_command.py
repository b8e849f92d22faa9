"""`lstm-shapes diagnose [TEXT]`: explain pasted recurrent-layer shape errors (the text, or stdin).

Exit codes as command.py documents them: 0 when at least one error is recognised (parts that are not
get a `not recognised` line each, in place), 2 when nothing is (or the text cannot be read), 3 when
the output cannot be written.
"""

from __future__ import annotations

import json
import sys

import click

from .command import Command, emit
from .errors import LstmShapesError

MAX_TEXT = 1_000_000  # characters: a pasted log, not a file to explain whole


class NotRecognised(LstmShapesError):
    """No part of the text is an error diagnose knows."""


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
               epilog="""\b
Examples:
  lstm-shapes diagnose "input.size(-1) must be equal to input_size. Expected 768, got 1024"
  python train.py 2>&1 | lstm-shapes diagnose
  lstm-shapes diagnose --format json < error.txt""")
@click.argument("text", nargs=-1)
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True,
              help="Output format: text, or json (a list of findings).")
def diagnose_command(text: tuple[str, ...], fmt: str) -> None:
    """Explain PyTorch's and Keras' recurrent-layer shape errors: what the shapes mean, the setting that differs, the fix.

    TEXT is the error message (several pasted at once are each explained, in order); without TEXT, or
    with -, the message is read from standard input. Exit 0 when at least one error is recognised, 2
    when none is.
    """
    from .diagnose import diagnose, lines

    given = " ".join(text) if text and text != ("-",) else _stdin()
    results = diagnose(given)
    if not any(result.recognised for result in results):
        first = next((result.message for result in results), "").strip()
        shown = first if len(first) <= 80 else first[:79] + "…"
        raise NotRecognised(f"not recognised: {shown!r}" if shown else "not recognised: the text is empty")
    if fmt == "json":
        emit(json.dumps([_json(result) for result in results], indent=2, ensure_ascii=False) + "\n")
    else:
        emit("\n".join(lines(results)) + "\n")


def _stdin() -> str:
    if sys.stdin is None:
        raise click.UsageError("no TEXT given and standard input is closed")
    data = sys.stdin.buffer.read(MAX_TEXT * 4 + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    text = data.decode("utf-8", errors="replace")
    if len(text) > MAX_TEXT:
        raise click.UsageError(f"the text is longer than {MAX_TEXT:,} characters; paste the error itself")
    return text


def _json(result: object) -> dict[str, object]:
    from .diagnose import Finding

    if not isinstance(result, Finding):
        return {"recognised": False, "message": getattr(result, "message", "")}
    return {
        "recognised": True,
        "source": result.source,
        "message": result.message,
        "meaning": list(result.meaning),
        "differences": [{"setting": d.setting, "name": d.name, "values": dict(d.values)} for d in result.differences],
        "fix": list(result.fix),
    }
