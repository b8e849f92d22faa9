"""`lstm-shapes inspect PATH...`: the recurrent layers in model files, read from their headers, nothing run."""

from __future__ import annotations

import sys
from typing import Any

import click

from .command import Command, emit, given_options, model_options, writing
from .inspection import inspect_path
from .render import FORMATS, PICTURES


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
               epilog="""\b
Examples:
  lstm-shapes inspect model.pt
  lstm-shapes inspect weights.npz --format json
  lstm-shapes inspect model.keras --layer encoder/
  lstm-shapes inspect model.pt --format dot | dot -Tsvg > layers.svg""")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--layer", metavar="PREFIX", help="Only the recurrent layer at this prefix (as the output names it).")
@click.option("--format", "-f", "fmt", type=click.Choice(("table", *FORMATS)), default=None,
              help=f"Output format. Default: table in a terminal, text otherwise. {', '.join(PICTURES[:-1])} and "
                   f"{PICTURES[-1]} draw each layer's cell.")
@click.option("--explain", is_flag=True, help="Add every node's equation to each layer's trace.")
@click.option("--cost", "show_cost", is_flag=True, help="Add MACs, element-wise work and memory to each layer's trace.")
@model_options(optional=True)
@click.pass_context
def inspect_command(ctx: click.Context, paths: tuple[str, ...], layer: str | None, fmt: str | None, explain: bool,
                    show_cost: bool, **params: Any) -> None:
    """Find the recurrent layers in model files and say what each is, in every framework's terms.

    Reads tensor names and shapes from the files' headers (PyTorch, safetensors, NumPy, Keras, ONNX, Flax) without
    a framework and without running anything stored in them. With model options (--input 5 --hidden 256 ...)
    each layer is checked against them: every difference in words, and exit 1. Exit 0 when read (and as meant),
    2 when a file cannot be read.
    """
    from .inspection import compare

    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "text"
    if fmt in PICTURES and (explain or show_cost):
        raise click.UsageError(f"--format {fmt} draws each layer's graph; --explain and --cost go with the table formats")
    wanted = given_options(ctx, params)
    results = [inspect_path(path, layer) for path in paths]  # every file read before anything is printed
    differences = {(r.source, found.prefix): compare(found, wanted) for r in results for found in r.layers} if wanted else {}
    said = differences if wanted else None
    if fmt == "table":
        from .terminal import print_inspections

        with writing():
            print_inspections(results, said, explain, show_cost)
    else:
        from .render.inspection import render_inspections

        emit(render_inspections(results, fmt, said, explain, show_cost))  # rendered whole before anything is written
    if any(differences.values()):
        ctx.exit(1)
