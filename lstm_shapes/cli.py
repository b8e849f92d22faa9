"""The command line: parses options, picks the output, maps errors to exit codes.

Exit codes: 0 ok, 1 a check failed (--verify found a mismatch), 2 bad usage or input.
Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .config import CELLS, DTYPES, FRAMEWORKS, HEAD_ACTIVATIONS, HEAD_READS, MAX_LAYERS, MAX_SIZE, SIZE_RANGE, Config, check_size
from .errors import ConfigError, LstmShapesError
from .render import FORMATS, PICTURES
from .report import Report, build

if TYPE_CHECKING:
    from .quickparse import QuickParser

EXAMPLES = """\b
Examples:
  lstm-shapes --input 4 --hidden 2 --out 1
  lstm-shapes --input 5 --hidden 256 --out 10 --format markdown
  lstm-shapes --input 4 --hidden 2 --out 1 --framework pytorch
  lstm-shapes --input 4 --hidden 2 --out 1 --framework all
  lstm-shapes --input 4 --hidden 3 --framework pytorch --layers 2 --bidirectional --proj 2
  lstm-shapes --input 4 --hidden 2 --cell gru --no-reset-after --batch 8 --seq-len 5
  lstm-shapes --input 4 --hidden 2 --format json | jq .total_params
  lstm-shapes --input 4 --hidden 2 --out 1 --verify

\b
Documents: lstm-shapes docs check|update PATH... keeps pasted tables true
(see lstm-shapes docs --help). Sizing: lstm-shapes fit --params N --input X
finds the hidden size that fits a parameter budget.

\b
Formats: table (rich, the default in a terminal), text (the default when
piped), markdown, csv, json. Exit codes: 0 ok, 1 --verify found a mismatch,
2 bad input or a combination the framework does not have.
"""


class Size(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A size or count: a whole number in the allowed range."""

    name = "N"

    def __init__(self, limit: int = MAX_SIZE) -> None:
        self.limit = limit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        option = param.opts[0] if param is not None else "size"
        if isinstance(value, int):
            number: object = value
        else:
            text = str(value).strip().replace("_", "")
            number = int(text) if text.lstrip("+-").isdigit() else value
        field = param.name if param is not None and param.name else "size"
        try:
            checked = check_size("out" if field == "out" else field, number, limit=self.limit)
        except ConfigError as exc:
            self.fail(exc.describe(option), param, ctx)
        assert checked is not None
        return checked


# The command-line spelling of each Config field, for messages about combinations.
OPTION_NAMES = {"input": "--input", "bias": "--no-bias", "seq_len": "--seq-len", "head_bias": "--no-head-bias"}


def option_name(exc: ConfigError) -> str:
    if exc.field == "reset_after":
        return "--reset-after" if exc.value else "--no-reset-after"
    if exc.field == "batch_first":
        return "--batch-first" if exc.value else "--time-major"
    return OPTION_NAMES.get(exc.field, "--" + exc.field.replace("_", "-"))


def message_of(exc: Exception) -> str:
    """The one-line message for an error from parsing or building a configuration."""
    if isinstance(exc, click.MissingParameter):
        name = exc.param.opts[0] if exc.param is not None else "an option"
        return f"{name} is required: {SIZE_RANGE}"
    if isinstance(exc, click.BadParameter):
        # Our own messages name the option already; click's own say which one.
        own = exc.param is not None and isinstance(exc.param.type, Size)
        return exc.message if own else exc.format_message()
    if isinstance(exc, click.UsageError):
        return exc.format_message()
    if isinstance(exc, ConfigError):
        return exc.describe(option_name(exc))
    return str(exc)


