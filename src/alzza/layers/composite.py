"""Layers made of layers: ``serial``, ``parallel``, ``add`` and ``loop``.

Children are Layers already parsed by the spec front end (which sets each child's
``path``); a composite builds them for its input shape and reports their shapes in
its errors. Every sub-layer appears in ``children()``, so ``walk()`` reaches every
parameter and every parameter gets a unique name ``<path>/<key>``.
"""

from __future__ import annotations

import copy

import numpy as np

from ..backend import array_module

from ..errors import SpecError
from ..ops.activations import ACTIVATIONS, get_activation
from ..sequences import SeqShape, Sequences, is_sequence_shape, length_mask, seq_data
from ..options import flag, int_in, one_of
from .base import BuildContext, Layer
from .registry import Option, register_layer


@register_layer("serial")
class Serial(Layer):
    """The children in sequence: y = f_k(… f_2(f_1(x))).

    Backward runs the chain rule in reverse: dx = f_1'ᵀ(… f_kᵀ'(dy)).
    """

    accepts_children = True

    def __init__(self, children: list[Layer]):
        super().__init__()
        self.layers = list(children)

    def children(self):
        return self.layers

    def build(self, input_shape, ctx: BuildContext):
        self.input_shape = shape = input_shape if is_sequence_shape(input_shape) else tuple(input_shape)
        for layer in self.layers:
            shape = layer.build(shape, ctx)
        self.output_shape = shape
        return shape

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    @property
    def needs_input_grad(self):
        return self.layers[0].needs_input_grad if self.layers else True

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        # only the first child sees this layer's input
        if getattr(self, "layers", None):
            self.layers[0].needs_input_grad = value


def _check_branches(layer):
    """SpecError (naming the layer's path) unless ``layer`` has at least one child."""
    if not layer.branches:
        raise SpecError(layer.path or layer.type_name, f"'{layer.type_name}' needs at least one child spec")


def _names(layers) -> list[str]:
    """Short names of children for messages: the last part of their paths (``children[1]``)."""
    return [(c.path or f"children[{i}]").split(".")[-1] for i, c in enumerate(layers)]


def _shape_list(names, shapes) -> str:
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in zip(names, shapes, strict=False))


class _Branching(Layer):
    """Base of layers whose children all read the same input (parallel, add).

    ``needs_input_grad`` is passed to every branch, since each one sees the input.
    """

    accepts_children = True

    def __init__(self, children: list[Layer]):
        self.branches = list(children)
        self._needs_input_grad = True
        super().__init__()

    def children(self):
        return self.branches

    @property
    def needs_input_grad(self):
        return self._needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        self._needs_input_grad = bool(value)
        for branch in getattr(self, "branches", ()):
            branch.needs_input_grad = value


@register_layer("parallel")
class Parallel(_Branching):
    """Every child reads the same x; their outputs are joined on the last axis.

        y = [f_1(x) | f_2(x) | … | f_k(x)]      (concatenated channels)

    All other output dims must agree (checked at build). Backward splits dy into the
    children's channel ranges and sums their input gradients:

        dx = Σ_i f_i'ᵀ(dy[..., c_i : c_i + C_i])

    (Children must not modify the gradient they are given in place.)
    """

    def build(self, input_shape, ctx: BuildContext):
        _check_branches(self)
        self.input_shape = tuple(input_shape)
        shapes = [tuple(branch.build(self.input_shape, ctx)) for branch in self.branches]
        if any(s[:-1] != shapes[0][:-1] or len(s) == 0 for s in shapes):
            raise SpecError(self.path or self.type_name,
                            "'parallel' children's outputs must agree on every axis but the last (channels); "
                            f"got {_shape_list(_names(self.branches), shapes)}")
        self.channels = [s[-1] for s in shapes]
        self.output_shape = shapes[0][:-1] + (sum(self.channels),)
        return self.output_shape

    def forward(self, x, training=False):
        xp = array_module(x)
        outputs = [branch.forward(x, training) for branch in self.branches]
        return outputs[0] if len(outputs) == 1 else xp.concatenate(outputs, axis=-1)

    def backward(self, dy):
        parts = []
        start = 0
        for branch, chn in zip(self.branches, self.channels, strict=False):
            parts.append(branch.backward(dy[..., start:start + chn]))
            start += chn
        return _sum_grads(parts) if self._needs_input_grad else None


