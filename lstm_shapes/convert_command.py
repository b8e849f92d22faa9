"""`lstm-shapes convert SRC --to FRAMEWORK -o OUT`: recurrent weights rewritten for another framework, proved equal."""

from __future__ import annotations

import os
from typing import Any

import click

from .command import Command, writing
from .frameworks import REGISTRY


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
               epilog="""\b
Examples:
  lstm-shapes convert model.pt --to keras -o model.weights.h5
  lstm-shapes convert model.weights.h5 --to pytorch -o model.safetensors --prefix rnn.
  lstm-shapes convert tf1.npz --to pytorch -o torch.safetensors --forget-bias 1.0
  lstm-shapes convert model.pt --to onnx -o lstm.onnx --layer encoder.rnn.""")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--to", "to", required=True, type=click.Choice(tuple(REGISTRY)), help="The target framework.")
@click.option("--output", "-o", required=True, metavar="OUT",
              help="The file to write; its name picks the format: .safetensors, .npz, .weights.h5 or .h5 (Keras), "
                   ".onnx, .msgpack (Flax).")
@click.option("--layer", metavar="PREFIX", help="Only the recurrent layer at this prefix (as `inspect` names it).")
@click.option("--from", "source_framework", type=click.Choice(tuple(REGISTRY)), default=None,
              help="Read the source in this convention where its tensors fit more than one.")
@click.option("--prefix", default=None, help="Put before every target name (default: the source layer's own place).")
@click.option("--forget-bias", type=float, default=None,
              help="The constant TF1's LSTMCell adds to its forget gate at run time (default 1.0), where one side is TF1.")
@click.option("--reset-after/--no-reset-after", default=None,
              help="GRU: where the model applies its reset gate, when the tensors fit both (a GRU without biases).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option("--seed", type=int, default=0, show_default=True, help="The proof's random inputs and states.")
@click.pass_context
def convert_command(ctx: click.Context, source: str, to: str, output: str, layer: str | None,
                    source_framework: str | None, prefix: str | None, forget_bias: float | None,
                    reset_after: bool | None, force: bool, seed: int) -> None:
    """Rewrite the recurrent layers of a model file for another framework, and prove the result computes the same.

    Gate orders, transposes, bias sums and splits, TF1's forget bias and each framework's names are handled from
    the layouts this tool knows; a conversion no weights can make exact is refused with the reason (exit 2). After
    writing, both frameworks' numpy forward passes run over random inputs and states: the largest difference is
    printed, and over the tolerance nothing is written and the exit is 1. OUT is never replaced without --force,
    and is written whole or not at all. Exit 3 when OUT cannot be written.
    """
    from .conversion import ConvertError, ProofError, Tensors, layers_of, plan
    from .files import read
    from .files.writers import Target, TargetLayer, atomic, writer
    from .inspection import inspect_path

    write, title, suffix = writer(output)  # a bad name is refused before anything is read
    if os.path.lexists(output) and not force:
        raise ConvertError(f"{output}: exists; --force replaces it")
    model = read(source)
    inspection = inspect_path(source, layer, model)
    tensors = Tensors.of_file(model)
    made = plan(layers_of(inspection, source_framework, reset_after), tensors, to, prefix=prefix, forget_bias=forget_bias,
                collection=True)
    target = Target(to, tuple(TargetLayer(p.prefix, p.target, p.target_weights) for p in made.pairs), made.dtype)
    lines = _describe(made)
    try:
        with writing(), atomic(output, force, suffix) as temporary:
            write(temporary, target, made.tensors())
            back = read(temporary)
            proof = made.prove(Tensors.of_file(back), _names_back(back, target), seed)
            lines.append(proof.line())
            if not proof.ok:
                raise ProofError(proof.line())
    except ProofError:
        click.echo("\n".join(lines))
        click.echo(f"lstm-shapes: error: the converted weights do not compute what {source} computes; "
                   f"{output} is not written", err=True)
        ctx.exit(1)
    size = os.path.getsize(output)
    lines.append(f"wrote {output}: {title}, {len(target.weights)} tensors, {size:,} bytes")
    click.echo("\n".join(lines))


def _describe(made: Any) -> list[str]:
    """What becomes what: each layer's source and target, the constructor the weights fit, and the notes."""
    from .conversion import CELL_WORDS

    lines = []
    for pair in made.pairs:
        src, cfg = pair.source.config, pair.target
        where = f" at {pair.source_prefix}" if pair.source_prefix else ""
        lines.append(f"{src.convention.title} {CELL_WORDS[src.cell]}{where} → {cfg.convention.title}: "
                     f"{_sizes(cfg)}, {len(pair.target_weights)} tensors")
        lines += [f"  {line}" for line in cfg.convention.constructor(cfg)]
        for w in pair.target_weights:
            lines.append(f"  {w.name} {_shape(w.shape)} ← {', '.join(pair.sources_of(w))}")
        lines += [f"  note: {note}" for note in pair.notes]
    return lines


def _sizes(cfg: Any) -> str:
    said = [f"x={cfg.input}", f"h={cfg.hidden_text}"]
    if cfg.proj:
        said.append(f"p={cfg.proj}")
    if cfg.layers > 1 and not cfg.per_layer:
        said.append(f"{cfg.layers} layers")
    if cfg.bidirectional:
        said.append("bidirectional")
    if cfg.peepholes:
        said.append("peepholes")
    if cfg.cell == "gru":
        said.append("reset after U·h" if cfg.reset_after else "reset before U")
    return " ".join(said)


def _shape(shape: tuple[int, ...]) -> str:
    from .graph import format_shape

    return format_shape(shape)


def _names_back(back: Any, target: Any) -> dict[str, str]:
    """Each target name → its name in the written file: the same, or (a format without names) by position."""
    from .conversion import ProofError

    written = list(back.tensors)
    wanted = [w.name for w in target.weights]
    if set(wanted) <= set(written):
        return {name: name for name in wanted}
    shapes = [back.tensors[n].shape for n in written]
    if len(written) == len(wanted) and shapes == [tuple(w.shape) for w in target.weights]:
        return dict(zip(wanted, written, strict=True))
    raise ProofError(f"the written file reads back with tensors {', '.join(written[:4])}..., not the {len(wanted)} written")
