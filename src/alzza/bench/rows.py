"""The bench rows: which model, which data shape, and alzza's side of each row (issue 7).

A :class:`Row` names a network spec, its input and output shapes and the head; ``ROWS``
is the suite. :func:`build_alzza` makes alzza's model for a row and :func:`make_batch` a
random batch; the torch twin of each row lives in ``benchmarks/torch_models.py``.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np

LEARNING_RATE = 0.001


# ------------------------------------------------------------------------------ the rows
class Row:
    """One model of the table: how to build it on the alzza side, its data shapes."""

    def __init__(self, name, kind, input_shape, mode, classes, layers, *, infer=False, experiment=None,
                 needs=None, steps=None):
        self.name, self.kind = name, kind
        self.input_shape, self.mode, self.classes = tuple(input_shape), mode, classes
        self.layers, self.infer, self.experiment, self.needs = layers, infer, experiment, needs
        #: per-step targets: T steps (seqselect / seqbinary rows)
        self.steps = steps
        #: the row's own input shape when --size / --steps changed it
        self.resized_from = None

    def resized(self, size=None, steps=None):
        """This row with ``size``×``size`` images (cnn rows) or ``steps`` time steps (rnn rows)."""
        row = copy.copy(self)
        row.resized_from = None
        if (size is not None and self.kind == "cnn") or (steps is not None and self.kind == "rnn"):
            row.resized_from = list(self.input_shape)
        if size is not None and self.kind == "cnn":
            row.input_shape = (size, size) + self.input_shape[2:]
        if steps is not None and self.kind == "rnn":
            row.input_shape = (steps,) + self.input_shape[1:]
        return row

    @property
    def outputs(self):
        return 1 if self.mode == "binary" else self.classes


FLOWERS_CNN = [["conv", {"ksize": 3, "chn": 6}], ["max", {"stride": 2}],
               ["conv", {"ksize": 3, "chn": 12}], ["max", {"stride": 2}],
               ["conv", {"ksize": 3, "chn": 24}], ["avg", {"stride": 3}]]

def transformer_layers(block, vocab=64, width=128, heads=4, ffn=512, blocks=2):
    """A Transformer over token ids: embed, sinusoidal posenc, ``blocks`` pre-norm ``block`` macros
    (macros/transformer.yaml, GELU feed-forward, no dropout), a final layer norm; the model adds the
    per-step output layer (V scores at every step)."""
    args = {"#heads": heads, "#width": width, "#ffn": ffn, "#act": "gelu", "#keep": 1.0}
    return ([["embed", {"vocab": vocab, "width": width}], ["posenc", {}]]
            + [["custom", {"name": block, "args": dict(args)}] for _ in range(blocks)] + [["layer_normal"]])


ROWS = [
    Row("mlp-pulsar", "mlp", (8,), "binary", 2, [4]),
    Row("mlp-mnist", "mlp", (784,), "select", 10, [256, 128]),
    Row("cnn-flowers96", "cnn", (96, 96, 3), "select", 5, FLOWERS_CNN, infer=True),
    Row("residual-flower64", "cnn", (64, 64, 3), "select", 5, None, infer=True, experiment="residual-flower"),
    Row("lstm-automata", "rnn", (40, 45), "binary", 2,
        [["lstm", {"recur_size": 64, "outseq": False}]], needs="lstm"),
    # chapter 12: seqwrap(avg, conv, full) + lstm on 5 video frames, a target per step
    Row("seqwrap-videoshot", "family", (5, 90, 120, 3), "seqbinary", 2, None, experiment="videoshot-lstm-5",
        steps=5),
    # chapter 14: the mnist-eng encoder (batch norm, dense) and LSTM decoder, trained end to end
    Row("encdec-mnist-eng", "family", (784,), "seqselect", 27, None, experiment="mnist-eng-2steps", steps=6),
    # chapter 15: one discriminator step and one generator step
    Row("gan-mnist", "family", (784,), "gan", 1, None, experiment="gan-mnist-8"),
    # issue 24: a Transformer encoder (every step sees every step) and decoder (causal) training step,
    # d_model 128, 4 heads, 2 pre-norm blocks, T = 64 token ids of a 64-symbol vocabulary, a class per step
    Row("transformer-encoder", "transformer", (64,), "seqselect", 64, transformer_layers("encoder_pre"), steps=64),
    Row("transformer-decoder", "transformer", (64,), "seqselect", 64, transformer_layers("decoder_pre"), steps=64),
]


def row_available(row) -> str | None:
    """None when the row can run, else the reason it can't (a layer type not written yet)."""
    if row.needs is None:
        return None
    from ..layers.registry import LAYER_TYPES

    if row.needs not in LAYER_TYPES:
        return f"layer type {row.needs!r} is not in alzza yet (src/alzza/layers/recurrent.py)"
    return None