def _sum_grads(parts):
    """Σ of the input gradients in ``parts`` (None entries skipped) without writing into any of them.

    A child may hand back the very array it was given (dropout at inference, noise), which
    other branches also read, so the first sum allocates and only that buffer is added to.
    """
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    total = parts[0] + parts[1]
    for part in parts[2:]:
        total += part
    return total


def _accumulate(total: np.ndarray, part: np.ndarray, first: bool) -> None:
    """total[..., c] (+)= part[..., c mod C]: ``part`` tiled along the last axis of ``total``."""
    width, chn = total.shape[-1], part.shape[-1]
    if chn == width:
        view, src = total, part
    else:
        view = total.reshape(total.shape[:-1] + (width // chn, chn))
        src = part[..., None, :]
    if first:
        view[...] = src
    else:
        view += src


def _check_sequence_branches(layer) -> None:
    """SpecError unless every layer a sequence reaches inside ``layer``'s branches reads sequences."""
    stack = list(layer.branches)
    while stack:
        child = stack.pop()
        if type(child) is Serial:
            stack.extend(child.layers)
        elif not child.accepts_sequences:
            raise SpecError(child.path or child.type_name,
                            f"'{child.type_name}' works on single examples, but inside '{layer.type_name}' at "
                            f"{layer.path or '?'} it reads a sequence; wrap it in ['seqwrap', ...] to apply it "
                            "to every step")


def _fold(dy: np.ndarray, chn: int) -> np.ndarray:
    """The adjoint of tiling to dy's width: the sum of dy over the tiles of ``chn`` channels."""
    width = dy.shape[-1]
    if chn == width:
        return dy
    return dy.reshape(dy.shape[:-1] + (width // chn, chn)).sum(axis=-2)


def _valid_actions(actions: str) -> bool:
    """'', 'A', 'B', 'AB' or 'BA': one batch-norm sub-layer and one cached activation at most."""
    return all(c in "AB" for c in actions) and len(set(actions)) == len(actions)


@register_layer("add")
class Add(_Branching):
    """Residual sum: every child reads x, and their outputs (plus x when ``x``) are added.

        s = Σ_i tile(f_i(x)) [+ tile(x)],    y = actions(s)

    ``tile`` repeats a branch's channels along the last axis up to the widest branch
    (C_max must be a multiple of each branch's C: channel c of the sum takes channel
    c mod C of the branch, as ``np.tile`` does in the book); all other dims must agree.
    ``actions`` is then run on s in order: A = the activation ``actfunc``, B = batch
    normalisation with its own scale and shift (a :class:`~alzza.layers.norm.BatchNorm`
    sub-layer named ``<path>.bn``, listed among ``children()``); each letter at most once.

    Backward, with ds = actions'ᵀ(dy) run in reverse order:

        dx = Σ_i f_i'ᵀ(fold_i(ds)) [+ fold_x(ds)],    fold(ds)[..., c] = Σ_t ds[..., t·C + c]

    i.e. the gradient of a tiled branch is the sum over its tiles.
    (Children must not modify the gradient they are given in place.)

    Sequences (a Transformer block's residual): with a sequence input every branch must
    read sequences (wrap per-step layers in ``seqwrap``), the sum keeps the lengths, its
    padded steps are 0 and get no gradient; action B (batch norm) is refused there.
    """

    OPTIONS = {
        "x": flag("add the input itself to the sum", True, attr="use_x"),
        "actions": Option((str,), "", doc="what to do with the sum, in order: A activation, B batch norm",
                          check=lambda v: _valid_actions(v),
                          expects="a string of the letters A and B, each at most once"),
        "actfunc": one_of(ACTIVATIONS, "activation function of action A", "relu"),
    }
    #: a residual around sequence layers (attention) keeps the sequence
    accepts_sequences = True

    def __init__(self, children: list[Layer], x: bool = True, actions: str = "", actfunc: str = "relu"):
        super().__init__(children)
        self.use_x = bool(x)
        self.actions = actions
        self.actfunc = actfunc
        self.activation = get_activation(actfunc)
        self.bn: Layer | None = None

    def children(self):
        return self.branches + ([self.bn] if self.bn is not None else [])

    def spec_children(self):
        return self.branches

    def named_children(self):
        named = [(f"children[{i}]", branch) for i, branch in enumerate(self.branches)]
        return named + ([("bn", self.bn)] if self.bn is not None else [])

    def build(self, input_shape, ctx: BuildContext):
        _check_branches(self)
        if is_sequence_shape(input_shape):
            _check_sequence_branches(self)
        self.input_shape = input_shape if is_sequence_shape(input_shape) else tuple(input_shape)
        shapes = [tuple(branch.build(self.input_shape, ctx)) for branch in self.branches]
        named = _names(self.branches)
        if self.use_x:
            shapes.append(self.input_shape)
            named.append("x")
        where = self.path or self.type_name
        if any(s[:-1] != shapes[0][:-1] or len(s) == 0 for s in shapes):
            raise SpecError(where, "'add' branches must agree on every axis but the last (channels); "
                                   f"got {_shape_list(named, shapes)}")
        width = max(s[-1] for s in shapes)
        if any(width % s[-1] for s in shapes):
            raise SpecError(where, f"'add' tiles each branch to the widest ({width} channels), so every channel "
                                   f"count must divide {width}; got {_shape_list(named, shapes)}")
        self.channels = [s[-1] for s in shapes[:len(self.branches)]]
        self.output_shape = shapes[0][:-1] + (width,)
        if is_sequence_shape(input_shape):
            if "B" in self.actions:
                raise SpecError(where, "'add' on a sequence cannot batch-normalise (action B): padded steps would "
                                       "enter the statistics; use layer_normal or rms_normal after it")
            self.output_shape = SeqShape(self.output_shape)
        self.bn = None
        if "B" in self.actions:
            from .norm import BatchNorm  # imported here: norm.py builds on this module's siblings

            self.bn = BatchNorm(rescale=True)
            self.bn.path = f"{self.path}.bn" if self.path else "bn"
            self.bn.build(self.output_shape, ctx)
        return self.output_shape

    def forward(self, x, training=False):
        xp = array_module(x)
        self._real = None
        if isinstance(x, Sequences):
            return self._forward_sequences(x, training)
        outputs = [branch.forward(x, training) for branch in self.branches]
        total = xp.empty((len(x),) + self.output_shape, dtype=outputs[0].dtype)
        for i, out in enumerate(outputs):
            _accumulate(total, out, i == 0)
        if self.use_x:
            _accumulate(total, x, False)
        own = True  # total is our buffer: the activation may work on it in place
        self._act_y = None
        for action in self.actions:
            if action == "A":
                self._act_z = total if self.activation.needs_input else None
                total = self.activation.forward(total if own else total.copy())
                self._act_y = total
                own = True
            else:
                total = self.bn.forward(total, training)
                own = False
        return total

    def _forward_sequences(self, x, training):
        """The sum of Sequences: data summed, lengths kept, padded steps 0."""
        self._real = None
        outputs = [seq_data(branch.forward(x, training)) for branch in self.branches]
        data = x.data
        xp = array_module(outputs[0])  # the sum lives where the branches computed
        total = xp.empty(data.shape[:2] + tuple(self.output_shape[1:]), dtype=outputs[0].dtype)  # T of this batch
        for i, out in enumerate(outputs):
            _accumulate(total, out, i == 0)
        if self.use_x:
            _accumulate(total, data, False)
        self._act_y = None
        if "A" in self.actions:
            self._act_z = total if self.activation.needs_input else None
            total = self._act_y = self.activation.forward(total if self._act_z is None else total.copy())
        if not x.full:
            # the mask is made from host lengths, then copied to the sum's device once
            self._real = xp.asarray(length_mask(x.lengths, data.shape[1], total.dtype)[:, :, None])
            total = xp.where(self._real > 0, total, total.dtype.type(0))   # even a NaN of padding stays out
        return Sequences(total, x.lengths)

    def backward(self, dy):
        dy = seq_data(dy)
        if getattr(self, "_real", None) is not None:
            dy = dy * self._real                      # padded steps: no gradient in or out
        for action in reversed(self.actions):
            if action == "A":
                dy = self.activation.backward(dy, self._act_y, self._act_z)
            else:
                dy = self.bn.backward(dy)
        parts = [branch.backward(_fold(dy, chn)) for branch, chn in zip(self.branches, self.channels, strict=False)]
        if not self._needs_input_grad:
            return None
        if self.use_x:
            parts.append(_fold(dy, self.input_shape[-1]))
        return _sum_grads(parts)


@register_layer("loop")
class Loop(Serial):
    """The one child repeated ``repeat`` times in sequence, each copy with its own parameters.

        y = g_R(… g_2(g_1(x))),   g_r a fresh copy of the child spec

    Copies are made at build time as deep copies of the child as it was parsed (before
    any build), so each copy draws its own initial weights from the generator. Copy 0
    is the parsed child itself and keeps its spec path (``layers[2].children[0]``); copy
    r ≥ 1 gets ``#r`` after the child's path, and every layer inside it is renamed the
    same way (``layers[2].children[0]#1.children[1]``), so parameter names stay unique.
    Once built it is a ``serial`` of the copies: forward, backward and the input-gradient
    flag are Serial's.
    """

    OPTIONS = {
        "repeat": int_in(1, doc="how many copies of the child run in sequence", default=1),
    }
    accepts_children = True

    def __init__(self, children: list[Layer], repeat: int = 1):
        self.child_specs = list(children)
        self.repeat = int(repeat)
        super().__init__(children[:1])
        # the pristine, unbuilt child that every further copy is cloned from
        self._template = copy.deepcopy(children[0]) if len(children) == 1 else None

    @property
    def copies(self) -> list[Layer]:
        return self.layers

    def spec_children(self):
        return self.child_specs[:1] if self._template is None else [self._template]

    def named_children(self):
        # copy 0 is children[0]; copy r is children[0]#r
        return [("children[0]" + (f"#{r}" if r else ""), copy_) for r, copy_ in enumerate(self.layers)]

    def attach(self, path):
        super().attach(path)
        if self._template is not None:
            self._template.attach(f"{path}.children[0]" if path else "children[0]")

    def build(self, input_shape, ctx: BuildContext):
        where = self.path or self.type_name
        if len(self.child_specs) != 1:
            raise SpecError(where, f"'loop' takes exactly one child spec, got {len(self.child_specs)}")
        if self.repeat < 1:
            raise SpecError(where, f"'loop' repeat must be an integer >= 1, got {self.repeat!r}")
        first = self.child_specs[0]
        base = first.path or (f"{self.path}.children[0]" if self.path else "children[0]")
        first.path = base
        needs_input_grad = first.needs_input_grad
        self.layers = [first]
        for r in range(1, self.repeat):
            clone = copy.deepcopy(self._template)
            _rebase_paths(clone, self._template.path, f"{base}#{r}")
            clone.needs_input_grad = True
            self.layers.append(clone)
        first.needs_input_grad = needs_input_grad
        return super().build(input_shape, ctx)


def _rebase_paths(layer: Layer, old: str, new: str) -> None:
    """Rename ``layer`` and every layer under it (loop templates included) from ``old…`` to ``new…``."""
    if layer.path.startswith(old):
        layer.path = new + layer.path[len(old):]
    for child in layer.children():
        _rebase_paths(child, old, new)
    template = getattr(layer, "_template", None)
    if template is not None:
        _rebase_paths(template, old, new)
