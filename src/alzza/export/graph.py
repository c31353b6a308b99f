"""A small builder for ONNX graphs: unique names, constants, nodes — and the values that flow.

The exporter walks alzza's layer tree and asks this builder for nodes. A
:class:`Value` is one tensor of the graph together with what alzza knows about it:
its per-example shape (without the batch axis, NHWC for images, (T, ...) for a
sequence) and, for a sequence, the name of the int64 (N,) tensor of its lengths
(``None`` when every example uses all T steps). Layers never change the lengths of a
sequence, so one lengths tensor (the graph input ``lengths``) serves all of them.

Everything stored in the graph is float32 (ONNX's ``tensor(float)``) whatever the
model's dtype, because the exported graph's contract is float32 in, float32 out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ExportError


def onnx_modules():
    """(onnx, onnx.helper, onnx.numpy_helper, onnx.TensorProto), or an ExportError saying how to get onnx."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: pip install 'alzza[onnx]' "
                          "(or pip install onnx)") from None
    return onnx, helper, numpy_helper, TensorProto


@dataclass(frozen=True)
class Value:
    """A tensor of the graph: ``name``, alzza's per-example ``shape``, and sequence facts.

    ``seq`` marks a batch-major sequence (N, T, ...) with ``shape`` = (T, ...);
    ``lengths`` names its int64 (N,) lengths tensor, or is None when all steps are real.
    """

    name: str
    shape: tuple
    seq: bool = False
    lengths: str | None = None

    @property
    def rank(self) -> int:
        """Rank of the tensor in the graph (batch axis included)."""
        return 1 + len(self.shape)

    def like(self, name: str, shape=None) -> Value:
        """The same kind of value (sequence or not, same lengths) under a new name and shape."""
        return Value(name, tuple(self.shape if shape is None else shape), self.seq, self.lengths)


class GraphBuilder:
    """Collects nodes and initialisers; every name it hands out is unique."""

    def __init__(self):
        _, self.helper, self.numpy_helper, self.tensor_proto = onnx_modules()
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()
        self._cache: dict = {}

    def fresh(self, hint: str) -> str:
        """A new unique tensor name built from ``hint`` (alzza paths make readable names)."""
        base = "".join(c if c.isalnum() or c in "._/-" else "_" for c in hint) or "t"
        name, k = base, 1
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim a fixed name (graph inputs and outputs)."""
        if name in self._used:
            raise ValueError(f"graph name {name!r} is taken")
        self._used.add(name)
        return name

    # --- constants ------------------------------------------------------------------
    def const(self, array, hint: str) -> str:
        """An initialiser holding ``array`` (floats stored as float32, ints as int64)."""
        a = np.asarray(array)
        a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)
        name = self.fresh(hint)
        # np.array, not ascontiguousarray: that one turns a 0-d index into a 1-d array
        self.initializers.append(self.numpy_helper.from_array(np.array(a, order="C"), name))
        return name

    def ints(self, values, hint: str = "shape") -> str:
        """A shared int64 1-D constant (shapes, axes, repeats)."""
        key = ("ints", tuple(int(v) for v in values))
        if key not in self._cache:
            self._cache[key] = self.const(np.array(key[1], dtype=np.int64), hint)
        return self._cache[key]

    def scalar(self, value: float, hint: str = "scalar") -> str:
        """A shared float32 scalar constant."""
        key = ("scalar", float(value))
        if key not in self._cache:
            self._cache[key] = self.const(np.array(value, dtype=np.float32), hint)
        return self._cache[key]

    # --- nodes ----------------------------------------------------------------------
    def op(self, op_type: str, inputs, hint: str, outputs: int = 1, **attrs):
        """Add one node; returns its output name (or the list of names when ``outputs`` > 1).

        An empty string in ``inputs`` is an omitted optional input.
        """
        names = [self.fresh(f"{hint}:{op_type}" if k == 0 else f"{hint}:{op_type}{k}") for k in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=self.fresh(f"{hint}#{op_type}"),
                                                **attrs))
        return names[0] if outputs == 1 else names

    def cached(self, key, make):
        """``make()`` once per ``key`` (e.g. the step mask of one lengths tensor)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # --- sequences ------------------------------------------------------------------
    def step_mask(self, lengths: str, steps: int) -> str:
        """bool (N, T): True on the real steps t < length."""
        def make():
            t = self.const(np.arange(steps, dtype=np.int64)[None, :], f"{lengths}/steps")
            n1 = self.op("Unsqueeze", [lengths, self.ints([1], "axis1")], f"{lengths}/column")
            return self.op("Less", [t, n1], f"{lengths}/mask")
        return self.cached(("mask", lengths, steps), make)

    def zero_padding(self, value: Value, hint: str) -> Value:
        """``value`` with its padded steps set to 0 (unchanged when all steps are real).

        ``Where`` rather than a product with the mask, so that not even a NaN in a
        padded input step reaches the output, as in alzza.
        """
        if not value.seq or value.lengths is None:
            return value
        mask = self.step_mask(value.lengths, value.shape[0])
        extra = value.rank - 2
        if extra:
            mask = self.cached(("mask-rank", value.lengths, value.shape[0], extra),
                               lambda: self.op("Unsqueeze", [mask, self.ints(list(range(2, 2 + extra)), "axes")],
                                               f"{value.lengths}/mask{value.rank}"))
        zero = self.scalar(0.0, "zero")
        return value.like(self.op("Where", [mask, value.name, zero], hint))
