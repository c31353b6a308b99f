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
AdamW (Loshchilov & Hutter 2019, decoupled weight decay λ = ``weight_decay``):
    w ← w − η·λ·w                  (decayed slots only; not through the gradient, so
                                    not rescaled by √v̂ the way an L2 term would be)
    then the Adam step above with the plain gradient g.

Gradient clipping by global norm (``clip_norm`` c, any optimiser), before anything else:
    ‖g‖ = √(Σ_slots Σ g²)           g ← g · c / (‖g‖ + 10⁻⁶)   when that factor is < 1
(torch.nn.utils.clip_grad_norm_'s rule); the raw gradients are scaled in place, decay
terms are added after. ``last_grad_norm`` keeps ‖g‖ of the latest step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..backend import array_module
from ..device import to_host
from ..errors import SpecError
from ..options import Option, check_arguments, non_negative_float, positive_float, probability
from ..registries import Registry


@dataclass
class Slot:
    """One trainable array, reached through its owner: the flat name, the owner's ``params``
    dict and ``grads`` dict, the key in both, and the decay flag.

    The slot never holds the array itself: a parameter has one owner (its layer's
    ``params``), so when the model moves its parameters (to a GPU and back, or loads
    weights by replacing arrays) the optimiser steps the arrays the layers compute with,
    never stale copies. Optimiser state (Adam's m, v) is kept by slot name and moved with
    the parameters (:meth:`Optimizer.to_device`).
    """

    name: str
    params: dict
    grads: dict
    key: str
    decayed: bool
    #: the layer that owns the array (for contract checks and messages)
    layer: object = None

    @property
    def value(self):
        return self.params[self.key]

    @value.setter
    def value(self, array):  # ``slot.value -= step`` updates in place, then stores the same array back
        self.params[self.key] = array

    @property
    def grad(self):
        return self.grads[self.key]


class Optimizer:
    """Base: decay handling and the step loop; subclasses give the update rule.

    ``OPTIONS`` declares the constructor's arguments (name → :class:`~alzza.options.Option`),
    as a layer's do; :meth:`checked` holds each given value to its declaration.
    """

    name = ""
    OPTIONS: dict[str, Option] = {
        "l2_decay": non_negative_float("λ₂ of the L2 weight decay", 0.0),
        "l1_decay": non_negative_float("λ₁ of the L1 weight decay", 0.0),
        "clip_norm": positive_float("the largest global gradient norm (null: no clipping)", None),
    }

    def __init__(self, l2_decay: float = 0.0, l1_decay: float = 0.0, clip_norm: float | None = None):
        values = self.checked(l2_decay=l2_decay, l1_decay=l1_decay, clip_norm=clip_norm)
        self.l2_decay = float(values["l2_decay"])
        self.l1_decay = float(values["l1_decay"])
        self.clip_norm = None if values["clip_norm"] is None else float(values["clip_norm"])
        #: the global gradient norm of the latest step (before clipping); None until a clipped step
        self.last_grad_norm: float | None = None
        #: scratch buffers per (slot name, index): reused every step, never part of the state
        self._buffers: dict = {}

    def checked(self, **values) -> dict:
        """``values`` held to ``OPTIONS``: a SpecError at ``optimizer.<name>`` for a bad one."""
        return check_arguments(self.OPTIONS, values, error=partial(SpecError, "optimizer"))

    def decayed_grad(self, slot: Slot, out: np.ndarray | None = None) -> np.ndarray:
        """g' = g + λ₂·w + λ₁·sign(w) on decayed slots, else g itself (never modified).

        With decay, g' is written into ``out`` when given (a scratch buffer of w's shape).
        """
        g = slot.grads[slot.key]
        if not (slot.decayed and (self.l2_decay or self.l1_decay)):
            return g
        xp = array_module(g)
        if out is None:
            out = xp.empty_like(slot.value)
        if self.l2_decay:
            xp.multiply(slot.value, self.l2_decay, out=out)
            out += g
        else:
            xp.copyto(out, g, casting="same_kind")
        if self.l1_decay:
            out += self.l1_decay * xp.sign(slot.value)
        return out

    def _scratch(self, slot: Slot, index: int = 0) -> np.ndarray:
        """A reusable buffer of the slot's shape and dtype (optimisers update without allocating)."""
        key = (slot.name, index)
        buf = self._buffers.get(key)
        value = slot.value
        if buf is None or buf.shape != value.shape or buf.dtype != value.dtype or type(buf) is not type(value):
            buf = self._buffers[key] = array_module(value).empty_like(value)
        return buf

    def decay_loss(self, slots) -> float:
        """λ₂/2·Σw² + λ₁·Σ|w| over decayed slots (0.0 without decay)."""
        if not (self.l2_decay or self.l1_decay):
            return 0.0
        total = 0.0
        for slot in slots:
            if slot.decayed:
                w = slot.value
                xp = array_module(w)
                if self.l2_decay:
                    total += 0.5 * self.l2_decay * float(xp.vdot(w, w))
                if self.l1_decay:
                    total += self.l1_decay * float(xp.abs(w).sum())
        return total

    def clip(self, slots) -> None:
        """Scale every slot's gradient by c / (‖g‖ + 10⁻⁶) when that is below 1 (in place;
        ‖g‖ the norm of all of them together). Nothing without ``clip_norm``."""
        if self.clip_norm is None:
            return
        total = 0.0
        for slot in slots:
            g = slot.grads[slot.key]
            total += float(array_module(g).vdot(g, g))
        norm = math.sqrt(total)
        self.last_grad_norm = norm
        factor = self.clip_norm / (norm + 1e-6)
        if factor < 1.0:
            for slot in slots:
                slot.grads[slot.key] *= factor

    def step(self, slots, learning_rate: float):
        self.clip(slots)
        for slot in slots:
            self.update(slot, self.decayed_grad(slot), learning_rate)

    def update(self, slot: Slot, grad: np.ndarray, learning_rate: float):
        raise NotImplementedError

    # persistence of the optimiser's own state (Adam's moments)
    def state_arrays(self) -> dict[str, np.ndarray]:
        """The state by name, where it lives (the model file brings it to the host)."""
        return {}

    def to_device(self, device) -> None:
        """Move the optimiser's state arrays to ``device`` (with the model's parameters);
        scratch buffers are dropped and remade there on the next step."""
        self._buffers.clear()

    def load_state_arrays(self, arrays: dict[str, np.ndarray], slots):
        pass

    def to_spec(self) -> dict:
        spec = {"name": self.name}
        if self.l2_decay:
            spec["l2_decay"] = self.l2_decay
        if self.l1_decay:
            spec["l1_decay"] = self.l1_decay
        if self.clip_norm is not None:
            spec["clip_norm"] = self.clip_norm
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
        self.clip(slots)
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
        array_module(grad).multiply(grad, learning_rate, out=step)
        w -= step


@register_optimizer("adam")
class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015); state per parameter name.

    The textbook form, one array at a time, is :func:`alzza.reference.adam_step`; this
    one folds the two bias corrections into one scalar and updates through one buffer.
    """

    OPTIONS = dict(Optimizer.OPTIONS,
                   beta1=probability("decay rate β₁ of the first moment", 0.9, high_open=True),
                   beta2=probability("decay rate β₂ of the second moment", 0.999, high_open=True),
                   epsilon=positive_float("ε added to √v̂", 1e-8))

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, **decay):
        super().__init__(**decay)
        values = self.checked(beta1=beta1, beta2=beta2, epsilon=epsilon)
        self.beta1, self.beta2, self.epsilon = (float(values[k]) for k in ("beta1", "beta2", "epsilon"))
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t: dict[str, int] = {}

    def step(self, slots, learning_rate):
        self.clip(slots)
        decay = self.l2_decay or self.l1_decay
        for slot in slots:
            # with decay, g' goes into scratch buffer 1 (buffer 0 is the update's)
            grad = self.decayed_grad(slot, self._scratch(slot, 1) if decay and slot.decayed else None)
            self.update(slot, grad, learning_rate)

    def update(self, slot, grad, learning_rate):
        name = slot.name
        xp = array_module(grad)
        if name not in self.m:
            self.m[name] = xp.zeros_like(slot.value)
            self.v[name] = xp.zeros_like(slot.value)
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
        xp.subtract(grad, m, out=s)              # m ← β₁m + (1−β₁)g  ==  m + (1−β₁)(g − m)
        s *= 1 - b1
        m += s
        xp.multiply(grad, grad, out=s)           # v ← β₂v + (1−β₂)g²  ==  v + (1−β₂)(g² − v)
        s -= v
        s *= 1 - b2
        v += s
        xp.sqrt(v, out=s)                        # w ← w − step · m / (√v + ε·c₂)
        s += self.epsilon * c2
        xp.divide(m, s, out=s)
        s *= step
        slot.value -= s

    def to_device(self, device):
        super().to_device(device)
        for moments in (self.m, self.v):
            for name, value in moments.items():
                moments[name] = device.asarray(to_host(value))

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
            xp = array_module(slot.value)  # the moments live where the parameter does
            self.m[slot.name] = xp.array(m, dtype=slot.value.dtype)
            self.v[slot.name] = xp.array(v, dtype=slot.value.dtype)
            self.t[slot.name] = int(t)

    def to_spec(self):
        spec = super().to_spec()
        spec.update(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon)
        return spec


@register_optimizer("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): w ← w − η·λ·w, then Adam.

    λ = ``weight_decay`` (torch's default 0.01) shrinks the weights and kernels (never
    biases) by the same factor 1 − ηλ each step, however big their gradients are.
    """

    OPTIONS = dict(Adam.OPTIONS, weight_decay=non_negative_float("decoupled decay λ (w ← (1 − ηλ)·w)", 0.01))

    def __init__(self, weight_decay=0.01, **options):
        super().__init__(**options)
        self.weight_decay = float(self.checked(weight_decay=weight_decay)["weight_decay"])

    def update(self, slot, grad, learning_rate):
        if self.weight_decay and slot.decayed:
            slot.value *= 1.0 - learning_rate * self.weight_decay  # w ← (1 − ηλ)·w, then the Adam step
        super().update(slot, grad, learning_rate)

    def to_spec(self):
        spec = super().to_spec()
        spec["weight_decay"] = self.weight_decay
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
    if options.get("clip_norm", 0) is None:
        options.pop("clip_norm")
    options.setdefault("l2_decay", l2_decay)
    options.setdefault("l1_decay", l1_decay)
    try:
        return OPTIMIZERS[spec["name"]](**options)
    except (TypeError, ValueError) as exc:
        raise SpecError("optimizer", f"bad options for {spec['name']!r}: {exc}") from None
