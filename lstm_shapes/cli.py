"""The console script: picks the command (trace, fit, docs, inspect, convert or diagnose) and leaves the interpreter fast.

Exit codes: 0 ok, 1 a check failed (--verify found a mismatch, a stale docs block), 2 bad usage or
input, 3 the output could not be written (a full disk, a closed stdout, a reader that went away).
Imports go one way: this module imports command.py (the main command) and, only for their runs,
subcommands.py (fit, docs); neither imports this one.
"""

from __future__ import annotations

import os
import sys

import click

from .command import OUTPUT_FAILED, OutputError, fail, main_command, output_error, spell_unencodable

__all__ = ["main", "main_command"]


def main() -> None:
    """The console script: `docs ...`, `fit ...`, `inspect ...` and `diagnose ...` go to those commands, `trace ...` and all else traces."""
    if sys.stdout is None:  # started with stdout closed (`>&-`): nowhere to answer
        os._exit(fail(str(OutputError("standard output is closed")), OUTPUT_FAILED))
    spell_unencodable()
    args = sys.argv[1:]
    command: click.Command
    if args[:1] == ["docs"]:
        from .subcommands import docs_group

        command, args, name = docs_group, args[1:], "lstm-shapes docs"
    elif args[:1] == ["fit"]:
        from .subcommands import fit_command

        command, args, name = fit_command, args[1:], "lstm-shapes fit"
    elif args[:1] == ["diagnose"]:
        from .diagnose_command import diagnose_command

        command, args, name = diagnose_command, args[1:], "lstm-shapes diagnose"
    elif args[:1] == ["convert"]:
        from .convert_command import convert_command

        command, args, name = convert_command, args[1:], "lstm-shapes convert"
    elif args[:1] == ["inspect"]:
        from .inspect_command import inspect_command

        command, args, name = inspect_command, args[1:], "lstm-shapes inspect"
    elif args[:1] == ["trace"]:
        command, args, name = main_command, args[1:], "lstm-shapes trace"
    else:
        command, name = main_command, "lstm-shapes"
    code = command.main(args, prog_name=name, standalone_mode=False)
    try:
        sys.stdout.flush()
    except OSError as exc:
        if code != OUTPUT_FAILED:  # said once already if the command met it
            code = fail(str(output_error(exc)), OUTPUT_FAILED)
    try:
        sys.stderr.flush()
    except (OSError, AttributeError):  # nobody is left to tell
        pass
    # Everything is written and every file is closed: skip tearing down the interpreter's modules,
    # which takes longer than the answer itself.
    os._exit(code if isinstance(code, int) else 0)
