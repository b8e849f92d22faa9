"""Explain recurrent layers' shape errors from their text: pasted messages in, findings out, in order.

Each recogniser is a pattern for one real message (recorded in tests/files/errors/). The tensors a
message names are read with the frameworks' own parse_name and symbolic weights, so the sizes behind
a shape (4·h = 1024, h = 256) are worked out the same way for every convention the registry knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .config import CELLS, Config
from .errors import ConfigError
from .formula import Expr
from .frameworks import REGISTRY, Framework
from .parsing import PROBE, SIZE, SIZES, candidates

Shape = tuple[int, ...]
Place = tuple[int, int, str]  # (layer, direction, kind) of a recurrent tensor
# A side of a comparison: the checkpoint or file and the model, or what was expected and what was given.
SIDES = ("checkpoint", "model")
# The libraries whose messages are read here, as the frameworks' `library` names them.
TORCH, KERAS, TF_KERAS = "PyTorch", "Keras 3", "tf.keras 2"


@dataclass(frozen=True)
class Difference:
    """A setting that differs, with its value on each side (None where the text does not show it)."""

    setting: str  # the Config field, e.g. "hidden"
    name: str  # as the framework's constructor calls it, e.g. "hidden_size"
    values: tuple[tuple[str, object], ...]  # (side, value), e.g. (("checkpoint", 256), ("model", 128))


@dataclass(frozen=True)
class Finding:
    """One recognised error: the quoted message, what it means, the settings that differ and how to fix it."""

    message: str
    source: str  # the library whose message it is, e.g. "PyTorch"
    meaning: tuple[str, ...]
    differences: tuple[Difference, ...] = ()
    fix: tuple[str, ...] = ()
    recognised: bool = True


@dataclass(frozen=True)
class Unrecognised:
    """A part of the text that no recogniser placed."""

    message: str
    recognised: bool = field(default=False, init=False)


# --- reading the text -------------------------------------------------------------------------------

EXC = r"(?:[\w.]*(?:Error|Exception): )?"  # the exception's class, as a traceback prints it before the message
SHAPE = r"[(\[]\s*(?:-?\d+|None)?(?:\s*,\s*(?:-?\d+|None))*\s*,?\s*[)\]]"
STATE_DICT = re.compile(EXC + r"Error\(s\) in loading state_dict for [\w.]+:\s*\n((?:[ \t]+\S.*(?:\n|$))+)")
SIZE_MISMATCH = re.compile(
    r"size mismatch for ([\w.]+): copying a param with shape torch\.Size\((\[[\d, ]*\])\) from checkpoint, "
    r"the shape in current model is torch\.Size\((\[[\d, ]*\])\)\.?")
KEYS = re.compile(r"(Missing|Unexpected) key\(s\) in state_dict: ((?:\"[^\"\n]*\"(?:, )?)+)\.?[ \t]*")
INPUT_SIZE = re.compile(EXC + r"input\.size\(-1\) must be equal to input_size\. Expected (\d+), got (\d+)")
HIDDEN = re.compile(EXC + r"Expected hidden(\[[01]\])? size (" + SHAPE + r"), got (" + SHAPE + ")")
UNBATCHED = re.compile(EXC + r"For unbatched 2-D input, (hx and cx|hx) should also be 2-D but got "
                             r"\(?(\d)-D(?:, (\d)-D)?\)? tensors?")
INPUT_NDIM = re.compile(EXC + r"(LSTM|GRU|RNN): Expected input to be 2D or 3D, got (\d)D instead")
# The whole message, or only its core as people quote it ("expected ndim=3, found ndim=2").
KERAS_NDIM = re.compile(EXC + r"(?:Input (\d+) (?:with name '[^'\n]*' )?of layer [\"']?([\w.-]+)[\"']? is incompatible with "
                              r"the layer: )?expected ndim=(\d+), found ndim=(\d+)(?:\. Full shape received: (" + SHAPE + "))?")
KERAS_SHAPE = re.compile(EXC + r"Input (\d+) (?:with name '[^'\n]*' )?of layer [\"']?([\w.-]+)[\"']? is incompatible with "
                               r"the layer: expected shape=(" + SHAPE + r"), found shape=(" + SHAPE + ")")
KERAS_MATMUL = re.compile(EXC + r"Exception encountered when calling (\w+)\.call\(\)\.\s*(?:\x1b\[[\d;]*m)?"
                                r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)(?:\x1b\[[\d;]*m)?")
KERAS_ASSIGN = re.compile(
    r"(?:The shape of the target variable and the shape of the target value in `variable\.assign\(value\)` must "
    r"match\. )?variable\.shape=(" + SHAPE + r"), Received: value\.shape=(?:torch\.Size\()?(" + SHAPE + r")\)?\. "
    r"Target variable: <Variable path=([\w./-]+)[^>]*>")
KERAS_SET = re.compile(EXC + r"Layer ([\w.-]+) weight shape (" + SHAPE + r") is not compatible with provided weight "
                             r"shape (" + SHAPE + r")\.?")
# What stays of a traceback around a message: not a part to explain.
NOISE = re.compile(r"Traceback \(most recent call last\):|  File \".*|    .*|\s*\^+\s*|\w[\w.]*(?:Error|Exception):?\s*"
                   r"|During handling of the above exception.*|The above exception was the direct cause.*"
                   r"|Arguments received by .*|  • .*|List of objects that could not be loaded:|\[<.*>\]|.*\]\]>\s*"
                   r"|\s*\[?\[?\s*-?\d[\d.e\s+-]*\]?\]?|\s*\.\.\.\s*|A total of \d+ objects could not be loaded\..*")


def diagnose(text: str) -> list[Finding | Unrecognised]:
    """Every error in `text`, explained, in the order they appear; the parts no recogniser places as Unrecognised."""
    spans: list[tuple[int, int, Finding]] = []
    for pattern, explain in RECOGNISERS:
        for m in pattern.finditer(text):
            if any(start <= m.start() < end or m.start() <= start < m.end() for start, end, _ in spans):
                continue  # already part of an earlier recogniser's message
            spans.append((m.start(), m.end(), explain(m)))
    spans.sort(key=lambda span: span[0])
    out: list[Finding | Unrecognised] = []
    at = 0
    for start, end, finding in spans:
        out += _leftovers(text[at:start])
        out.append(finding)
        at = end
    return out + _leftovers(text[at:])


def _leftovers(text: str) -> list[Unrecognised]:
    """The paragraphs of `text` that are more than a traceback's frames and punctuation."""
    paragraphs: list[list[str]] = [[]]
    for line in text.replace("\x1b[0m", "").replace("\x1b[1m", "").splitlines():
        if not line.strip():
            paragraphs.append([])
        elif not NOISE.fullmatch(line) and line.strip(" .:;,") != "":
            paragraphs[-1].append(line.strip())
    return [Unrecognised(" ".join(lines)) for lines in paragraphs if lines]


