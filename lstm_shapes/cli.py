"""The command line: parses options, picks the output, maps errors to exit codes.

Exit codes: 0 ok, 1 a check failed (--verify found a mismatch), 2 bad usage or input.
Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from . import __version__
from .config import SIZE_RANGE, Config, check_size
from .errors import ConfigError, LstmShapesError
from .render import FORMATS
from .report import build

EXAMPLES = """\b
Examples:
  lstm-shapes --input 4 --hidden 2 --out 1
  lstm-shapes --input 5 --hidden 256 --out 10 --format markdown
  lstm-shapes --input 4 --hidden 2 --format json | jq .total_params
  lstm-shapes --input 4 --hidden 2 --out 1 --verify

\b
Formats: table (rich, the default in a terminal), text (the default when
piped), markdown, csv, json. Exit codes: 0 ok, 1 --verify found a mismatch,
2 bad input.
"""


class Size(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A layer size: a whole number in the allowed range."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        option = param.opts[0] if param is not None else "size"
        if isinstance(value, int):
            number: object = value
        else:
            text = str(value).strip().replace("_", "")
            number = int(text) if text.lstrip("+-").isdigit() else value
        try:
            checked = check_size(option, number, optional=param is not None and param.name == "out")
        except ConfigError as exc:
            self.fail(exc.describe(option), param, ctx)
        assert checked is not None
        return checked


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
@click.option("--hidden", type=Size(), required=True, help="Hidden units of the cell (h): every gate, c_t and h_t.")
@click.option("--out", type=Size(), default=None, help="Outputs of a dense head after h_t (o); none if left out.")
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
def main_command(input_size: int, hidden: int, out: int | None, fmt: str | None, verify: bool) -> None:
    """Trace one LSTM time step: the shape of every node, every weight tensor, and the parameter count with its formula.

    Sizes follow Keras 3 / TF2: kernel (x, 4h), recurrent_kernel (h, 4h), one bias per gate.
    """
    report = build(Config(input=input_size, hidden=hidden, out=out))
    if verify:
        from .verify import check_memory

        check_memory(report)  # refuse before printing anything
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "text"
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
