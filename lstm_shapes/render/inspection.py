"""What `lstm-shapes inspect` prints: each recurrent layer found, its constructors and trace, and the rest of the file."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..frameworks import REGISTRY

if TYPE_CHECKING:
    from ..config import Config
    from ..inspection import Inspection, Layer

CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def constructors(config: Config) -> dict[str, tuple[str, ...]]:
    """The code that builds the same layer in each framework that has it (the layout left to each one's default)."""
    lines = {}
    for name, fw in REGISTRY.items():
        try:
            there = replace(config, framework=name, batch_first=None, head_reads=None, head_activation=None)
        except ConfigError:
            continue
        code = fw.constructor(there)
        if code:
            lines[fw.title] = code
    return lines


def summary(layer: Layer) -> str:
    """`PyTorch LSTM: x = 40, h = 256, 2 layers, bidirectional, 2,187,264 parameters`."""
    cfg = layer.config
    parts = [f"x = {cfg.input}", f"h = {cfg.hidden_text}"]
    if cfg.proj is not None:
        parts.append(f"p = {cfg.proj}")
    if cfg.out is not None:
        parts.append(f"o = {cfg.out}")
    if cfg.layers > 1:
        parts.append(f"{cfg.layers} layers")
    if cfg.bidirectional:
        parts.append("bidirectional")
    if not cfg.bias:
        parts.append("no bias")
    if cfg.peepholes:
        parts.append("peepholes")
    if cfg.cell == "gru":
        parts.append("reset after" if cfg.reset_after else "reset before")
    return f"{REGISTRY[layer.framework].title} {CELLS[cfg.cell]}: {', '.join(parts)}; {layer.params:,} parameters"


def _alternatives(layer: Layer) -> list[str]:
    def reset(c: Config) -> str:
        return "" if c.cell != "gru" else ", reset after" if c.reset_after else ", reset before"

    return [f"{REGISTRY[fw].title} {CELLS[c.cell]} x = {c.input}, h = {c.hidden_text}{reset(c)}" for fw, c in layer.alternatives]


def inspection_text(result: Inspection, fmt: str, differences: dict[tuple[str, str], tuple[str, ...]] | None = None) -> str:
    """Text or Markdown: a heading per layer, its constructors, its trace in `fmt`, then the rest and the totals."""
    from . import render

    md = fmt == "markdown"
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out = [f"{result.source}: {result.format}, {result.tensors:,} tensors, {result.total_params:,} parameters", ""]
    for warning in result.warnings:
        out.append(f"{'- ' if md else ''}warning: {warning}")
    if result.warnings:
        out.append("")
    if not result.layers:
        out += ["No recurrent layer found.", ""]
    for index, layer in enumerate(result.layers, 1):
        where = code(layer.prefix) if layer.prefix else "the top level"
        title = f"Recurrent layer {index} of {len(result.layers)}, at {where}"
        out += [f"## {title}" if md else title, "", summary(layer)]
        if layer.by_shapes:
            out.append("Recognised by its shapes alone: its names are the file's own.")
        if differences is not None:
            apart = differences.get((result.source, layer.prefix), ())
            out += [f"- differs: {line}" for line in apart] if apart else ["As you said: every option you gave matches."]
        others = _alternatives(layer)
        if others:
            out.append("The same tensors also fit: " + "; ".join(others) + ".")
        out.append("")
        for title_, lines in constructors(layer.config).items():
            for line in lines:
                out.append(f"{'- ' if md else '  '}{title_}: {code(line)}")
        out += ["", render(layer.report(), fmt).rstrip("\n"), ""]
    if result.other:
        out += ["## Other tensors" if md else "Other tensors", ""]
        rows = [("prefix", "tensors", "params")] + [(o.prefix, f"{o.tensors:,}", f"{o.params:,}") for o in result.other]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for n, row in enumerate(rows):
            cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2])]
            out.append("| " + " | ".join(cells) + " |" if md else "  ".join(cells))
            if n == 0:
                out.append("| " + " | ".join(["-" * widths[0], "-" * (widths[1] - 1) + ":", "-" * (widths[2] - 1) + ":"]) + " |"
                           if md else "  ".join("-" * w for w in widths))
        out.append("")
    parts = [layer.params for layer in result.layers] + [o.params for o in result.other]
    out.append(f"Total: {' + '.join(f'{p:,}' for p in parts) or '0'} = {result.total_params:,} parameters")
    return "\n".join(out) + "\n"


def inspection_dict(result: Inspection, differences: dict[tuple[str, str], tuple[str, ...]] | None = None) -> dict[str, Any]:
    """One JSON-ready object: the totals, each recurrent layer with its configuration and trace, the rest."""
    layers = []
    for layer in result.layers:
        cfg = layer.config
        layers.append({
            "prefix": layer.prefix, "framework": layer.framework, "cell": cfg.cell, "input": cfg.input,
            "hidden": cfg.hidden, "layers": cfg.layers, "bidirectional": cfg.bidirectional, "proj": cfg.proj,
            "bias": cfg.bias, "out": cfg.out, "params": layer.params, "by_shapes": layer.by_shapes,
            "names": dict(layer.names),
            "alternatives": [{"framework": fw, "cell": c.cell, "input": c.input, "hidden": c.hidden,
                              "reset_after": c.reset_after} for fw, c in layer.alternatives],
            "constructors": {title: list(lines) for title, lines in constructors(cfg).items()},
            "trace": layer.report().to_dict(),
        })
        if differences is not None:
            layers[-1]["differences"] = list(differences.get((result.source, layer.prefix), ()))
    return {"source": result.source, "format": result.format, "tensors": result.tensors,
            "total_params": result.total_params, "recurrent": layers,
            "other": [{"prefix": o.prefix, "tensors": o.tensors, "params": o.params} for o in result.other],
            "warnings": list(result.warnings)}


def inspection_json(results: list[Inspection], differences: dict[tuple[str, str], tuple[str, ...]] | None = None) -> str:
    data: Any = [inspection_dict(r, differences) for r in results]
    data = data[0] if len(data) == 1 else data
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
