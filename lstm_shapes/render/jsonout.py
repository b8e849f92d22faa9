"""One JSON object (see Report.to_dict); keys are only ever added, never renamed."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..report import Report

# A list whose items are all numbers, strings, booleans or null, as json.dumps spreads it.
_SCALAR = r'(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|"(?:[^"\\]|\\.)*"|true|false|null)'
_FLAT_LIST = re.compile(r"\[\n\s+(" + _SCALAR + r"(?:,\n\s+" + _SCALAR + r")*)\n\s*\]")


def dumps(value: Any) -> str:
    """Indented JSON that keeps lists of plain values, such as shapes, on one line."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _FLAT_LIST.sub(lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]", text)


def render_json(report: Report) -> str:
    return dumps(report.to_dict()) + "\n"
