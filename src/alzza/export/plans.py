"""Which graphs a model exports, and what each one computes (its alzza reference).

A plain :class:`~alzza.models.Model` exports one graph, ``predict``: the network, then
the head's estimate (raw values for regression, sigmoid for binary, softmax for select
and per group for multi-select, per step for the sequence modes) — what
``model.predict(x)`` returns. The families (chapters 13–15) export their parts as
separate graphs; the first one listed is the default:

================  ===============================================================
autoencoder       predict (encoder → supervised → estimate), encoder (x → code),
                  decoder (code → reconstruction, in the input's shape)
encoder_decoder   predict (encoder → decoder → estimate), encoder (x → its raw
                  output e, what ``encode`` gives), decoder (e → estimate)
gan               generator (seed z → generated example, in the data's shape),
                  discriminator (x → probability that x is real)
translator        encoder (source x → memory m); the decoder, a step-by-step loop
                  reading m by cross-attention, is not exported
================  ===============================================================

Each :class:`GraphPlan` also carries ``reference(model, x)``: the alzza call whose
output the graph equals (used by the tests and stated in the graph's metadata).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

from ..sequences import is_sequence_shape, seq_data
from .errors import ExportError


@dataclass
class GraphPlan:
    """One exportable graph: the part networks in order, the head, names and meanings."""

    name: str
    stages: list                     # [(Serial network, its input shape)]
    input_name: str
    input_meaning: str
    output_name: str
    output_meaning: str
    reference: Callable              # (model, x) -> the array the graph must equal
    reference_text: str
    head: object = None
    output_shape: tuple | None = None  # reshape a plain output to (N,) + this
    class_names: list | None = None
    extra: dict = field(default_factory=dict)

    @property
    def input_shape(self):
        return self.stages[0][1]


def _estimate_meaning(head) -> str:
    mode = getattr(head, "mode", "")
    return {
        "regression": "the regressed values (raw output)",
        "binary": "sigmoid probability of the positive class",
        "select": "softmax probabilities of the classes",
        "multi-select": f"softmax probabilities per group of {list(getattr(head, 'sizes', ()))} classes, side by side",
        "seqselect": "softmax probabilities of the classes at every step (padded steps 0)",
        "seqbinary": "sigmoid probability at every step (padded steps 0)",
    }.get(mode, f"the estimate of mode {mode!r}")


def _data_names(model, attr="target_names"):
    dataset = getattr(model, "dataset", None)
    names = getattr(dataset, attr, None) if dataset is not None else None
    return names if names is not None else getattr(model, attr, None)


def _input_meaning(shape, what: str) -> str:
    if is_sequence_shape(shape):
        return (f"{what}: float32 (batch, {', '.join(map(str, shape))}), batch-major sequences padded to "
                f"{shape[0]} steps; lengths: int64 (batch,), the real steps of each example (1..{shape[0]})")
    layout = ", NHWC" if len(shape) == 3 else ""
    return f"{what}: float32 (batch, {', '.join(map(str, shape))}){layout}, as the data set gives them to predict"


def _as_array(out):
    return np.asarray(seq_data(out))


def plans_of(model) -> dict[str, GraphPlan]:
    """The graphs ``model`` exports, by name, the default first."""
    # the registered model kind (alzza.models.kinds) says what the model is, without importing the
    # model classes (they import this package for to_onnx)
    kind = getattr(type(model), "kind", None)
    if kind == "network":
        head = model.head
        shape = None if is_sequence_shape(model.output_shape) else tuple(model.output_shape)
        return {"predict": GraphPlan(
            "predict", [(model.network, model.input_shape)], "x", _input_meaning(model.input_shape, "x"),
            "estimate", _estimate_meaning(head), lambda m, x: _as_array(m.predict(x)), "model.predict(x)",
            head=head, output_shape=shape, class_names=_data_names(model))}
    if kind == "autoencoder":
        enc, dec, sup = (model.parts[k] for k in ("encoder", "decoder", "supervised"))
        return {
            "predict": GraphPlan(
                "predict", [(enc.network, enc.input_shape), (sup.network, sup.input_shape)], "x",
                _input_meaning(enc.input_shape, "x"), "estimate", _estimate_meaning(model.head),
                lambda m, x: _as_array(m.predict(x)), "model.predict(x)", head=model.head,
                class_names=_data_names(model)),
            "encoder": GraphPlan(
                "encoder", [(enc.network, enc.input_shape)], "x", _input_meaning(enc.input_shape, "x"), "code",
                f"the code (batch, {', '.join(map(str, enc.output_shape))})", lambda m, x: m.encode(x),
                "model.encode(x)"),
            "decoder": GraphPlan(
                "decoder", [(dec.network, dec.input_shape)], "code", _input_meaning(dec.input_shape, "code"),
                "reconstruction", f"the reconstructed input (batch, {', '.join(map(str, model.input_shape))})",
                lambda m, z: _part_forward(m, "decoder", z, m.input_shape),
                "model.parts['decoder'].network.forward(code) in the input's shape",
                output_shape=tuple(model.input_shape)),
        }
    if kind == "encoder_decoder":
        enc, dec = model.parts["encoder"], model.parts["decoder"]
        return {
            "predict": GraphPlan(
                "predict", [(enc.network, enc.input_shape), (dec.network, dec.input_shape)], "x",
                _input_meaning(enc.input_shape, "x"), "estimate", _estimate_meaning(model.head),
                lambda m, x: _as_array(m.chain("both").predict(x)), "model.chain('both').predict(x)",
                head=model.head, class_names=_data_names(model)),
            "encoder": GraphPlan(
                "encoder", [(enc.network, enc.input_shape)], "x", _input_meaning(enc.input_shape, "x"), "e",
                "the encoder's raw output e (what the decoder reads in 'both' mode)", lambda m, x: m.encode(x),
                "model.encode(x)", class_names=_data_names(model, "encoder_target_names")),
            "decoder": GraphPlan(
                "decoder", [(dec.network, dec.input_shape)], "e", _input_meaning(dec.input_shape, "e"),
                "estimate", _estimate_meaning(model.head),
                lambda m, e: _as_array(m.chain("decoder").predict(e)), "model.chain('decoder').predict(e)",
                head=model.head, class_names=_data_names(model)),
        }
    if kind == "gan":
        gen, dis = model.parts["generator"], model.parts["discriminator"]
        return {
            "generator": GraphPlan(
                "generator", [(gen.network, gen.input_shape)], "seed",
                f"seed: float32 (batch, {', '.join(map(str, model.seed_shape))}), drawn from U(-1, 1)",
                "generated", f"generated examples (batch, {', '.join(map(str, model.input_shape))}) in "
                             f"{model.value_range}", lambda m, z: m.generate(len(z), seeds=z),
                "model.generate(len(z), seeds=z)", output_shape=tuple(model.input_shape)),
            "discriminator": GraphPlan(
                "discriminator", [(dis.network, dis.input_shape)], "x", _input_meaning(dis.input_shape, "x"),
                "estimate", "sigmoid probability that x is real", lambda m, x: m.discriminate(x),
                "model.discriminate(x)", head=model.discriminator_chain.head),
        }
    if kind == "translator":
        # the decoder runs step by step over its own outputs, reading the encoder's output through
        # cross-attention: a loop ONNX export does not write; the encoder is a plain sequence network
        enc = model.parts["encoder"]
        return {
            "encoder": GraphPlan(
                "encoder", [(enc.network, enc.input_shape)], "x", _input_meaning(enc.input_shape, "x"), "memory",
                "the encoder's output m (N, S, D), what the decoder's cross-attention reads",
                lambda m, x: seq_data(m.encode(x)), "model.encode(x)"),
        }
    raise ExportError(f"cannot export a {type(model).__name__} to ONNX: export takes an alzza Model, Autoencoder, "
                      "EncoderDecoder, Gan or Translator (its encoder)")


def _part_forward(model, part: str, x, shape):
    out = model.parts[part].network.forward(model.runtime.cast(x), False)
    return np.asarray(out).reshape((len(out),) + tuple(shape))
