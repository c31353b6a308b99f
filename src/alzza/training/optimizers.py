"""Optimisers: they, and only they, change parameters.

Each parameter is a :class:`Slot` — the array (updated in place), the dict holding its
gradient, and whether weight decay applies. With decay the gradient used is

    g' = g + λ₂·w + λ₁·sign(w)        (weights and kernels only, never biases)

matching the loss terms λ₂/2·Σw² and λ₁·Σ|w| the model adds to its loss.

Plain gradient descent:  w ← w − η·g'
Adam (bias-corrected, t counts this parameter's updates):
    m ← β₁m + (1−β₁)g'          v ← β₂v + (1−β₂)g'²
    m̂ = m / (1 − β₁ᵗ)           v̂ = v / (1 − β₂ᵗ)
    w ← w − η·m̂ / (√v̂ + ε)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from ..registries import Registry


@dataclass
class Slot:
    """One trainable array: its flat name, the array, where its gradient lives, decay flag."""

    name: str
    value: np.ndarray
    grads: dict
    key: str
    decayed: bool
    #: the layer that owns the array (for contract checks and messages)
    layer: object = None

    @property
    def grad(self) -> np.ndarray:
        return self.grads[self.key]


class Optimizer:
    """Base: decay handling and the step loop; subclasses give the update rule."""

    name = ""

    def __init__(self, l2_decay: float = 0.0, l1_decay: float = 0.0):
        for key, value in (("l2_decay", l2_decay), ("l1_decay", l1_decay)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise SpecError(key, f"must be a finite number >= 0, got {value!r}")
        self.l2_decay = float(l2_decay)
        self.l1_decay = float(l1_decay)
        #: scratch buffers per (slot name, index): reused every step, never part of the state
        self._buffers: dict = {}

    def decayed_grad(self, slot: Slot, out: np.ndarray | None = None) -> np.ndarray:
        """g' = g + λ₂·w + λ₁·sign(w) on decayed slots, else g itself (never modified).

        With decay, g' is written into ``out`` when given (a scratch buffer of w's shape).
        """
        g = slot.grads[slot.key]
        if not (slot.decayed and (self.l2_decay or self.l1_decay)):
            return g
        if out is None:
            out = np.empty_like(slot.value)
        if self.l2_decay:
            np.multiply(slot.value, self.l2_decay, out=out)
            out += g
        else:
            np.copyto(out, g, casting="same_kind")
        if self.l1_decay:
            out += self.l1_decay * np.sign(slot.value)
        return out

    def _scratch(self, slot: Slot, index: int = 0) -> np.ndarray:
        """A reusable buffer of the slot's shape and dtype (optimisers update without allocating)."""
        key = (slot.name, index)
        buf = self._buffers.get(key)
        if buf is None or buf.shape != slot.value.shape or buf.dtype != slot.value.dtype:
            buf = self._buffers[key] = np.empty_like(slot.value)
        return buf

    def decay_loss(self, slots) -> float:
        """λ₂/2·Σw² + λ₁·Σ|w| over decayed slots (0.0 without decay)."""
        if not (self.l2_decay or self.l1_decay):
            return 0.0
        total = 0.0
        for slot in slots:
            if slot.decayed:
                w = slot.value
                if self.l2_decay:
                    total += 0.5 * self.l2_decay * float(np.vdot(w, w))
                if self.l1_decay:
                    total += self.l1_decay * float(np.abs(w).sum())
        return total

    def step(self, slots, learning_rate: float):
        for slot in slots:
            self.update(slot, self.decayed_grad(slot), learning_rate)

    def update(self, slot: Slot, grad: np.ndarray, learning_rate: float):
        raise NotImplementedError

    # persistence of the optimiser's own state (Adam's moments)
    def state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray], slots):
        pass

    def to_spec(self) -> dict:
        spec = {"name": self.name}
        if self.l2_decay:
            spec["l2_decay"] = self.l2_decay
        if self.l1_decay:
            spec["l1_decay"] = self.l1_decay
        return spec


#: optimiser name → class, filled by @register_optimizer
OPTIMIZERS = Registry("optimizer", "name")


def register_optimizer(name: str):
    """Class decorator: ``name`` (and a mapping with that ``name``) makes this optimiser."""
    return OPTIMIZERS.register(name, Optimizer)


@register_optimizer("sgd")
class SGD(Optimizer):
    """w ← w − η·g' — :meth:`update` is the rule; :meth:`step` only picks g' for each slot."""

    #: above this many values, η·g' goes through a reused buffer; below, to a fresh temporary
    #: (cheaper than the buffer lookup for small arrays)
    SMALL = 4096

    def step(self, slots, learning_rate):
        decay = self.l2_decay or self.l1_decay
        for slot in slots:
            if decay:  # g' = g + λ₂·w + λ₁·sign(w), into the slot's buffer when it is big
                grad = self.decayed_grad(slot, self._scratch(slot) if slot.value.size > self.SMALL else None)
            else:
                grad = slot.grads[slot.key]
            self.update(slot, grad, learning_rate)

    def update(self, slot, grad, learning_rate):
        """w ← w − η·g', in place (layers keep referring to the same array)."""
        w = slot.value
        if w.size <= self.SMALL:
            w -= learning_rate * grad
            return
        # the same rule in two passes through one reused buffer: no allocation per step
        # (``grad`` may be that buffer already, holding g' with decay)
        step = self._scratch(slot)
        np.multiply(grad, learning_rate, out=step)
        w -= step


