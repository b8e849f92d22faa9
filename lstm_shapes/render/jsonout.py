"""One JSON object (see Report.to_dict); keys are only ever added, never renamed."""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..report import Report

# A list whose items are all numbers, strings, booleans or null, as json.dumps writes them.
_SCALAR = re.compile(r'-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|"(?:[^"\\]|\\.)*"|true|false|null')


def dumps(value: Any) -> str:
    """Indented JSON (as json.dumps(indent=2) writes it) that keeps lists of plain values, such as shapes, on one line."""
    # json.dumps with an indent runs the pure-Python encoder; this writes the same text directly.
    return _encode(value, "\n")


def _encode(value: Any, newline: str) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [encode_basestring(_key(key)) + ": " + _encode(item, inner) for key, item in value.items()]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [_encode(item, inner) for item in value]
        if all(_plain(item, text) for item, text in zip(value, items)):
            return "[" + ", ".join(items) + "]"
        return "[" + inner + ("," + inner).join(items) + newline + "]"
    return json.dumps(value, ensure_ascii=False)  # floats and anything else: JSON's own spelling, or its error


def _plain(value: Any, text: str) -> bool:
    """Whether a list item is a plain value (a float only where written as a number, not NaN or Infinity)."""
    if value is None or isinstance(value, (str, int)):
        return True
    return isinstance(value, float) and _SCALAR.fullmatch(text) is not None


def _key(key: Any) -> str:
    """A dict key as JSON writes it: strings as they are, numbers, booleans and null spelt out."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (int, float)):
        return json.dumps(key)
    return json.dumps({key: None})  # raises JSON's own TypeError


def render_json(report: Report) -> str:
    return dumps(report.to_dict()) + "\n"
