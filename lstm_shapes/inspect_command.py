"""`lstm-shapes inspect PATH...`: the recurrent layers in model files, read from their headers, nothing run."""

from __future__ import annotations

from typing import Any

import click

from .command import Command, emit, given_options, model_options
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
@model_options(optional=True)
@click.pass_context
def inspect_command(ctx: click.Context, paths: tuple[str, ...], layer: str | None, fmt: str, **params: Any) -> None:
    """Find the recurrent layers in model files and say what each is, in every framework's terms.

    Reads tensor names and shapes from the files' headers (PyTorch, safetensors, NumPy, Keras, ONNX, Flax) without
    a framework and without running anything stored in them. With model options (--input 5 --hidden 256 ...)
    each layer is checked against them: every difference in words, and exit 1. Exit 0 when read (and as meant),
    2 when a file cannot be read.
    """
    from .inspection import compare
    from .render.inspection import inspection_json, inspection_text

    wanted = given_options(ctx, params)
    results = [inspect_path(path, layer) for path in paths]  # every file read before anything is printed
    differences = {(r.source, found.prefix): compare(found, wanted) for r in results for found in r.layers} if wanted else {}
    if fmt == "json":
        emit(inspection_json(results, differences if wanted else None))
    else:
        emit("\n".join(inspection_text(result, fmt, differences if wanted else None) for result in results))
    if any(differences.values()):
        ctx.exit(1)
