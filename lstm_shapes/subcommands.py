"""The commands besides the main one, `lstm-shapes docs check|update` and `lstm-shapes fit`, and a marker's output.

Kept apart from command.py so that the main command, which is what most runs are, does not pay for
defining them; cli.py, above both, picks the command.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import click

from .command import (Command, Group, Size, config_options, emit, main_command, message_of, model_options,
                      render_plain)
from .config import MAX_SIZE
from .errors import LstmShapesError
from .fit import MAX_BUDGET
from .render import FIT_FORMATS, FORMATS, render

if TYPE_CHECKING:
    from .quickparse import QuickParser


@click.group(cls=Group, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.pass_context
def docs_group(ctx: click.Context) -> None:
    """Keep the tables pasted into Markdown files true: check them in CI, refresh them in place.

    A block is a begin line <!-- lstm-shapes OPTIONS -->, the output of `lstm-shapes OPTIONS`
    (Markdown unless --format says otherwise) and an end line <!-- /lstm-shapes -->. Markers
    inside code blocks are examples and are left alone. Nothing in a document is ever executed.
    """
    if ctx.invoked_subcommand is None:
        # A usage error, but the whole usage is the useful answer, not one squeezed line.
        click.echo(ctx.get_help(), err=True)
        ctx.exit(2)


PATHS = click.argument("paths", nargs=-1, type=click.Path(dir_okay=True, file_okay=True))


def count(number: int, noun: str) -> str:
    """`1 block`, `2 blocks`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def skipped(message: str) -> None:
    click.echo(f"lstm-shapes: {message}", err=True)


@docs_group.command("check", cls=Command)
@PATHS
@click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
              help="Processes that share the files (1: this one only). By default one per CPU, up to a few, "
                   "when there is enough Markdown to gain from it.")
def docs_check(paths: tuple[str, ...], jobs: int | None) -> None:
    """Exit 1, with a diff of each, if any block differs from what the tool prints; never writes.

    PATHS are files, or directories searched for *.md files. Exit 0 when all blocks are current
    (or no file is given), 1 when any is stale, 2 when a marker or a file is bad.
    """
    from .docs import check

    stale, blocks, files = check(paths, render_marker, skipped, workers=jobs)
    for block in stale:
        click.echo(f"{block.path}:{block.line}: stale block (lstm-shapes {block.args})")
        click.echo(block.diff(), nl=False)
    if stale:
        names = sorted({block.path for block in stale})
        click.echo(
            f"{len(stale)} of {count(blocks, 'block')} {'is' if len(stale) == 1 else 'are'} stale; "
            f"to refresh {'it' if len(stale) == 1 else 'them'} run: lstm-shapes docs update "
            + " ".join(shlex_quote(f) for f in names),
            err=True,
        )
        click.get_current_context().exit(1)
    verb = "is" if blocks == 1 else "are"
    click.echo(f"{count(blocks, 'block')} in {count(files, 'file')} {verb} current", err=True)


@docs_group.command("update", cls=Command)
@PATHS
def docs_update(paths: tuple[str, ...]) -> None:
    """Rewrite stale blocks in place with what the tool prints; files already current are not touched.

    All or nothing: every file is read, rendered and checked (a regular file, writable, in a writable
    folder, its owner and group kept) before any is written, and a file edited meanwhile is left
    alone; on any problem no file is written (exit 2). Writes are atomic (a temporary file, then a
    rename) and keep each file's owner, group, mode, line endings and byte-order mark; a symbolic
    link is updated at its target.
    """
    from .docs import process, write_all

    results = process(paths, render_marker, skipped)
    changed = write_all(results)
    for result in changed:
        for block in result.blocks:
            if block.stale:
                click.echo(f"{block.path}:{block.line}: updated (lstm-shapes {block.args})")
    blocks = sum(len(result.blocks) for result in results)
    stale = sum(block.stale for result in changed for block in result.blocks)
    click.echo(f"{stale} of {count(blocks, 'block')} updated, in {len(changed)} of {count(len(results), 'file')}",
               err=True)


