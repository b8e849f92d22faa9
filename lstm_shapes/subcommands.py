"""The commands besides the main one: `lstm-shapes docs check|update` and `lstm-shapes fit`.

Kept apart from cli.py so that the main command, which is what most runs are, does not pay for
defining them.
"""

from __future__ import annotations

from typing import Any

import click

from .cli import Command, Group, Size, config_options, model_options, render_marker

@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def docs_group() -> None:
    """Keep the tables pasted into Markdown files true: check them in CI, refresh them in place.

    A block is a begin line <!-- lstm-shapes OPTIONS -->, the output of `lstm-shapes OPTIONS`
    (Markdown unless --format says otherwise) and an end line <!-- /lstm-shapes -->. Markers
    inside code blocks are examples and are left alone. Nothing in a document is ever executed.
    """


PATHS = click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, file_okay=True))


@docs_group.command("check", cls=Command)
@PATHS
def docs_check(paths: tuple[str, ...]) -> None:
    """Exit 1, with a diff of each, if any block differs from what the tool prints; never writes.

    PATHS are files, or directories searched for *.md files. Exit 0 when all blocks are current
    (or no file is given), 1 when any is stale, 2 when a marker or a file is bad.
    """
    from .docs import check

    stale, count, files = check(paths, render_marker)
    for block in stale:
        click.echo(f"{block.path}:{block.line}: stale block (lstm-shapes {block.args})")
        click.echo(block.diff(), nl=False)
    if stale:
        files = sorted({block.path for block in stale})
        click.echo(
            f"{len(stale)} of {count} blocks are stale; to refresh them run: lstm-shapes docs update "
            + " ".join(shlex_quote(f) for f in files),
            err=True,
        )
        click.get_current_context().exit(1)
    click.echo(f"{count} blocks in {files} files are current", err=True)


@docs_group.command("update", cls=Command)
@PATHS
def docs_update(paths: tuple[str, ...]) -> None:
    """Rewrite stale blocks in place with what the tool prints; files already current are not touched.

    Writes are atomic (a temporary file, then a rename) and keep each file's mode, line endings and
    byte-order mark. A bad marker in any file stops the run before any file is written (exit 2).
    """
    from .docs import process, write_atomic

    results = process(paths, render_marker)
    changed = [result for result in results if result.changed]
    for result in changed:
        write_atomic(result.path, result.updated)
        for block in result.blocks:
            if block.stale:
                click.echo(f"{block.path}:{block.line}: updated (lstm-shapes {block.args})")
    blocks = sum(len(result.blocks) for result in results)
    click.echo(f"{len(changed)} of {len(results)} files updated; {blocks} blocks in all", err=True)


def render_fit_marker(args: list[str]) -> str:
    from .fit import fit
    from .render.sizing import render_fit

    ctx = fit_command.make_context("lstm-shapes fit", list(args))
    params = dict(ctx.params)
    budget = params.pop("budget")
    fmt = params.pop("fmt") if any(a in ("--format", "-f") or a.startswith("--format=") for a in args) else "markdown"
    if params["framework"] == "all":
        raise click.UsageError("fit sizes one framework at a time; pick one with --framework")
    options = config_options({**params, "hidden": 1})
    del options["hidden"]
    return render_fit(fit(budget, **options), fmt)


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
               epilog="""\b
Examples:
  lstm-shapes fit --params 1000000 --input 128
  lstm-shapes fit --params 1000000 --input 128 --framework pytorch --layers 2 --bidirectional
  lstm-shapes fit --params 50000 --input 40 --cell gru --out 10 --format json""")
@click.option("--params", "budget", type=Size(10**15), required=True, help="The parameter budget.")
@model_options(hidden=False)
@click.option("--format", "-f", "fmt", type=click.Choice(("text", "markdown", "csv", "json")), default="text",
              show_default=True, help="Output format.")
def fit_command(budget: int, fmt: str, **params: Any) -> None:
    """Find the hidden size whose parameter count fits a budget best, for any framework, cell and variant.

    Shows the largest hidden size within the budget and the smallest one over it, with their counts.
    """
    from .fit import fit
    from .render.sizing import render_fit

    if params["framework"] == "all":
        raise click.UsageError("fit sizes one framework at a time; pick one with --framework")
    options = config_options({**params, "hidden": 1})
    del options["hidden"]
    click.echo(render_fit(fit(budget, **options), fmt), nl=False)