def build_alzza(row, seed=0):
    """The alzza Model of ``row`` (float32, plain SGD)."""
    from ..models import Model

    if row.kind == "family":  # the book experiment's own model, on its data set's declared shapes
        from ..data import describe_dataset
        from ..experiments import find_experiment
        from ..experiments.runner import build_model

        exp = find_experiment(row.experiment)
        dataset = describe_dataset(exp.dataset, declared_only=True)
        return build_model(exp, dataset, seed, printer=lambda *a: None)
    if row.kind == "transformer":  # token ids seq(T) → V scores per step seq(T, V)
        from ..experiments.catalogue import load_macro_file
        from ..sequences import SeqShape

        return Model(None, row.layers, name=row.name, optimizer="sgd", seed=seed, input_shape=SeqShape(row.input_shape),
                     output_shape=SeqShape((row.steps, row.classes)), mode=row.mode,
                     macros=load_macro_file("transformer"), printer=lambda *a: None)
    if row.experiment is not None:
        from ..data import make_dataset
        from ..experiments import find_experiment

        exp = find_experiment(row.experiment)
        dataset = make_dataset({"name": "dummy", "input_shape": list(row.input_shape), "classes": row.classes})
        return Model(dataset, exp.layers, name=row.name, optimizer="sgd", init=exp.init, seed=seed,
                     macros=exp.macros, head=exp.head, printer=lambda *a: None)
    return Model(None, row.layers, name=row.name, optimizer="sgd", seed=seed, input_shape=row.input_shape,
                 output_shape=(row.outputs,), mode=row.mode, printer=lambda *a: None)


def make_batch(row, batch, rng):
    """Random float32 inputs and targets (one-hot for select, 0/1 for binary, per step for seq*;
    a transformer row's inputs are token ids)."""
    if row.mode == "gan":  # real examples in the generator's range (−1, 1); no targets
        return rng.uniform(-1, 1, (batch,) + row.input_shape).astype(np.float32), None, None
    if row.kind == "transformer":  # token ids (as float32, the model's dtype), one vocabulary for in and out
        x = rng.integers(0, row.classes, (batch,) + row.input_shape).astype(np.float32)
    else:
        x = rng.standard_normal((batch,) + row.input_shape, dtype=np.float32)
    if row.mode == "seqbinary":
        labels = rng.integers(0, 2, (batch, row.steps))
        y = labels.astype(np.float32)[..., None]
    elif row.mode == "seqselect":
        labels = rng.integers(0, row.classes, (batch, row.steps))
        y = np.eye(row.classes, dtype=np.float32)[labels]
    elif row.mode == "binary":
        labels = rng.integers(0, 2, batch)
        y = labels.astype(np.float32).reshape(batch, 1)
    else:
        labels = rng.integers(0, row.classes, batch)
        y = np.eye(row.classes, dtype=np.float32)[labels]
    return x, y, labels


# --------------------------------------------------------------------- bare NumPy MLP
class BareMLP:
    """The same MLP's training step in a dozen lines of NumPy (relu hidden layers, SGD).

    The floor the framework is measured against on small networks: forward, the loss,
    backward and w ← w − η·g with nothing around them.
    """

    def __init__(self, sizes, mode, rng):
        self.mode = mode
        self.ws = [(rng.standard_normal((a, b)) * np.sqrt(2 / (a + b))).astype(np.float32)
                   for a, b in itertools.pairwise(sizes)]
        self.bs = [np.zeros(b, np.float32) for b in sizes[1:]]

    def step(self, x, y, lr):
        acts = [x]
        for w, b in zip(self.ws[:-1], self.bs[:-1], strict=False):            # h = relu(h·W + b)
            z = acts[-1] @ w
            z += b
            acts.append(np.maximum(z, 0, out=z))
        o = acts[-1] @ self.ws[-1]
        o += self.bs[-1]
        if self.mode == "binary":                                # sigmoid cross-entropy, dL/do = σ(o) − y
            loss = np.mean(np.maximum(o, 0) - o * y + np.log1p(np.exp(-np.abs(o))))
            g = (0.5 + 0.5 * np.tanh(0.5 * o) - y) / len(o)
        else:                                                    # softmax cross-entropy, dL/do = p − y
            e = np.exp(o - o.max(axis=1, keepdims=True))
            e /= e.sum(axis=1, keepdims=True)
            loss = -np.mean(np.log(e[y.astype(bool)]))
            g = (e - y) / len(o)
        for i in reversed(range(len(self.ws))):                  # backward and SGD, last layer first
            gw, gb = acts[i].T @ g, g.sum(axis=0)
            if i:
                g = (g @ self.ws[i].T) * (acts[i] > 0)
            self.ws[i] -= lr * gw
            self.bs[i] -= lr * gb
        return float(loss)


# ------------------------------------------------------------------------------ timing
