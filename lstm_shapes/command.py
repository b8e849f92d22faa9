"""The main command, `trace`, and what every command shares: options, one-line errors, exit codes, output.

Exit codes: 0 ok, 1 a check failed (--verify found a mismatch, a stale docs block), 2 bad usage or
input, 3 the output could not be written (a full disk, a closed stdout, a reader that went away).
Every error is one line on stderr, never a traceback. A stream whose encoding lacks a symbol gets
its ASCII spelling (σ as sigmoid, ⊙ as *) instead of an error.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__, frameworks
from .config import FRAMEWORKS, MAX_SIZE, OPTIONS, Config, Option, check_size
from .errors import ConfigError, LstmShapesError
from .render import FORMATS, PICTURES, render
from .report import Report, build

if TYPE_CHECKING:
    from .compare import Comparison

EXAMPLES = f"""\b
Examples:
  lstm-shapes --input 4 --hidden 2 --out 1
  lstm-shapes --input 5 --hidden 256 --out 10 --format markdown
  lstm-shapes --input 4 --hidden 2 --out 1 --framework pytorch
  lstm-shapes --input 4 --hidden 2 --out 1 --framework all
  lstm-shapes --input 4 --hidden 3 --framework pytorch --layers 2 --bidirectional --proj 2
  lstm-shapes --input 4 --hidden 2 --cell gru --no-reset-after --batch 8 --seq-len 5
  lstm-shapes --input 4 --hidden 2 --format json | jq .total_params
  lstm-shapes --input 4 --hidden 2 --out 1 --verify

Formats: table (rich, the default in a terminal), text (the default when piped), {", ".join(FORMATS[1:])}.

Exit codes: 0 ok, 1 --verify found a mismatch, 2 bad input or a combination the framework does not
have, 3 the output could not be written (a full disk, a closed stdout, a reader that went away).

Shell completion: eval "$(_LSTM_SHAPES_COMPLETE=bash_source lstm-shapes)" in ~/.bashrc (zsh_source
in ~/.zshrc; fish_source for fish).
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
            # ASCII digits only: int() would also take '４', '٤', '1_000' and ' 4'.
            text = str(value)
            digits = text[1:] if text[:1] == "-" else text  # a negative number gets the range message
            if not (digits.isascii() and digits.isdigit()):
                hint = " (digits 0-9 only)" if _int_or_none(text) is not None else ""
                self.fail(f"{option} must be a whole number from 1 to {self.limit:,}, got {text!r}{hint}", param, ctx)
            number = int(text)
        field = param.name if param is not None and param.name else "size"
        try:
            checked = check_size("out" if field == "out" else field, number, limit=self.limit)
        except ConfigError as exc:
            self.fail(exc.describe(option), param, ctx)
        assert checked is not None
        return checked


class Sizes(Size):
    """A size, or one size per layer apart by commas: `256` or `128,64`."""

    name = "N[,N...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, tuple)) or "," not in str(value):
            return value if isinstance(value, tuple) else super().convert(value, param, ctx)
        option = param.opts[0] if param is not None else "size"
        parts = str(value).split(",")
        for part in parts:
            if not (part.isascii() and part.isdigit()) or not 1 <= int(part) <= self.limit:
                self.fail(f"{option} must be whole numbers from 1 to {self.limit:,} apart by commas, one per layer "
                          f"(e.g. 128,64), got {str(value)!r}", param, ctx)
        return tuple(int(part) for part in parts)


def _int_or_none(text: str) -> int | None:
    """What Python's int() makes of `text`, which takes more than a size should."""
    try:
        return int(text)
    except ValueError:
        return None


# The command-line spelling of each Config field, for messages about combinations.
OPTION_NAMES = {option.field: option.flags for option in OPTIONS}


def option_name(exc: ConfigError) -> str:
    """--no-reset-after for reset_after=False: the half of an on/off pair that asked for the value."""
    on, _, off = OPTION_NAMES[exc.field].partition("/")
    return off if off and not exc.value else on