def _shape(text: str) -> tuple[int | None, ...]:
    """`(None, 5, 20)`, `[1, 40, 302]` or `torch.Size([2, 20])`'s inner list as a tuple, None for None."""
    return tuple(None if part.strip() == "None" else int(part) for part in text.strip("()[] ").split(",") if part.strip())


def _text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _library(name: str) -> Framework:
    """The first framework whose messages come from `name`'s package (e.g. torch's nn.LSTM)."""
    return next(fw for fw in REGISTRY.values() if fw.library == name)


def _arg(fw: Framework, setting: str) -> str:
    """A Config field as the framework's constructor names it, else as lstm-shapes' option does."""
    return fw.arguments.get(setting) or "--" + setting.replace("_", "-")


# --- solving sizes from shapes -----------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """One structure that fits one side's tensors, with the sizes its shapes give."""

    fw: Framework
    config: Config  # a probe build: its sizes stand in; `sizes` holds the solved ones
    sizes: dict[str, int]
    dims: dict[Place, tuple[Expr, ...]]

    def value(self, setting: str) -> object:
        if setting in ("input", "hidden", "proj"):
            symbol = {"input": "x", "hidden": "h", "proj": "p"}[setting]
            if setting == "proj" and self.config.proj is None:
                return None
            return self.sizes.get(symbol)
        return getattr(self.config, setting)

    def constructor(self) -> str:
        """The layer as user code builds it, with the sizes the shapes give (… where they do not)."""
        fw, c = self.fw, self.config
        given = [_known(self.value("input")), _known(self.value("hidden"))]
        defaults = {"layers": 1, "bidirectional": False, "proj": None, "bias": True}
        for setting, default in defaults.items():
            if setting in fw.arguments and self.value(setting) != default:
                given.append(f"{fw.arguments[setting]}={_known(self.value(setting))}")
        return f"{fw.layer_classes.get(c.cell, c.cell.upper())}({', '.join(given)})"

    def command(self) -> str:
        """The lstm-shapes command that lists these tensors."""
        c = self.config
        words = [f"lstm-shapes --framework {self.fw.name}"]
        if c.cell != CELLS[0]:
            words.append(f"--cell {c.cell}")
        words.append(f"--input {self.value('input') or 'X'} --hidden {self.value('hidden') or 'H'}")
        if c.layers > 1:
            words.append(f"--layers {c.layers}")
        if c.bidirectional:
            words.append("--bidirectional")
        if c.proj is not None:
            words.append(f"--proj {self.value('proj') or 'P'}")
        if not c.bias:
            words.append("--no-bias")
        return " ".join(words)


def _known(value: object) -> str:
    return "…" if value is None else str(value)