@register_optimizer("adam")
class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015); state per parameter name."""


    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, **decay):
        super().__init__(**decay)
        for key, value, ok, expects in (("beta1", beta1, lambda v: 0 <= v < 1, "in [0, 1)"),
                                         ("beta2", beta2, lambda v: 0 <= v < 1, "in [0, 1)"),
                                         ("epsilon", epsilon, lambda v: 0 < v < math.inf, "a finite number > 0")):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
                raise SpecError(f"optimizer.{key}", f"Adam's {key} must be {expects}, got {value!r}")
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t: dict[str, int] = {}

    def step(self, slots, learning_rate):
        decay = self.l2_decay or self.l1_decay
        for slot in slots:
            # with decay, g' goes into scratch buffer 1 (buffer 0 is the update's)
            grad = self.decayed_grad(slot, self._scratch(slot, 1) if decay and slot.decayed else None)
            self.update(slot, grad, learning_rate)

    def update(self, slot, grad, learning_rate):
        name = slot.name
        if name not in self.m:
            self.m[name] = np.zeros_like(slot.value)
            self.v[name] = np.zeros_like(slot.value)
            self.t[name] = 0
        m, v = self.m[name], self.v[name]
        t = self.t[name] = self.t[name] + 1
        b1, b2 = self.beta1, self.beta2
        # fold both bias corrections into one scalar step size:
        # η·m̂/(√v̂+ε) = η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε·√(1−β₂ᵗ))
        c2 = math.sqrt(1 - b2**t)  # a Python float: keeps the arithmetic in float32
        step = learning_rate * c2 / (1 - b1**t)
        # every pass below is in place or into the one scratch buffer s (no temporaries)
        s = self._scratch(slot)
        np.subtract(grad, m, out=s)              # m ← β₁m + (1−β₁)g  ==  m + (1−β₁)(g − m)
        s *= 1 - b1
        m += s
        np.multiply(grad, grad, out=s)           # v ← β₂v + (1−β₂)g²  ==  v + (1−β₂)(g² − v)
        s -= v
        s *= 1 - b2
        v += s
        np.sqrt(v, out=s)                        # w ← w − step · m / (√v + ε·c₂)
        s += self.epsilon * c2
        np.divide(m, s, out=s)
        s *= step
        slot.value -= s

    def state_arrays(self):
        arrays = {}
        for name in self.m:
            arrays[f"{name}/m"] = self.m[name]
            arrays[f"{name}/v"] = self.v[name]
            arrays[f"{name}/t"] = np.array(self.t[name], dtype=np.int64)
        return arrays

    def load_state_arrays(self, arrays, slots):
        """Restore m, v, t per parameter; ValueError if anything does not fit the slots."""
        names = {slot.name for slot in slots}
        for key in arrays:
            name, _, part = key.rpartition("/")
            if name not in names or part not in ("m", "v", "t"):
                raise ValueError(f"state {key!r} belongs to no parameter of this model")
        for slot in slots:
            keys = [f"{slot.name}/{part}" for part in ("m", "v", "t")]
            present = [key in arrays for key in keys]
            if not any(present):
                continue
            if not all(present):
                raise ValueError(f"Adam state of {slot.name!r} is incomplete (needs m, v and t)")
            m, v, t = (arrays[key] for key in keys)
            if m.shape != slot.value.shape or v.shape != slot.value.shape:
                raise ValueError(f"Adam moments of {slot.name!r} have shapes {m.shape}, {v.shape}; "
                                 f"the parameter is {slot.value.shape}")
            if m.dtype.kind != "f" or v.dtype.kind != "f" or t.shape != () or t.dtype.kind not in "iu" or t < 0:
                raise ValueError(f"Adam state of {slot.name!r} has the wrong kind of values")
            self.m[slot.name] = m.astype(slot.value.dtype)
            self.v[slot.name] = v.astype(slot.value.dtype)
            self.t[slot.name] = int(t)

    def to_spec(self):
        spec = super().to_spec()
        spec.update(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon)
        return spec


def make_optimizer(spec=None, l2_decay=0.0, l1_decay=0.0) -> Optimizer:
    """``'sgd'``, ``'adam'`` or ``{'name': 'adam', 'beta1': 0.9, ...}`` → an Optimizer."""
    if spec is None:
        spec = "sgd"
    if isinstance(spec, Optimizer):
        return spec
    given = spec  # quoted as the user wrote it, not as normalised here
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or spec.get("name") not in OPTIMIZERS:
        raise SpecError("optimizer", f"unknown optimizer {given!r}; use one of {', '.join(OPTIMIZERS)} "
                                     "(a name, or a mapping like {name: adam, beta1: 0.9})")
    options = {k: v for k, v in spec.items() if k != "name"}
    options.setdefault("l2_decay", l2_decay)
    options.setdefault("l1_decay", l1_decay)
    try:
        return OPTIMIZERS[spec["name"]](**options)
    except (TypeError, ValueError) as exc:
        raise SpecError("optimizer", f"bad options for {spec['name']!r}: {exc}") from None