def message_of(exc: Exception) -> str:
    """The one-line message for an error from parsing or building a configuration."""
    if isinstance(exc, click.MissingParameter):
        name = exc.param.opts[0] if exc.param is not None else "an option"
        limit = exc.param.type.limit if exc.param is not None and isinstance(exc.param.type, Size) else MAX_SIZE
        return f"{name} is required: a whole number from 1 to {limit:,}"
    if isinstance(exc, click.BadParameter):
        # Our own messages name the option already; click's own say which one.
        own = exc.param is not None and isinstance(exc.param.type, Size)
        return exc.message if own else exc.format_message()
    if isinstance(exc, click.UsageError):
        return exc.format_message()
    if isinstance(exc, ConfigError):
        return exc.describe(option_name(exc))
    return str(exc)


# The exit code for output that could not be written; 1 is taken by "a check failed".
OUTPUT_FAILED = 3


class OutputError(LstmShapesError):
    """Standard output (or a file being written) refused the output."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot write the output: {reason}")


def output_error(exc: OSError) -> OutputError:
    """The one-line OutputError for an OSError met while writing."""
    if isinstance(exc, BrokenPipeError):
        return OutputError("the reader closed the pipe")
    reason = exc.strerror or str(exc)
    return OutputError(f"{reason}: {exc.filename}" if exc.filename else reason)


@contextmanager
def writing() -> Iterator[None]:
    """Turn an OSError raised while printing into an OutputError."""
    try:
        yield
    except OSError as exc:
        raise output_error(exc) from None
    except SystemExit:  # rich's answer to a broken pipe, with no word said
        raise OutputError("the reader closed the pipe") from None


def emit(text: str) -> None:
    """Print `text` whole to stdout in the stream's encoding (click.echo would force UTF-8 on ASCII)."""
    stream = sys.stdout
    with writing():
        try:
            fd = stream.fileno()
        except (AttributeError, ValueError):  # not a file, e.g. a test's capture
            stream.write(text)
            stream.flush()
            return
        stream.flush()
        # os.write, not the buffered stream: when a reader goes away during a long write, the
        # buffered layer reports the partial write as success and drops the rest without an error.
        data = memoryview(text.encode(stream.encoding, stream.errors))
        while data:
            data = data[os.write(fd, data):]


# How each symbol the tool prints is spelled in ASCII, for streams whose encoding lacks it.
ASCII_SPELLINGS = {
    "σ": "sigmoid", "⊙": "*", "·": ".", "×": "x", "ᵀ": "^T", "→": "->", "←": "<-", "\u0303": "~", "—": "--",
    "–": "-", "…": "...", "µ": "u", "‘": "'", "’": "'", "“": '"', "”": '"', "─": "-", "━": "-", "│": "|",
    "┃": "|", "►": ">", "▶": ">", **{corner: "+" for corner in "┌┐└┘├┤┬┴┼╭╮╯╰"},
}
ASCII_ERRORS = "lstm-shapes-ascii"


def _spell(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(ASCII_SPELLINGS.get(char, "?") for char in bad), exc.end


def spell_unencodable() -> None:
    """Make stdout and stderr print ASCII spellings for what their encoding cannot hold."""
    codecs.register_error(ASCII_ERRORS, _spell)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ASCII_ERRORS)


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
        except OutputError as exc:
            code = fail(str(exc), OUTPUT_FAILED)
        except (click.UsageError, LstmShapesError) as exc:
            # A docs run reports every bad marker it found, each on its own line.
            for error in getattr(exc, "errors", None) or [exc]:
                code = fail(message_of(error))
        except click.Abort:
            code = fail("aborted", 130)
        if not standalone_mode:
            return code
        sys.exit(code)

    # Reading is checked where it happens, so an OSError met while parsing (--help, --version) or
    # running is a write: stdout or a file being updated. Caught here, before click's main would
    # turn a broken pipe into a silent exit 1.
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with writing():
            return super().make_context(*args, **kwargs)  # type: ignore[misc,no-any-return]

    def invoke(self, ctx: click.Context) -> Any:
        with writing():
            return super().invoke(ctx)  # type: ignore[misc]


class Command(OneLineErrors, click.Command):
    pass


class Group(OneLineErrors, click.Group):
    pass


