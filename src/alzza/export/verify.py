"""Check an exported graph against alzza: the same random inputs through onnxruntime and
through the graph's alzza reference (``model.predict`` and friends, see
:mod:`alzza.export.plans`). Needs onnxruntime (``pip install onnxruntime``).
"""

from __future__ import annotations

import numpy as np

from ..sequences import Sequences, is_sequence_shape
from .errors import ExportError


def _whole_sequence_layers(plan) -> bool:
    from ..layers.seqwrap import WholeSequence

    return any(isinstance(layer, WholeSequence) for network, _ in plan.stages for layer in network.walk())


def random_inputs(plan, count: int, rng: np.random.Generator):
    """(alzza input, onnxruntime feeds) of ``count`` random examples for ``plan``.

    Sequences get random lengths in 1..T (the first example uses all T steps; all of them
    where a layer after a seqwrap reads the whole fixed-length tensor); a GAN
    seed is drawn from U(−1, 1) as the model draws it; token ids for a first ``embed`` layer;
    everything else from N(0, 1).
    """
    shape = tuple(plan.input_shape)
    if plan.input_name == "seed":
        x = rng.uniform(-1.0, 1.0, size=(count,) + shape).astype(np.float32)
    else:
        x = rng.standard_normal((count,) + shape, dtype=np.float32)
    first = next((layer for layer in plan.stages[0][0].walk() if not layer.children()), None)
    vocab = getattr(first, "vocab", None) if first is not None and first.type_name == "embed" else None
    if vocab is not None:   # token ids (or one-hot rows) for an embedding
        ids = rng.integers(0, vocab, size=(count, shape[0]))
        x = np.eye(vocab, dtype=np.float32)[ids] if first.one_hot else ids.reshape((count,) + shape)
        x = x.astype(np.float32)
    if not is_sequence_shape(plan.input_shape):
        return x, {plan.input_name: x}
    lengths = rng.integers(1, shape[0] + 1, size=count).astype(np.int64)
    lengths[0] = shape[0]
    if _whole_sequence_layers(plan):  # layers that read the whole (N, T, ...) tensor need every step
        lengths[:] = shape[0]
    return Sequences(x, lengths), {plan.input_name: x, "lengths": lengths}


def session(proto, optimize: bool = True):
    """An onnxruntime CPU session of ``proto`` (``optimize`` False skips the graph
    optimisations: quicker to start for big one-off checks, same numbers within float32)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ExportError("checking the exported graph needs onnxruntime: pip install onnxruntime") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def compare(model, proto, plan, count: int = 8, seed: int = 0, optimize: bool = True):
    """(max |onnxruntime − alzza|, onnxruntime's output, alzza's) on ``count`` random inputs."""
    x, feeds = random_inputs(plan, count, np.random.default_rng(seed))
    got = session(proto, optimize).run([plan.output_name], feeds)[0]
    want = np.asarray(plan.reference(model, x), dtype=np.float32).reshape(got.shape)
    return float(np.max(np.abs(got - want))) if got.size else 0.0, got, want
