"""The command line: parses options, picks the output, maps errors to exit codes.

Exit codes: 0 ok, 1 a check failed (--verify found a mismatch), 2 bad usage or input.
Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from . import __version__
from .config import CELLS, FRAMEWORKS, MAX_LAYERS, MAX_SIZE, SIZE_RANGE, Config, check_size
from .errors import ConfigError, LstmShapesError
from .render import FORMATS
from .report import build

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
OPTION_NAMES = {"input": "--input", "bias": "--no-bias", "seq_len": "--seq-len"}


def option_name(exc: ConfigError) -> str:
    if exc.field == "reset_after":
        return "--reset-after" if exc.value else "--no-reset-after"
    if exc.field == "batch_first":
        return "--batch-first" if exc.value else "--time-major"
    return OPTION_NAMES.get(exc.field, "--" + exc.field.replace("_", "-"))


class OneLineErrors(click.Command):
    """A command whose errors are a single line on stderr, with click's exit codes."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            # Without standalone mode click returns ctx.exit()'s code instead of exiting.
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.MissingParameter as exc:
            name = exc.param.opts[0] if exc.param is not None else "an option"
            code = fail(f"{name} is required: {SIZE_RANGE}")
        except click.BadParameter as exc:
            # Our own messages name the option already; click's own say which one.
            own = isinstance(exc.param is not None and exc.param.type, Size)
            code = fail(exc.message if own else exc.format_message())
        except click.UsageError as exc:
            code = fail(exc.format_message())
        except ConfigError as exc:
            code = fail(exc.describe(option_name(exc)))
        except LstmShapesError as exc:
            code = fail(str(exc))
        except click.Abort:
            code = fail("aborted", 130)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`); nothing left to say to it.
            sys.stderr.close()
            code = 0
        if not standalone_mode:
            return code
        sys.exit(code)


def fail(message: str, code: int = 2) -> int:
    click.echo(f"lstm-shapes: error: {' '.join(message.split())}", err=True)
    return code


@click.command(
    cls=OneLineErrors,
    epilog=EXAMPLES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--input", "input_size", type=Size(), required=True, help="Input features per time step (x).")
@click.option("--hidden", type=Size(), required=True, help="Hidden units of the cell (h): every gate and c_t.")
@click.option("--out", type=Size(), default=None, help="Outputs of a dense head after h_t (o); none if left out.")
@click.option(
    "--framework",
    type=click.Choice((*FRAMEWORKS, "all")),
    default="keras",
    show_default=True,
    help="Whose names, layouts and gate order; 'all' compares them side by side.",
)
@click.option("--cell", type=click.Choice(CELLS), default="lstm", show_default=True, help="The recurrent cell.")
@click.option("--proj", type=Size(), default=None, help="LSTM projection: h_t has P < h units (pytorch, tf1).")
@click.option("--peepholes", is_flag=True, help="LSTM peephole connections (tf1, onnx).")
@click.option("--layers", type=Size(MAX_LAYERS), default=1, show_default=True, help="Stacked recurrent layers.")
@click.option("--bidirectional", is_flag=True, help="A backward direction beside the forward one.")
@click.option("--no-bias", "no_bias", is_flag=True, help="Cells without biases (keras, pytorch, onnx).")
@click.option("--batch", type=Size(), default=None, help="Batch size (symbolic B if left out).")
@click.option("--seq-len", type=Size(), default=None, help="Sequence length (symbolic T if left out).")
@click.option(
    "--reset-after/--no-reset-after",
    default=None,
    help="GRU: apply the reset gate after the recurrent product (Keras reset_after, ONNX linear_before_reset=1).",
)
@click.option(
    "--batch-first/--time-major",
    default=None,
    help="Input layout where the framework lets you choose (pytorch batch_first, tf1 time_major, onnx layout).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(("table", *FORMATS)),
    default=None,
    help="Output format. Default: table in a terminal, text otherwise.",
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
    reset_after: bool | None, batch_first: bool | None, fmt: str | None, verify: bool,
) -> None:
    """Trace one recurrent time step: the shape of every node, every weight tensor, and the parameter count with its formula.

    The default is an LSTM in Keras 3 / TF2's convention: kernel (x, 4h), recurrent_kernel (h, 4h),
    one bias per gate. --framework picks PyTorch, TF1 or ONNX instead, with their own names, layouts
    and gate orders.
    """
    options: dict[str, Any] = dict(
        input=input_size, hidden=hidden, out=out, cell=cell, proj=proj, peepholes=peepholes, layers=layers,
        bidirectional=bidirectional, bias=not no_bias, batch=batch, seq_len=seq_len, reset_after=reset_after,
        batch_first=batch_first,
    )
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "text"
    if framework == "all":
        from .compare import compare
        from .render import render_comparison

        comparison = compare(name_of=option_name, **options)
        if not any(entry.report for entry in comparison.entries):
            errors = list(dict.fromkeys(str(e.error) for e in comparison.entries))
            raise click.UsageError(errors[0] if len(errors) == 1 else "no framework has this combination: " + "; ".join(errors))
        if verify:
            raise click.UsageError("--verify checks one framework at a time; pick one with --framework")
        # The terminal view of a comparison is its plain text: one table, no need for rich.
        click.echo(render_comparison(comparison, "text" if fmt == "table" else fmt), nl=False)
        return
    report = build(Config(framework=framework, **options))
    if verify:
        from .verify import check_memory, sizes

        batch_n, steps = sizes(report)
        check_memory(report, batch=batch_n, steps=steps)  # refuse before printing anything
    if fmt == "table":
        from .terminal import print_report

        print_report(report)
    else:
        # Rendered whole before anything is written: a failure never leaves half an output.
        click.echo(report.render(fmt), nl=False)
    if verify:
        from .verify import verify as run_verify

        result = run_verify(report)
        click.echo("\n".join(result.lines()), err=True)
        if result.mismatches:
            click.get_current_context().exit(1)


def main() -> None:
    main_command.main(prog_name="lstm-shapes")
