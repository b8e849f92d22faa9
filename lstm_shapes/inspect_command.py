"""`lstm-shapes inspect PATH...`: the recurrent layers in model files, read from their headers, nothing run."""

from __future__ import annotations

from typing import Any

import click

from .command import Command, emit
from .inspection import inspect_path

FORMATS = ("text", "markdown", "json")


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
               epilog="""\b
Examples:
  lstm-shapes inspect model.pt
  lstm-shapes inspect weights.npz --format json
  lstm-shapes inspect model.keras --layer encoder/""")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--layer", metavar="PREFIX", help="Only the recurrent layer at this prefix (as the output names it).")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")
def inspect_command(paths: tuple[str, ...], layer: str | None, fmt: str) -> None:
    """Find the recurrent layers in model files and say what each is, in every framework's terms.

    Reads tensor names and shapes from the files' headers (PyTorch, safetensors, NumPy, Keras, ONNX, Flax) without
    a framework and without running anything stored in them. Exit 0 when read, 2 when a file cannot be read.
    """
    from .render.inspection import inspection_json, inspection_text

    results = [inspect_path(path, layer) for path in paths]  # every file read before anything is printed
    if fmt == "json":
        emit(inspection_json(results))
    else:
        emit("\n".join(inspection_text(result, fmt) for result in results))