class OneLineErrors:
    """Mixed into a click command or group: errors are a single line on stderr, with click's exit codes."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            # Without standalone mode click returns ctx.exit()'s code instead of exiting.
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)  # type: ignore[misc]
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except (click.UsageError, LstmShapesError) as exc:
            # A docs run reports every bad marker it found, each on its own line.
            for error in getattr(exc, "errors", None) or [exc]:
                code = fail(message_of(error))
        except click.Abort:
            code = fail("aborted", 130)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`); nothing left to say to it.
            sys.stderr.close()
            code = 0
        if not standalone_mode:
            return code
        sys.exit(code)


class Command(OneLineErrors, click.Command):
    pass


class Group(OneLineErrors, click.Group):
    pass


def fail(message: str, code: int = 2) -> int:
    click.echo(f"lstm-shapes: error: {' '.join(message.split())}", err=True)
    return code


F = TypeVar("F", bound=Callable[..., Any])


def model_options(hidden: bool = True) -> Callable[[F], F]:
    """The options that describe a model, shared by the main command and `fit`."""
    options = [
        click.option("--input", "input_size", type=Size(), required=True, help="Input features per time step (x)."),
        click.option("--out", type=Size(), default=None, help="Outputs of a dense head after h_t (o); none if left out."),
        click.option(
            "--framework",
            type=click.Choice((*FRAMEWORKS, "all")),
            default="keras",
            show_default=True,
            help="Whose names, layouts and gate order; 'all' compares them side by side.",
        ),
        click.option("--cell", type=click.Choice(CELLS), default="lstm", show_default=True, help="The recurrent cell."),
        click.option("--proj", type=Size(), default=None, help="LSTM projection: h_t has P < h units (pytorch, tf1)."),
        click.option("--peepholes", is_flag=True, help="LSTM peephole connections (tf1, onnx)."),
        click.option("--layers", type=Size(MAX_LAYERS), default=1, show_default=True, help="Stacked recurrent layers."),
        click.option("--bidirectional", is_flag=True, help="A backward direction beside the forward one."),
        click.option("--no-bias", "no_bias", is_flag=True, help="Cells without biases (keras, pytorch, onnx)."),
        click.option("--batch", type=Size(), default=None, help="Batch size (symbolic B if left out)."),
        click.option("--seq-len", type=Size(), default=None, help="Sequence length (symbolic T if left out)."),
        click.option(
            "--reset-after/--no-reset-after",
            default=None,
            help="GRU: apply the reset gate after the recurrent product (Keras reset_after, ONNX linear_before_reset=1).",
        ),
        click.option(
            "--batch-first/--time-major",
            default=None,
            help="Input layout where the framework lets you choose (pytorch batch_first, tf1 time_major, onnx layout).",
        ),
        click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
                     help="Element type, for the memory figures."),
        click.option("--head-activation", type=click.Choice(HEAD_ACTIVATIONS), default=None,
                     help="The head's activation. Default: softmax for two or more outputs, none for one."),
        click.option("--no-head-bias", "no_head_bias", is_flag=True, help="A dense head without biases."),
        click.option("--head-reads", type=click.Choice(HEAD_READS), default=None,
                     help="What the head reads: the last step's output, or each direction's final state "
                          "(they differ when bidirectional). Default: final-states for keras, last-step elsewhere."),
    ]
    if hidden:
        options.insert(1, click.option("--hidden", type=Size(), required=True,
                                       help="Hidden units of the cell (h): every gate and c_t."))

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@click.command(
    cls=Command,
    epilog=EXAMPLES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@model_options()
@click.option("--explain", is_flag=True, help="Add every node's equation with the shape of each operand.")
@click.option("--cost", "show_cost", is_flag=True, help="Add MACs, element-wise work and memory, with formulas.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(("table", *FORMATS)),
    default=None,
    help="Output format. Default: table in a terminal, text otherwise. mermaid, dot and graph draw the cell.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Also run a numpy forward pass over the traced shapes and check them (report on stderr; exit 1 on a mismatch).",
)
@click.version_option(__version__, "--version", "-V", prog_name="lstm-shapes", message="%(prog)s %(version)s")
def main_command(
    input_size: int, hidden: int, out: int | None, framework: str, cell: str, proj: int | None, peepholes: bool,
    layers: int, bidirectional: bool, no_bias: bool, batch: int | None, seq_len: int | None,
    reset_after: bool | None, batch_first: bool | None, dtype: str, head_activation: str | None,
    no_head_bias: bool, head_reads: str | None, explain: bool, show_cost: bool, fmt: str | None, verify: bool,
) -> None:
    """Trace one recurrent time step: the shape of every node, every weight tensor, and the parameter count with its formula.

    The default is an LSTM in Keras 3 / TF2's convention: kernel (x, 4h), recurrent_kernel (h, 4h),
    one bias per gate. --framework picks PyTorch, TF1 or ONNX instead, with their own names, layouts
    and gate orders.
    """
    params = dict(
        input_size=input_size, hidden=hidden, out=out, framework=framework, cell=cell, proj=proj,
        peepholes=peepholes, layers=layers, bidirectional=bidirectional, no_bias=no_bias, batch=batch,
        seq_len=seq_len, reset_after=reset_after, batch_first=batch_first, dtype=dtype,
        head_activation=head_activation, no_head_bias=no_head_bias, head_reads=head_reads, explain=explain,
        show_cost=show_cost,
    )
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "text"
    if verify and framework == "all":
        raise click.UsageError("--verify checks one framework at a time; pick one with --framework")
    report: Report | None
    if fmt == "table" and framework != "all":
        report = build(Config(**config_options(params)), explain=explain, show_cost=show_cost)
        if verify:
            verify_memory(report)
        from .terminal import print_report

        print_report(report)
    else:
        # The terminal view of a comparison is its plain text: one table, no need for rich.
        text, report = render_plain(params, "text" if fmt == "table" else fmt, before=verify_memory if verify else None)
        click.echo(text, nl=False)
    if verify and report is not None:
        from .verify import verify as run_verify

        result = run_verify(report)
        click.echo("\n".join(result.lines()), err=True)
        if result.mismatches:
            click.get_current_context().exit(1)


def config_options(params: dict[str, Any]) -> dict[str, Any]:
    """Config's keyword arguments from the command's parsed options."""
    return dict(
        input=params["input_size"], hidden=params["hidden"], out=params["out"], framework=params["framework"],
        cell=params["cell"], proj=params["proj"], peepholes=params["peepholes"], layers=params["layers"],
        bidirectional=params["bidirectional"], bias=not params["no_bias"], batch=params["batch"],
        seq_len=params["seq_len"], reset_after=params["reset_after"], batch_first=params["batch_first"],
        dtype=params["dtype"], head_activation=params["head_activation"], head_bias=not params["no_head_bias"],
        head_reads=params["head_reads"],
    )


def render_plain(params: dict[str, Any], fmt: str, before: Any = None) -> tuple[str, Report | None]:
    """What the command prints for `params` in a plain format, whole, and the report if there is one."""
    options = config_options(params)
    if options["framework"] == "all":
        from .compare import compare
        from .render import render_comparison

        del options["framework"]
        if fmt in PICTURES:
            raise click.UsageError(f"--framework all compares tables; --format {fmt} draws one framework's graph")
        comparison = compare(name_of=option_name, **options)
        if not any(entry.report for entry in comparison.entries):
            errors = list(dict.fromkeys(str(e.error) for e in comparison.entries))
            raise click.UsageError(errors[0] if len(errors) == 1 else "no framework has this combination: " + "; ".join(errors))
        return render_comparison(comparison, fmt), None
    if fmt in PICTURES and (params.get("explain") or params.get("show_cost")):
        raise click.UsageError(f"--format {fmt} draws the graph; --explain and --cost go with the table formats")
    report = build(Config(**options), explain=bool(params.get("explain")), show_cost=bool(params.get("show_cost")))
    if before is not None:
        before(report)
    # Rendered whole before anything is written: a failure never leaves half an output.
    return report.render(fmt), report


def verify_memory(report: Report) -> None:
    """Refuse a --verify that would need too much memory, before anything is printed."""
    from .verify import check_memory, sizes

    batch_n, steps = sizes(report)
    check_memory(report, batch=batch_n, steps=steps)


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
    if args[:1] == ["fit"]:
        from .subcommands import render_fit_marker

        return render_fit_marker(args[1:])
    params = marker_parser().parse(args)
    if params is None:  # not the plain form the quick parser knows: click decides, and words any error
        params = dict(main_command.make_context("lstm-shapes", list(args)).params)
    fmt = params.pop("fmt") or "markdown"
    if fmt == "table":
        raise click.UsageError("--format table is for terminals; a document takes markdown, text, csv or json")
    text, _ = render_plain(params, fmt)
    return text


def main() -> None:
    """The console script: `docs ...` and `fit ...` go to those commands, all else traces."""
    args = sys.argv[1:]
    command: click.Command
    if args[:1] == ["docs"]:
        from .subcommands import docs_group

        command, args, name = docs_group, args[1:], "lstm-shapes docs"
    elif args[:1] == ["fit"]:
        from .subcommands import fit_command

        command, args, name = fit_command, args[1:], "lstm-shapes fit"
    else:
        command, name = main_command, "lstm-shapes"
    code = command.main(args, prog_name=name, standalone_mode=False)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away, or the stream was closed for it
        pass
    # Everything is written and every file is closed: skip tearing down the interpreter's modules,
    # which takes longer than the answer itself.
    os._exit(code if isinstance(code, int) else 0)