def readings(fw: Framework, shaped: dict[Place, Shape], present: set[Place], absent: set[Place]) -> dict[str, Reading]:
    """For each cell, the plainest structure (bias on, no projection) that has every `present` tensor, none
    of the `absent` ones, and sizes that give every `shaped` tensor its shape."""
    layers = max((place[0] for place in present), default=0) + 1
    directions = (True,) if any(place[1] == 1 for place in present) else (False,)
    found: dict[str, tuple[int, Reading]] = {}
    for shape in candidates(fw, layers, directions, set()):
        if shape["hidden"] is SIZES:
            continue  # one module's layers share a size
        try:
            probe = Config(**{k: PROBE[k] if v is SIZE else v for k, v in shape.items()})  # type: ignore[arg-type]
        except ConfigError:
            continue
        dims = {}
        for w in fw.weights(probe):
            place = fw.parse_name(w.name)
            if place is not None and w.layer is not None:
                dims[(place[0] or 0, place[1] or 0, place[2])] = w.dims
        if not present <= dims.keys() or absent & dims.keys():
            continue
        sizes = solve([(dims[place], got) for place, got in shaped.items()])
        if sizes is None or not _valid(shape, sizes):
            continue
        plainness = (not probe.bias) + (probe.proj is not None) + probe.peepholes
        if probe.cell not in found or plainness < found[probe.cell][0]:
            found[probe.cell] = (plainness, Reading(fw, probe, sizes, dims))
    return {cell: reading for cell, (_, reading) in found.items()}


def _valid(shape: dict[str, object], sizes: dict[str, int]) -> bool:
    """Whether the framework has the candidate at the solved sizes (PyTorch's proj_size < hidden_size, ...)."""
    solved = {"input": sizes.get("x", PROBE["input"]), "hidden": sizes.get("h", PROBE["hidden"]),
              "proj": sizes.get("p", PROBE["proj"])}
    if "h" not in sizes and "p" in sizes:
        solved["hidden"] = solved["proj"] + 1  # any wider cell will do
    try:
        Config(**{k: solved.get(k, PROBE.get(k)) if v is SIZE else v for k, v in shape.items()})  # type: ignore[arg-type]
    except ConfigError:
        return False
    return True


def solve(pairs: list[tuple[tuple[Expr, ...], Shape]]) -> dict[str, int] | None:
    """Sizes for the symbols that make every dimension its shape's (4·h = 1024 gives h = 256), or None if none do."""
    dims = []
    for exprs, shape in pairs:
        if len(exprs) != len(shape):
            return None
        dims += zip(exprs, shape)
    sizes: dict[str, int] = {}
    progress = True
    while progress:
        progress = False
        for expr, value in dims:
            open_ = expr.names() - sizes.keys()
            if len(open_) == 1:
                (name,) = open_
                b = expr.evaluate({**sizes, name: 0})
                a = expr.evaluate({**sizes, name: 1}) - b
                if a <= 0 or (value - b) % a or (value - b) // a < 1:
                    return None
                sizes[name] = (value - b) // a
                progress = True
    if any(not expr.names() - sizes.keys() and expr.evaluate(sizes) != value for expr, value in dims):
        return None
    return sizes


def _pair(left: dict[str, Reading], right: dict[str, Reading]) -> tuple[Reading, Reading, list[str]] | None:
    """The readings of both sides that differ least (the same cell first), and the other cells that also fit."""
    same = [(left[c], right[c]) for c in CELLS if c in left and c in right]
    pairs = same or [(left[a], right[b]) for a in CELLS for b in CELLS if a in left and b in right]
    if not pairs:
        return None
    best = min(pairs, key=lambda pair: len(_differences(*pair)))
    others = [a.config.cell for a, _ in same if a is not best[0]]
    return best[0], best[1], others


SETTINGS = ("cell", "input", "hidden", "proj", "layers", "bidirectional", "bias")


def _differences(left: Reading, right: Reading, sides: tuple[str, str] = SIDES) -> list[Difference]:
    out = []
    for setting in SETTINGS:
        a, b = left.value(setting), right.value(setting)
        if setting in ("input", "hidden") and (a is None or b is None):
            continue  # the text does not show it on one side
        if a != b:
            if setting == "cell":
                a, b = left.fw.layer_classes.get(str(a), a), right.fw.layer_classes.get(str(b), b)
            out.append(Difference(setting, _arg(left.fw, setting) if setting != "cell" else "cell", ((sides[0], a), (sides[1], b))))
    return out