# The subcommands the main help lists; written here so that --help imports neither of the others.
SUBCOMMANDS = (
    ("trace", "One time step's shapes, weights and counts (the default)."),
    ("fit", "The hidden size that fits a parameter budget."),
    ("docs", "check|update PATH...: keep pasted tables true."),
    ("inspect", "PATH...: the recurrent layers in model files, read without their frameworks."),
    ("convert", "SRC --to FRAMEWORK -o OUT: recurrent weights rewritten for another framework, proved equal."),
    ("diagnose", "[TEXT]: explain a pasted shape error (or read it from stdin)."),
)


class MainCommand(Command):
    """The main command, `trace`, whose help also lists the subcommands."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        with formatter.section("Commands"):
            formatter.write_dl(SUBCOMMANDS)


def fail(message: str, code: int = 2) -> int:
    click.echo(f"lstm-shapes: error: {' '.join(message.split())}", err=True)
    return code


F = TypeVar("F", bound=Callable[..., Any])


class OneFramework(click.Choice):  # type: ignore[type-arg]
    """A framework's name, where comparing them all ('all') has no meaning."""

    def __init__(self) -> None:
        super().__init__(FRAMEWORKS)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "all":
            self.fail(f"fit sizes one framework at a time; pick one of {', '.join(FRAMEWORKS)}", param, ctx)
        return super().convert(value, param, ctx)


def having(attribute: str) -> str:
    """The frameworks with a variant, for an option's help."""
    return ", ".join(frameworks.having(attribute))


def _dest(option: Option) -> str:
    """The click parameter: `no_bias` for --no-bias; `input_size` since `input` is Python's."""
    return "input_size" if option.field == "input" else option.flags.split("/")[0][2:].replace("-", "_")


def _click_option(option: Option, default: Any, fit: bool, optional: bool = False) -> Callable[[F], F]:
    text = re.sub(r"\{((?:has|reads)_\w+)\}", lambda match: having(match[1]), option.help)
    text = text.replace("{layout_arguments}", ", ".join(
        f"{name} {fw.layout_argument}" for name, fw in frameworks.REGISTRY.items() if fw.has_layout_choice))
    if option.field == "framework":
        kind: Any = OneFramework() if fit or optional else click.Choice((*FRAMEWORKS, "all"))
        text = text if fit or optional else text[:-1] + "; 'all' compares them side by side."
        return click.option(option.flags, type=kind, default=default, show_default=True, help=text)
    # A required option has no default; a default other than None is shown.
    given: dict[str, Any] = {"required": True} if option.required and not optional else {"default": default}
    if default is not None:
        given["show_default"] = True
    if option.choices:
        return click.option(option.flags, type=click.Choice(option.choices), help=text, **given)
    if option.limit is not None:
        kind = Sizes(option.limit) if option.per_layer else Size(option.limit)
        return click.option(option.flags, _dest(option), type=kind, help=text, **given)
    if "/" in option.flags:  # on, off, or the framework's default
        return click.option(option.flags, default=None, help=text)
    return click.option(option.flags, _dest(option), is_flag=True, help=text)


def _defaults() -> list[Any]:
    """Each option's default: its Config field's (None for the required sizes)."""
    fields = {field.name: field.default for field in dataclasses.fields(Config)}
    return [None if fields[o.field] is dataclasses.MISSING else fields[o.field] for o in OPTIONS]


def model_options(fit: bool = False, optional: bool = False) -> Callable[[F], F]:
    """The options that describe a model, made from config.OPTIONS, for the main command, (those that change a
    count) `fit`, and (none required, one framework) `inspect`'s check of a file against what the user meant."""
    options = [_click_option(option, default, fit, optional) for option, default in zip(OPTIONS, _defaults())
               if option.in_fit or not fit]

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _turns_off(option: Option) -> bool:
    """--no-bias: a flag that sets its field, on by default, to False."""
    return option.flags.startswith("--no-") and "/" not in option.flags