def render_fit_marker(args: list[str]) -> str:
    """What `lstm-shapes fit ARGS` prints, for a block in a document (Markdown unless --format says)."""
    params = dict(fit_command.make_context("lstm-shapes fit", list(args)).params)
    budget = params.pop("budget")
    fmt = params.pop("fmt") if any(a in ("--format", "-f") or a.startswith("--format=") for a in args) else "markdown"
    return fit_output(budget, fmt, params)


def fit_output(budget: int, fmt: str, params: dict[str, Any]) -> str:
    """The best hidden size for `budget` under the command's other options, in format `fmt`."""
    from .fit import fit

    pattern = params.pop("hidden_pattern", None)
    options = config_options(params)
    del options["hidden"]
    return render(fit(budget, pattern, **options), fmt)


class HiddenPattern(Size):
    """Fit's --hidden: sizes to keep and H where the search goes, one per layer (`128,H`)."""

    name = "SIZES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        parts = str(value).split(",")
        pattern: list[int | None] = []
        for part in parts:
            if part in ("H", "h"):
                pattern.append(None)
            elif part.isascii() and part.isdigit() and 1 <= int(part) <= MAX_SIZE:
                pattern.append(int(part))
            else:
                pattern = []
                break
        if not pattern or None not in pattern:
            self.fail(f"--hidden must be sizes from 1 to {MAX_SIZE:,} and H where fit searches, one per layer "
                      f"apart by commas (e.g. 128,H), got {str(value)!r}", param, ctx)
        return tuple(pattern)


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
               epilog="""\b
Examples:
  lstm-shapes fit --params 1000000 --input 128
  lstm-shapes fit --params 1000000 --input 128 --framework pytorch --layers 2 --bidirectional
  lstm-shapes fit --params 50000 --input 40 --cell gru --out 10 --format json
  lstm-shapes fit --params 200000 --input 40 --hidden 128,H --out 10""")
@click.option("--params", "budget", type=Size(MAX_BUDGET), required=True,
              help=f"The parameter budget: a whole number from 1 to {MAX_BUDGET:,}.")
@model_options(fit=True)
@click.option("--hidden", "hidden_pattern", type=HiddenPattern(), default=None,
              help="Layers of their own sizes: a size to keep per layer, and H where fit searches "
                   "(128,H: the largest second layer beside a first of 128). Default: H for every layer.")
@click.option("--format", "-f", "fmt", type=click.Choice(FIT_FORMATS), default="text",
              show_default=True, help="Output format.")
def fit_command(budget: int, fmt: str, **params: Any) -> None:
    """Find the hidden size whose parameter count fits a budget best, for any framework, cell and variant.

    Shows the largest hidden size within the budget and the smallest one over it, with their counts.
    """
    emit(fit_output(budget, fmt, params))


# Options a marker in a document may not use: they print something else or nothing at all.
NOT_IN_DOCS = ("--verify", "--help", "-h", "--version", "-V")


def render_marker(args: list[str]) -> str:
    """What `lstm-shapes ARGS` prints, for a block in a document (Markdown unless --format says).

    Raises ValueError with the same one-line message the command line would give.
    """
    try:
        return _render_marker(args)
    except (click.UsageError, LstmShapesError) as exc:
        raise ValueError(message_of(exc)) from None


@functools.lru_cache(maxsize=1)
def marker_parser() -> QuickParser:
    """The main command's options as a quick parser, made once, when the first marker needs it."""
    from .quickparse import QuickParser

    return QuickParser(main_command)


def _render_marker(args: list[str]) -> str:
    for arg in args:
        if arg in NOT_IN_DOCS:
            raise click.UsageError(f"{arg} is not allowed in a document's marker")
    if args[:1] == ["trace"]:
        args = args[1:]
    if args[:1] == ["fit"]:
        return render_fit_marker(args[1:])
    params = marker_parser().parse(args)
    if params is None:  # not the plain form the quick parser knows: click decides, and words any error
        params = dict(main_command.make_context("lstm-shapes", list(args)).params)
    fmt = params.pop("fmt") or "markdown"
    if fmt == "table":
        raise click.UsageError("--format table is for terminals; a document takes " + ", ".join(FORMATS))
    text, _ = render_plain(params, fmt)
    return text
