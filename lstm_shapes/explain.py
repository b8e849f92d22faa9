"""Every node's equation, with the shape of each operand, in the chosen framework's own terms.

The weight names and orientations come from the report's gate blocks, so an equation uses exactly
the slice of the stored tensor that the framework uses: Keras' kernel column block W_f (x, h),
PyTorch's row block W_if (h, x) multiplied transposed, TF1's kernel block over [x_t, h_{t-1}],
ONNX's W_f, R_f, Wb_f, Rb_f and P_f.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from .graph import format_shape, layer_prefix

if TYPE_CHECKING:
    from .graph import Node
    from .params import Block, Weight
    from .report import Report

ACT = {"i_t": "σ", "f_t": "σ", "o_t": "σ", "g_t": "tanh", "r_t": "σ", "z_t": "σ", "n_t": "tanh", "h_t": "tanh"}
# y_t per Bidirectional merge mode: its equation and how its operands' shapes are joined.
Y_T = {
    "concat": ("[h_t (forward), h_t (backward)]", ", "),
    "sum": ("h_t (forward) + h_t (backward)", " + "),
    "mul": ("h_t (forward) ⊙ h_t (backward)", " ⊙ "),
    "ave": ("(h_t (forward) + h_t (backward)) / 2", " + "),
}
LABEL = {"h_prev": "h_{t-1}", "c_prev": "c_{t-1}"}


@dataclass(frozen=True)
class Equation:
    node: str
    text: str  # e.g. f_t = σ(x_t·W_f + h_{t-1}·U_f + b_f)
    shapes: str  # e.g. (B,4)·(4,2) + (B,2)·(2,2) + (2,) → (B,2)


# Shapes inside an equation's operands go without spaces: (B,4)·(4,2).
compact = partial(format_shape, sep=",")


class _Explainer:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.cfg = report.config
        self.fw = self.cfg.convention
        self.shapes = {node.id: node.shape for node in report.nodes}

    def find(self, layer: int, kind: str, gate: str) -> list[tuple[Weight, Block]]:
        found = []
        for w in self.report.weights:
            if w.layer == layer and w.direction in (0, None):
                found += [(w, b) for b in w.blocks if b.kind == kind and b.gate == gate]
        return found

    def product(self, left: str, left_shape: tuple[object, ...], pair: tuple[Weight, Block]) -> tuple[str, str]:
        weight, block = pair
        name = self.fw.symbol(block)
        stored = compact(weight.block_shape(block))
        tee = "ᵀ" if block.transposed else ""
        return f"{left}·{name}{tee}", f"{compact(left_shape)}·{stored}{tee}"

    def vector(self, pair: tuple[Weight, Block]) -> tuple[str, str]:
        weight, block = pair
        return self.fw.symbol(block), compact(weight.block_shape(block))

    def gate_terms(self, layer: int, prefix: str, gate: str) -> list[tuple[str, str]]:
        x_shape, h_shape = self.shapes[prefix + "x_t"], self.shapes[prefix + "h_prev"]
        terms: list[tuple[str, str]] = []
        if self.fw.fused_kernel:
            # One kernel block over [x_t, h_{t-1}] that stacks W (rows for x) over U.
            (w, bw), (_, bu) = self.find(layer, "W", gate)[0], self.find(layer, "U", gate)[0]
            rows = w.block_shape(bw)[0] + w.block_shape(bu)[0]
            cat = self.shapes[prefix + "xh_t"]
            terms.append((f"[x_t, h_{{t-1}}]·K_{bw.letter}", f"{compact(cat)}·({rows},{w.block_shape(bw)[1]})"))
        else:
            for kind, left, shape in (("W", "x_t", x_shape), ("U", "h_{t-1}", h_shape)):
                for pair in self.find(layer, kind, gate):
                    terms.append(self.product(left, shape, pair))
        for kind in ("b", "bx", "bh"):
            terms += [self.vector(pair) for pair in self.find(layer, kind, gate)]
        return terms

    def equation(self, node: Node) -> Equation:
        layer = node.layer or 0
        prefix = layer_prefix(self.cfg, layer) if node.layer is not None else ""
        base = node.id.removeprefix(prefix)
        out = compact(node.shape)
        label = node.label if base not in ("g_t",) else "g_t"
        shape_of = {k[len(prefix):]: v for k, v in self.shapes.items() if k.startswith(prefix) or not prefix}

        def s(node_id: str) -> str:
            return compact(shape_of[node_id])

        if base in ("x_t", "h_prev", "c_prev") and node.op in ("input", "state"):
            what = "the input at step t" if node.op == "input" else "carried over from step t-1"
            return Equation(node.id, f"{LABEL.get(base, base)}: {what}", out)
        if base == "x_t":
            return Equation(node.id, f"x_t = {node.op} (layer {layer - 1}'s output)", f"{compact(self.shapes[node.op])} → {out}")
        if base in ("hx_t", "xh_t"):
            order = ("x_t", "h_prev") if base == "xh_t" else ("h_prev", "x_t")
            names = ", ".join(LABEL.get(n, n) for n in order)
            return Equation(node.id, f"{base} = [{names}]", ", ".join(s(n) for n in order) + f" → {out}")
        cell = self.cfg.cell
        if base in ACT and not (base == "h_t" and cell != "rnn") and not (base == "n_t"):
            terms = self.gate_terms(layer, prefix, base)
            extra = []
            if cell == "lstm":
                peep = self.find(layer, "P", base)
                if peep:
                    state = "c_t" if base == "o_t" else "c_prev"
                    name, shape = self.vector(peep[0])
                    extra.append((f"{name} ⊙ {LABEL.get(state, state)}", f"{shape} ⊙ {s(state)}"))
                if base == "f_t" and self.fw.forget_bias:
                    extra.append(("forget_bias", "()"))
            texts, shapes = zip(*(terms + extra))
            act = self.cfg.convention.rnn_activation if base == "h_t" else ACT[base]  # a simple RNN's h_t
            return Equation(node.id, f"{label} = {act}({' + '.join(texts)})", f"{' + '.join(shapes)} → {out}")
        if base == "n_t":
            return self.candidate(node, layer, prefix, s)
        if base == "c_t":
            return Equation(node.id, "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t",
                            f"{s('f_t')} ⊙ {s('c_prev')} + {s('i_t')} ⊙ {s('g_t')} → {out}")
        if base == "m_t":
            return Equation(node.id, "m_t = o_t ⊙ tanh(c_t)", f"{s('o_t')} ⊙ {s('c_t')} → {out}")
        if base == "h_t" and cell == "lstm":
            if self.cfg.proj is not None:
                (pair,) = self.find(layer, "proj", "")
                projected, operands = self.product("m_t", shape_of["m_t"], pair)
                return Equation(node.id, f"h_t = {projected}", f"{operands} → {out}")
            return Equation(node.id, "h_t = o_t ⊙ tanh(c_t)", f"{s('o_t')} ⊙ {s('c_t')} → {out}")
        if base == "h_t":  # GRU
            update = ("z_t ⊙ h_{t-1} + (1 - z_t) ⊙ n_t" if self.cfg.convention.gru_z_keeps
                      else "(1 - z_t) ⊙ h_{t-1} + z_t ⊙ n_t")
            return Equation(node.id, f"h_t = {update}",
                            f"{s('z_t')} ⊙ {s('h_prev')} + {s('z_t')} ⊙ {s('n_t')} → {out}")
        if base == "y_t":
            text, join = Y_T[self.cfg.merge_mode]
            return Equation(node.id, f"y_t = {text}", f"{s('h_t')}{join}{s('h_t')} → {out}")
        if node.id == "logits":
            source = node.inputs[0]
            kernel = [(w, b) for w in self.report.weights for b in w.blocks if b.kind == "head_W"]
            bias = [w for w in self.report.weights for b in w.blocks if b.kind == "head_b"]
            head_names = self.fw.head_words
            ((w, bw),) = kernel
            tee = "ᵀ" if bw.transposed else ""
            reads = self.fw.head_text(self.cfg)
            every = self.cfg.head_reads == "every-step"
            text = f"logits{'_t' if every else ''} = {source}·{head_names[0]}{tee}" + (f" + {head_names[1]}" if bias else "")
            shapes = f"{compact(self.shapes[source])}·{compact(w.shape)}{tee}" + "".join(
                f" + {compact(v.shape)}" for v in bias
            )
            when = f"for every t, on {reads}" if every else f"once, on {reads}"
            return Equation(node.id, f"{text} ({when})", f"{shapes} → {out}")
        if node.id == "probs":
            return Equation(node.id, f"probs = {node.op}", f"{compact(self.shapes['logits'])} → {out}")
        return Equation(node.id, f"{node.id} = {node.op}", out)

    def candidate(self, node: Node, layer: int, prefix: str, s: object) -> Equation:
        x_shape, h_shape = self.shapes[prefix + "x_t"], self.shapes[prefix + "h_prev"]
        w = self.find(layer, "W", "n_t")[0]
        u = self.find(layer, "U", "n_t")[0]
        bx = self.find(layer, "b", "n_t") + self.find(layer, "bx", "n_t")
        bh = self.find(layer, "bh", "n_t")
        out = compact(node.shape)
        if self.fw.fused_kernel:
            # The candidate kernel multiplies [x_t, r ⊙ h_{t-1}], as TF1's GRUCell does.
            (kw, kb), (_, ub) = w, u
            rows = kw.block_shape(kb)[0] + kw.block_shape(ub)[0]
            (bias_name, bias_shape), = [self.vector(p) for p in bx]
            cat = f"({x_shape[0]},{rows})"
            return Equation(node.id, f"n_t = tanh([x_t, r_t ⊙ h_{{t-1}}]·K_{kb.letter} + {bias_name})",
                            f"{cat}·({rows},{kw.block_shape(kb)[1]}) + {bias_shape} → {out}")
        xw, xw_shape = self.product("x_t", x_shape, w)
        inner_terms = [(xw, xw_shape)] + [self.vector(p) for p in bx]
        if self.cfg.reset_after:
            hu, hu_shape = self.product("h_{t-1}", h_shape, u)
            rec = " + ".join([hu] + [self.vector(p)[0] for p in bh])
            rec_shape = " + ".join([hu_shape] + [self.vector(p)[1] for p in bh])
            text = f"n_t = tanh({' + '.join(t for t, _ in inner_terms)} + r_t ⊙ ({rec}))"
            shapes = f"{' + '.join(sh for _, sh in inner_terms)} + {compact(node.shape)} ⊙ ({rec_shape}) → {out}"
        else:
            hu, hu_shape = self.product("(r_t ⊙ h_{t-1})", h_shape, u)
            tail = [self.vector(p) for p in bh]
            text = f"n_t = tanh({' + '.join([t for t, _ in inner_terms] + [hu] + [t for t, _ in tail])})"
            shapes = " + ".join([sh for _, sh in inner_terms] + [hu_shape] + [sh for _, sh in tail]) + f" → {out}"
        return Equation(node.id, text, shapes)


def equations(report: Report) -> tuple[Equation, ...]:
    """One equation per node of the report, in data-flow order."""
    explainer = _Explainer(report)
    return tuple(explainer.equation(node) for node in report.nodes)