def _dims_text(reading: Reading, place: Place) -> str:
    dims = reading.dims[place]
    return "(" + ", ".join(d.render() for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _sizes_text(reading: Reading, place: Place) -> str:
    names = sorted({n for d in reading.dims[place] for n in d.names()}, key="xhp".find)
    return ", ".join(f"{n} = {reading.sizes[n]}" for n in names if n in reading.sizes)


# --- PyTorch's load_state_dict -------------------------------------------------------------------------

def _split_name(fw_list: list[Framework], name: str) -> tuple[str, Framework, Place] | None:
    """`encoder.rnn.weight_ih_l0` as its module's prefix, the framework that reads it and its place."""
    parts = name.split(".")
    for i in range(len(parts) - 1, -1, -1):
        tail = ".".join(parts[i:])
        for fw in fw_list:
            place = fw.parse_name(tail)
            if place is not None and place[2] not in fw.head_kinds:
                return ".".join(parts[:i]) + ("." if i else ""), fw, (place[0] or 0, place[1] or 0, place[2])
    return None


def explain_state_dict(m: re.Match[str]) -> Finding:
    body = m[1]
    mismatches = [(n, _shape(a), _shape(b)) for n, a, b in SIZE_MISMATCH.findall(body)]
    keys = {"Missing": [], "Unexpected": []}  # type: dict[str, list[str]]
    for which, listed in KEYS.findall(body):
        keys[which] += re.findall(r'"([^"]*)"', listed)
    return _state_dict_finding(m[0].strip(), mismatches, keys["Missing"], keys["Unexpected"])


def explain_size_mismatch(m: re.Match[str]) -> Finding:
    return _state_dict_finding(m[0].strip(), [(m[1], _shape(m[2]), _shape(m[3]))], [], [])


def _state_dict_finding(message: str, mismatches: list[tuple[str, Shape, Shape]], missing: list[str],
                        unexpected: list[str]) -> Finding:
    torch = [fw for fw in REGISTRY.values() if fw.library == TORCH]
    meaning: list[str] = []
    differences: list[Difference] = []
    fix: list[str] = []
    others = []
    # Group by module: each nn.LSTM is one prefix; the same tensors under other prefixes are a rename.
    modules: dict[str, dict[str, object]] = {}

    def module(name: str) -> tuple[dict[str, object], Place] | None:
        split = _split_name(torch, name)
        if split is None:
            return None
        prefix, fw, place = split
        entry = modules.setdefault(prefix, {"fw": fw, "ckpt": {}, "model": {}, "missing": set(), "unexpected": set()})
        return entry, place

    for name, ckpt, model in mismatches:
        found = module(name)
        if found is None:
            others.append(f"{name}: {_text(ckpt)} in the checkpoint, {_text(model)} in the model")
            continue
        entry, place = found
        entry["ckpt"][place], entry["model"][place] = ckpt, model  # type: ignore[index]
    for which, names in (("missing", missing), ("unexpected", unexpected)):
        for name in names:
            found = module(name)
            if found is not None:
                found[0][which].add(found[1])  # type: ignore[attr-defined]
    renamed = _renames(modules, missing, unexpected)
    if renamed:
        meaning.append(renamed[0])
        fix.append(renamed[1])
    for prefix, entry in modules.items():
        if renamed and not entry["ckpt"] and (not entry["missing"] or not entry["unexpected"]):
            continue  # its tensors are the renamed ones, said above
        fw = entry["fw"]
        assert isinstance(fw, Framework)
        ckpt_shapes, model_shapes = entry["ckpt"], entry["model"]
        miss, extra = entry["missing"], entry["unexpected"]
        assert isinstance(ckpt_shapes, dict) and isinstance(model_shapes, dict)
        assert isinstance(miss, set) and isinstance(extra, set)
        left = readings(fw, ckpt_shapes, set(ckpt_shapes) | extra, miss)
        right = readings(fw, model_shapes, set(model_shapes) | miss, extra)
        pair = _pair(left, right)
        where = f"module {prefix[:-1]}" if prefix else "the module"
        if pair is None:
            meaning.append(f"No {', '.join(fw.layer_classes.values())} gives these shapes for {where}.")
            continue
        ckpt, model, alternatives = pair
        for place in ckpt_shapes:
            name = fw.tensor_name(ckpt.config, place[0], place[1], place[2])
            if ckpt.config.cell == model.config.cell:
                meaning.append(f"{prefix}{name} is {_dims_text(ckpt, place)} in {fw.layer_classes[ckpt.config.cell]}: "
                               f"the checkpoint's {_text(ckpt_shapes[place])} has {_sizes_text(ckpt, place)}, "
                               f"the model's {_text(model_shapes[place])} has {_sizes_text(model, place)}.")
            else:
                meaning.append(f"{prefix}{name}: the checkpoint's {_text(ckpt_shapes[place])} is {_dims_text(ckpt, place)} "
                               f"of {fw.layer_classes[ckpt.config.cell]} with {_sizes_text(ckpt, place)}; the model's "
                               f"{_text(model_shapes[place])} is {_dims_text(model, place)} of "
                               f"{fw.layer_classes[model.config.cell]} with {_sizes_text(model, place)}.")
        said = _differences(ckpt, model)
        for difference in said:
            meaning.append(_said(difference, miss, extra, fw))
        differences += said
        if ckpt_shapes:  # without shapes any cell fits, and saying so adds nothing
            for cell in alternatives:
                meaning.append(f"As {fw.layer_classes[cell]} the same shapes read {right[cell].constructor()} in the model "
                               f"and {left[cell].constructor()} in the checkpoint; the message does not name the cell.")
        if said:
            settings = ", ".join(f"{d.name}={d.values[0][1]}" for d in said if d.setting != "cell")
            cell = [f"{d.values[0][1]} (not {d.values[1][1]})" for d in said if d.setting == "cell"]
            sized = ckpt.value("input") is not None and ckpt.value("hidden") is not None
            full = f", in full {ckpt.constructor()}; `{ckpt.command()}` lists its tensors" if sized and not alternatives else ""
            fix.append(f"Build {where} as the checkpoint was made: " + " with ".join(cell + ([settings] if settings else []))
                       + full + ". Or train the new settings from scratch instead of loading the checkpoint.")
    if others:
        meaning.append("Also differs (not a recurrent tensor: a layer reading the recurrent output changes with "
                       "its width): " + "; ".join(others) + ".")
    return Finding(message, TORCH, tuple(meaning), tuple(differences), tuple(fix))


def _said(difference: Difference, missing: set[Place], unexpected: set[Place], fw: Framework) -> str:
    (_, a), (_, b) = difference.values
    name = difference.name
    if difference.setting == "bidirectional":
        which, listed = ("model", missing) if b else ("checkpoint", unexpected)
        names = ", ".join(sorted({kind for _, d, kind in listed if d == 1}))
        return (f"{name}: the {which} has a backward direction (the *_reverse tensors: {names}) that the "
                f"{'checkpoint' if b else 'model'} lacks.")
    if difference.setting == "layers":
        return f"{name}: the checkpoint has {a} layer{'s' * (a != 1)}, the model {b} (layer l{min(a, b)} and up are {'missing' if b > a else 'unexpected'})."  # type: ignore[call-overload,operator]
    if difference.setting == "proj":
        if a is None or b is None:
            which = "model" if a is None else "checkpoint"
            return (f"{name}: the {which} projects h_t to {b or a} units (weight_hr), the "
                    f"{'checkpoint' if a is None else 'model'} has no projection.")
        return f"{name}: the checkpoint projects h_t to {a} units, the model to {b}."
    if difference.setting == "bias":
        return f"{name}: the checkpoint {'has' if a else 'has no'} biases, the model {'has' if b else 'has none'}."
    return f"{name}: {a} in the checkpoint, {b} in the model."


def _renames(modules: dict[str, dict[str, object]], missing: list[str], unexpected: list[str]) -> tuple[str, str] | None:
    """The same tensors missing under one prefix and unexpected under another: the checkpoint's names differ."""
    lost = {p: e for p, e in modules.items() if e["missing"] and not e["unexpected"] and not e["ckpt"]}
    new = {p: e for p, e in modules.items() if e["unexpected"] and not e["missing"] and not e["ckpt"]}
    for model_prefix, a in lost.items():
        for ckpt_prefix, b in new.items():
            if a["missing"] == b["unexpected"]:
                if ckpt_prefix.endswith(model_prefix):
                    extra = ckpt_prefix[: len(ckpt_prefix) - len(model_prefix)]
                    code = f"{{k.removeprefix({extra!r}): v for k, v in state_dict.items()}}"
                    why = (" (a model saved while wrapped in nn.DataParallel or DistributedDataParallel)"
                           if extra == "module." else "")
                    said = f"The checkpoint's names start with {extra!r} where the model's do not{why}; the tensors are the same."
                elif model_prefix.endswith(ckpt_prefix):
                    extra = model_prefix[: len(model_prefix) - len(ckpt_prefix)]
                    code = f"{{{extra!r} + k: v for k, v in state_dict.items()}}"
                    said = f"The model's names start with {extra!r} where the checkpoint's do not; the tensors are the same."
                else:
                    code = f"{{k.replace({ckpt_prefix!r}, {model_prefix!r}, 1): v for k, v in state_dict.items()}}"
                    said = (f"The checkpoint calls the module {ckpt_prefix[:-1]!r}, the model {model_prefix[:-1]!r}; "
                            f"the tensors are the same.")
                return said, f"Rename the keys before loading: model.load_state_dict({code})."
    return None


# --- PyTorch's forward calls ------------------------------------------------------------------------------

def explain_input_size(m: re.Match[str]) -> Finding:
    expected, got = int(m[1]), int(m[2])
    fw = _library(TORCH)
    arg = _arg(fw, "input")
    return Finding(
        m[0], TORCH,
        (f"The layer was built with {arg}={expected} features per time step; the input's last axis has {got}.",
         f"If {got} is the sequence's length, the input is (N, x, T), channels first as nn.Conv1d gives it: "
         f"the layer reads (T, N, x), or (N, T, x) with batch_first=True."),
        (Difference("input", arg, (("layer", expected), ("input", got))),),
        (f"Build the layer with {arg}={got} (e.g. {fw.layer_classes[CELLS[0]]}({got}, hidden_size)), or feed it "
         f"{expected} features per step; for (N, x, T) input use input.permute(0, 2, 1) and batch_first=True.",))


def explain_hidden(m: re.Match[str]) -> Finding:
    which, expected, got = m[1] or "", _shape(m[2]), _shape(m[3])
    fw = _library(TORCH)
    state = {"[0]": "h_0", "[1]": "c_0", "": "h_0"}[which]
    meaning = [f"{state} must be (D·L, N, {'h' if state == 'c_0' else 'r'}): num_layers × directions, the batch, and "
               + ("hidden_size." if state == "c_0" else "hidden_size (proj_size when the LSTM has one).")
               + f" The layer expects {_text(expected)} and got {_text(got)}."]
    differences: list[Difference] = []
    fix: list[str] = []
    sides = (("expected", None), ("got", None))
    if len(expected) != 3 or len(got) != 3:
        return Finding(m[0], TORCH, tuple(meaning), (), (f"Give {state} three axes: (D·L, N, size).",))
    (dl, n, size), (dl2, n2, size2) = expected, got
    assert dl is not None and n is not None and size is not None and dl2 is not None and n2 is not None
    if dl != dl2:
        ways = [f"{_arg(fw, 'layers')}={dl}"] + ([f"{_arg(fw, 'layers')}={dl // 2} and bidirectional=True"]
                                                  if dl % 2 == 0 else [])
        meaning.append(f"Axis 0 is num_layers × (2 if bidirectional else 1): the layer has {dl} ({' or '.join(ways)}), "
                       f"{state} was made for {dl2}.")
        differences.append(Difference("layers", "num_layers * directions", (("expected", dl), ("got", dl2))))
        fix.append(f"Make {state} with {dl} rows: torch.zeros(num_layers * (2 if bidirectional else 1), N, size), "
                   f"here torch.zeros({dl}, {n}, {size}).")
    if n != n2:
        smaller = "smaller" if n < n2 else "larger"  # type: ignore[operator]
        meaning.append(
            f"Axis 1 is the batch, which the layer takes from the input: input.size(1), or input.size(0) with "
            f"batch_first=True. The input's batch is {n}; {state} was made for {n2}. Two causes fit: the input is laid out "
            f"the other way (a ({n2}, {n}, x) input read with the wrong batch_first, so its {n} steps pass for the "
            f"batch), or {state} was made for a batch of {n2} and this batch is {smaller}"
            + (" (a DataLoader's last, partial batch)." if n < n2 else " (a state kept from an earlier, smaller batch)."))
        differences.append(Difference("batch", "batch (N)", (("expected", n), ("got", n2))))
        fix.append(f"If the batch is {n2}, set batch_first to match the input's layout ((N, T, x) needs "
                   f"batch_first=True). If it is {n}, make {state} from the input, torch.zeros({dl}, "
                   f"input.size(0 if batch_first else 1), {size}), or pass no state (zeros), or use DataLoader(drop_last=True).")
    if size != size2:
        arg = _arg(fw, "hidden") + ("" if state == "c_0" else f" (or {_arg(fw, 'proj')})")
        meaning.append(f"Axis 2 is the state's width: the layer's {arg} is {size}, {state} was made with {size2}.")
        differences.append(Difference("hidden", arg, (("expected", size), ("got", size2))))
        fix.append(f"Make {state} {size} wide: torch.zeros({dl}, {n}, {size}), or build the layer {size2} wide ({arg}).")
    del sides
    return Finding(m[0], TORCH, tuple(meaning), tuple(differences), tuple(fix))


def explain_unbatched(m: re.Match[str]) -> Finding:
    states = "h_0 and c_0" if "cx" in m[1] else "h_0"
    return Finding(
        m[0], TORCH,
        (f"The input is 2-D, (T, x): one sequence without a batch axis, so {states} must be 2-D too, (D·L, h); "
         f"they are {m[2]}-D, made for a batch.",),
        (Difference("batch", "input's batch axis", (("input", "none"), (states, "present"))),),
        (f"Give the input its batch axis, input.unsqueeze(1) (input.unsqueeze(0) with batch_first=True), "
         f"or make {states} 2-D, without the batch axis.",))


def explain_input_ndim(m: re.Match[str]) -> Finding:
    ndim = int(m[2])
    fw = _library(TORCH)
    return Finding(
        m[0], TORCH,
        (f"nn.{m[1]} reads (T, N, x), (N, T, x) with batch_first=True, or (T, x) for one sequence; the input has {ndim} "
         f"axes.",),
        (Difference("input", "input's axes", (("expected", "2 or 3"), ("got", ndim))),),
        ("Fold the extra axes into the features, e.g. input.flatten(2) for (N, T, a, b) -> (N, T, a·b) with "
         f"batch_first=True; the layer's {_arg(fw, 'input')} is then a·b.",))


# --- Keras ------------------------------------------------------------------------------------------------

def _keras(m: re.Match[str]) -> Framework:
    """Keras 3's module for its wording (`with name`, single quotes), tf.keras 2's for the older one."""
    return _library(KERAS if "with name" in m[0] or "'" in m[0] else TF_KERAS)


def _keras_cell(fw: Framework, layer: str) -> str | None:
    """The cell a Keras layer's default name says (`gru_2` is a GRU), if it says one."""
    names = getattr(fw, "layer_names", {})
    base = re.sub(r"_\d+$", "", layer)
    return next((cell for cell, name in names.items() if name == base), None)


def explain_keras_ndim(m: re.Match[str]) -> Finding:
    fw = _keras(m)
    layer, expected, found = m[2], int(m[3]), int(m[4])
    shape = _shape(m[5]) if m[5] else ()
    cell = _keras_cell(fw, layer) if layer else None
    what = fw.layer_classes[cell] if cell else f"Layer {layer!r}" if layer else "A Keras recurrent layer"
    got = f"{found}: {_text(shape)}" if shape else str(found)
    meaning = [f"{what} reads (batch, timesteps, features), {expected} axes; it got {got}."]
    fix = []
    if found == 2 and len(shape) == 2:
        width = shape[1]
        meaning.append(f"{_text(shape)} has no time axis: either the data is one vector of {width} per sample, or the "
                       f"layer before is a recurrent layer returning only its last output ({width} units), without "
                       f"return_sequences=True.")
        fix.append(f"Before a second recurrent layer, give the first return_sequences=True. For data of {width} "
                   f"values per sample, add the time axis: keras.Input(({width}, 1)) ({width} steps of 1 feature, "
                   f"a Reshape(({width}, 1)) layer) or keras.Input((1, {width})) (one step of {width} features).")
    elif found > expected and len(shape) == found:
        steps, rest = shape[1], shape[2:]
        total = 1
        for d in rest:
            total = total * d if total is not None and d is not None else None  # type: ignore[operator]
        meaning.append(f"Axes {', '.join(map(str, range(2, found)))} must become one features axis.")
        fix.append(f"Fold them: keras.layers.Reshape(({steps}, {total if total is not None else -1})) before the layer, "
                   f"giving ({shape[0]}, {steps}, {total if total is not None else 'features'}).")
    elif found == 2:  # no shape quoted: the two usual causes
        meaning.append("Two axes, (batch, features), have no time axis: the data is one vector per sample, or the "
                       "layer before is a recurrent layer returning only its last output.")
        fix.append("Before a second recurrent layer, give the first return_sequences=True; for one vector of F values "
                   "per sample, add the time axis: keras.Input((F, 1)) or a Reshape((F, 1)) layer.")
    else:
        fix.append("Give the layer a (batch, timesteps, features) input.")
    return Finding(m[0], fw.library, tuple(meaning),
                   (Difference("ndim", "input's axes", (("expected", expected), ("found", found))),), tuple(fix))


def explain_keras_shape(m: re.Match[str]) -> Finding:
    fw = _keras(m)
    layer, expected, found = m[2], _shape(m[3]), _shape(m[4])
    meaning = [f"Layer {layer!r} was built for {_text(expected)} (batch, timesteps, features; None takes any) and got "
               f"{_text(found)}."]
    differences, fix = [], []
    names = ("batch", "timesteps", "features")
    if len(expected) == len(found) == 3:
        for axis, (a, b) in enumerate(zip(expected, found)):
            if a is not None and a != b:
                differences.append(Difference(("batch", "seq_len", "input")[axis], names[axis], (("expected", a), ("found", b))))
                meaning.append(f"Its {names[axis]} axis is {a}, the data's {b}.")
        for d in differences:
            (_, a), (_, b) = d.values
            if d.setting == "input":
                fix.append(f"Build the model for {b} features, keras.Input(({expected[1]}, {b})), and train it anew, or "
                           f"feed it the {a} features it was trained on.")
            elif d.setting == "seq_len":
                fix.append(f"Build it as keras.Input((None, {expected[2]})) to take sequences of any length, or pad/cut "
                           f"the data to {a} steps.")
            else:
                fix.append(f"Feed batches of {a}, or build it with keras.Input(batch_shape=(None, ...)).")
    return Finding(m[0], fw.library, tuple(meaning), tuple(differences), tuple(fix))


def explain_keras_matmul(m: re.Match[str]) -> Finding:
    fw = _library(KERAS)
    cls, rows, got, x, gh = m[1], int(m[2]), int(m[3]), int(m[4]), int(m[5])
    cell = next((c for c, name in fw.layer_classes.items() if name.rsplit(".", 1)[-1] == cls), None)
    meaning = [f"The {cls} layer multiplies each step's input ({rows} rows of batch × timesteps, {got} features) by "
               f"its kernel (x, G·h) = ({x}, {gh}): it was built for {x} features per step and got {got}."]
    if cell is not None:
        g = Config(input=1, hidden=1, cell=cell).gates
        if gh % g == 0:
            meaning.append(f"The kernel's {gh} columns are {g} gates × units = {g} × {gh // g}.")
    return Finding(
        " ".join(m[0].replace("\x1b[1m", "").replace("\x1b[0m", "").split()), fw.library, tuple(meaning),
        (Difference("input", "features", (("layer", x), ("input", got))),),
        (f"Feed {x} features per step, or build the model for {got}: keras.Input((timesteps, {got})), and train it anew.",))


def explain_keras_assign(m: re.Match[str]) -> Finding:
    variable, value, path = _shape(m[1]), _shape(m[2]), m[3]
    keras = [fw for fw in REGISTRY.values() if fw.library == KERAS]
    split = None
    parts = path.split("/")
    for fw in keras:
        for i in range(len(parts)):
            place = fw.parse_name("/".join(parts[i:]))
            if place is not None and place[2] not in fw.head_kinds:
                split = ("/".join(parts[:i]), fw, (0, place[1] or 0, place[2]))
                break
        if split:
            break
    message = m[0].split(", shape=")[0] + ">"  # without the variable's values
    if split is None:
        return Finding(message, KERAS, (f"The variable {path} is {_text(variable)}; the file holds {_text(value)}.",),
                       (Difference("shape", path, (("model", variable), ("file", value))),),
                       ("Build the model with the settings the weights were saved with.",))
    _, fw, place = split
    left = readings(fw, {place: value}, {place}, set())  # type: ignore[dict-item]
    right = readings(fw, {place: variable}, {place}, set())  # type: ignore[dict-item]
    cell = _keras_cell(fw, parts[-3] if len(parts) >= 3 else "")
    if cell is not None:
        left, right = {c: r for c, r in left.items() if c == cell}, {c: r for c, r in right.items() if c == cell}
    pair = _pair(left, right)
    if pair is None:
        return Finding(message, KERAS, (f"The variable {path} is {_text(variable)}; the file holds {_text(value)}.",))
    file, model, _ = pair
    said = _differences(file, model, ("file", "model"))
    meaning = (f"{path} is {_dims_text(file, place)}: the file's {_text(value)} has {_sizes_text(file, place)}, the "
               f"model's {_text(variable)} has {_sizes_text(model, place)}.",)
    return Finding(message, KERAS, meaning, tuple(said),
                   (f"Build the layer as the file was saved: {file.constructor()} (the model has {model.constructor()}).",))


def explain_keras_set(m: re.Match[str]) -> Finding:
    fw = _library(KERAS)  # Keras 3 and tf.keras 2 word it alike
    layer, model, given = m[1], _shape(m[2]), _shape(m[3])
    meaning = [f"set_weights gave {layer} a {_text(given)} array where its variable is {_text(model)}. A recurrent "
               f"layer holds kernel (x, G·h), recurrent_kernel (h, G·h) and bias, G = 4 for LSTM, 3 for GRU, 1 for "
               f"SimpleRNN, in that order."]
    differences = []
    if len(model) == len(given) == 2 and model[1] == given[1] and model[0] != given[0]:
        meaning.append(f"Only the first axis differs, as in a kernel (x, G·h) whose input differs: the model reads "
                       f"{model[0]} features per step, the weights were made for {given[0]}.")
        differences.append(Difference("input", "input features (x)", (("weights", given[0]), ("model", model[0]))))
    elif len(model) == len(given) == 2 and all(b and a and b % a == 0 and b // a in (4, 3, 1) for a, b in (model, given)):
        meaning.append(f"Both are (h, G·h), a recurrent_kernel: the model has {model[0]} units, the weights {given[0]}.")
        differences.append(Difference("hidden", _arg(fw, "hidden"), (("weights", given[0]), ("model", model[0]))))
    return Finding(m[0], fw.library, tuple(meaning), tuple(differences),
                   ("Build the model with the settings the weights were made with, or train it anew.",))


RECOGNISERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Finding]], ...] = (
    (STATE_DICT, explain_state_dict),
    (SIZE_MISMATCH, explain_size_mismatch),
    (INPUT_SIZE, explain_input_size),
    (HIDDEN, explain_hidden),
    (UNBATCHED, explain_unbatched),
    (INPUT_NDIM, explain_input_ndim),
    (KERAS_NDIM, explain_keras_ndim),
    (KERAS_SHAPE, explain_keras_shape),
    (KERAS_MATMUL, explain_keras_matmul),
    (KERAS_ASSIGN, explain_keras_assign),
    (KERAS_SET, explain_keras_set),
)


def lines(results: list[Finding | Unrecognised]) -> Iterator[str]:
    """The findings as text, one block each, in order."""
    for number, result in enumerate(results, 1):
        if isinstance(result, Unrecognised):
            yield f"{number}. not recognised: {_clip(result.message)}"
            continue
        head, *rest = result.message.splitlines() or [""]
        yield f"{number}. {head.strip()}"
        for line in rest:
            if line.strip():
                yield f"   {line.strip()}"
        for said in result.meaning:
            yield f"   - {said}"
        for difference in result.differences:
            values = ", ".join(f"{side} {value}" for side, value in difference.values)
            yield f"   differs: {difference.name}: {values}"
        for said in result.fix:
            yield f"   fix: {said}"


def _clip(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