def given_options(ctx: click.Context, params: dict[str, Any]) -> dict[str, Any]:
    """Config's keyword arguments for the model options the command line gave, and only those."""
    from click.core import ParameterSource

    given = {}
    for option in OPTIONS:
        dest = _dest(option)
        if dest in params and ctx.get_parameter_source(dest) not in (ParameterSource.DEFAULT, None):
            given[option.field] = not params[dest] if _turns_off(option) else params[dest]
    return given


def config_options(params: dict[str, Any]) -> dict[str, Any]:
    """Config's keyword arguments from the command's parsed options (those `fit` lacks get their defaults)."""
    options = {}
    for option, default in zip(OPTIONS, _defaults()):
        dest = _dest(option)
        if dest not in params:
            options[option.field] = default
        else:
            options[option.field] = not params[dest] if _turns_off(option) else params[dest]
    return options


@click.command(
    cls=MainCommand,
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
    help=f"Output format. Default: table in a terminal, text otherwise. "
    f"{', '.join(PICTURES[:-1])} and {PICTURES[-1]} draw the cell.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Also run a numpy forward pass over the traced shapes and check them (report on stderr; exit 1 on a mismatch).",
)
@click.version_option(__version__, "--version", "-V", prog_name="lstm-shapes", message="%(prog)s %(version)s")
def main_command(explain: bool, show_cost: bool, fmt: str | None, verify: bool, **params: Any) -> None:
    """Trace one recurrent time step: the shape of every node, every weight tensor, and the parameter count with its formula.

    The default is an LSTM in Keras 3 / TF2's convention: kernel (x, 4h), recurrent_kernel (h, 4h),
    one bias per gate. --framework picks another framework instead, with its own names, layouts and
    gate order.
    """
    params.update(explain=explain, show_cost=show_cost)
    framework = params["framework"]
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

        with writing():
            print_report(report)
    elif fmt == "table":  # --framework all, drawn by rich like every other table
        from .terminal import print_comparison

        comparison = comparison_of(params, fmt)
        with writing():
            print_comparison(comparison)
        report = None
    else:
        text, report = render_plain(params, fmt, before=verify_memory if verify else None)
        emit(text)
    if verify and report is not None:
        from .verify import verify as run_verify

        result = run_verify(report)
        click.echo("\n".join(result.lines()), err=True)
        if result.mismatches:
            click.get_current_context().exit(1)


def render_plain(params: dict[str, Any], fmt: str, before: Any = None) -> tuple[str, Report | None]:
    """What the command prints for `params` in a plain format, whole, and the report if there is one."""
    options = config_options(params)
    if options["framework"] == "all":
        return render(comparison_of(params, fmt), fmt), None
    if fmt in PICTURES and (params.get("explain") or params.get("show_cost")):
        raise click.UsageError(f"--format {fmt} draws the graph; --explain and --cost go with the table formats")
    report = build(Config(**options), explain=bool(params.get("explain")), show_cost=bool(params.get("show_cost")))
    if before is not None:
        before(report)
    # Rendered whole before anything is written: a failure never leaves half an output.
    return render(report, fmt), report


def comparison_of(params: dict[str, Any], fmt: str) -> Comparison:
    """`--framework all`: the configuration under every framework, or a usage error if none has it."""
    from .compare import compare

    options = config_options(params)
    del options["framework"]
    if fmt in PICTURES:
        raise click.UsageError(f"--framework all compares tables; --format {fmt} draws one framework's graph")
    extra = params.get("explain") or params.get("show_cost")
    if fmt == "csv" and extra:
        raise click.UsageError("--framework all --format csv is one row per framework; --explain and --cost "
                               "need a format with tables (text, markdown, latex, org, json) or one framework")
    comparison = compare(name_of=option_name, explain=bool(params.get("explain")),
                         show_cost=bool(params.get("show_cost")), **options)
    if not any(entry.report for entry in comparison.entries):
        errors = list(dict.fromkeys(str(e.error) for e in comparison.entries))
        raise click.UsageError(errors[0] if len(errors) == 1 else "no framework has this combination: " + "; ".join(errors))
    return comparison


def verify_memory(report: Report) -> None:
    """Refuse a --verify that would need too much memory, before anything is printed."""
    from .verify import check_memory, sizes

    batch_n, steps = sizes(report)
    check_memory(report, batch=batch_n, steps=steps)
