"""A quick parser for the plain option lists of docs markers, derived from a click command's options.

click's own parser builds a context and a parser object for every call, a third of a docs check's
time. This one knows only what the command declares (names, flags, choices, types, defaults, which
are required), read from the command itself, so a new option needs nothing here. It accepts only
the plain forms (`--name VALUE`, `--name=VALUE`, `-f VALUE`, `--flag`); anything else, and every
error, goes back to click, whose answer (parsed values or message) is the one that counts.
"""

from __future__ import annotations

from typing import Any

import click

# A value the quick parser does not vouch for: the caller asks click instead.
UNSURE = None


class QuickParser:
    """Parses argv for `command` as click would, or returns UNSURE."""

    def __init__(self, command: click.Command) -> None:
        # Defaults exactly as click computes them: one parse of nothing, forgiving the required options.
        self.defaults = dict(command.make_context(command.name or "", [], resilient_parsing=True).params)
        self.required: list[str] = []
        self.flags: dict[str, tuple[str, bool]] = {}  # option name -> (param name, value it sets)
        self.valued: dict[str, click.Option] = {}  # option name -> the option, which takes one value
        for param in command.params:
            assert param.name is not None
            if param.required:  # a required argument is never given here, so click always decides then
                self.required.append(param.name)
            if (not isinstance(param, click.Option) or not param.expose_value or param.multiple or param.nargs != 1
                    or param.callback is not None):
                continue  # its names stay unknown here: click parses any list that uses them
            if param.is_flag:
                if not isinstance(param.type, click.types.BoolParamType):  # a flag with other values: for click
                    continue
                self.flags.update((opt, (param.name, True)) for opt in param.opts)
                self.flags.update((opt, (param.name, False)) for opt in param.secondary_opts)
            else:
                self.valued.update((opt, param) for opt in param.opts)

    def parse(self, argv: list[str]) -> dict[str, Any] | None:
        """The parsed values by parameter name, or UNSURE where click must decide (or explain)."""
        raw: dict[str, tuple[click.Option, str]] = {}
        values: dict[str, Any] = {}
        index, count = 0, len(argv)
        while index < count:
            arg = argv[index]
            index += 1
            name, equals, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
            flag = self.flags.get(name)
            if flag is not None and not equals:
                values[flag[0]] = flag[1]
                continue
            option = self.valued.get(name)
            if option is None:
                return UNSURE
            if equals:
                value = inline
            elif index < count and not argv[index].startswith("-"):
                value = argv[index]
                index += 1
            else:
                return UNSURE
            assert option.name is not None
            raw[option.name] = (option, value)  # the last one given wins, as in click
        for key, (option, value) in raw.items():
            try:
                values[key] = convert(option, value)
            except (click.BadParameter, ValueError):
                return UNSURE
        if any(key not in values for key in self.required):
            return UNSURE
        return {**self.defaults, **values}


def convert(option: click.Option, value: str) -> Any:
    """The option's value from its text, or an error (ValueError or click's)."""
    kind = option.type
    if isinstance(kind, click.Choice):
        if value not in kind.choices:
            raise ValueError(value)
        return value
    return kind.convert(value, option, None)
