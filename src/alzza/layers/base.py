"""The Layer: build, forward, backward — and nothing else.

A layer is built once for an input shape (shapes exclude the batch axis) and then maps
a batch forward and a gradient backward::

    output_shape = layer.build(input_shape, ctx)
    y  = layer.forward(x, training)      # caches what backward needs
    dx = layer.backward(dy)              # fills layer.grads, returns dL/dx

Backward computes gradients only; the optimiser applies them (so a gradient can be
checked before anything moves, and a frozen sub-network simply isn't stepped).
Parameters live in ``params`` and their gradients under the same keys in ``grads``;
optimisers update ``params`` arrays in place, so their identity never changes.
Keys listed in ``decayed`` (weights, kernels — never biases) receive L1/L2 decay.
Non-trained buffers (batch-norm running statistics) live in ``state`` and are saved.

The contract, in one place (checked by the model, see :func:`check_built` and
:func:`check_gradients`; :func:`alzza.testing.check_layer` tests a layer class against it):

* ``OPTIONS`` declares the spec options (name → :class:`~alzza.options.Option`), once:
  the spec front end validates them, the constructor receives them by name (and the
  base class checks every argument given to any layer's constructor against them, so a
  layer built from Python — ``Dense(0)``, ``LSTM(-2)`` — is refused like a spec), and
  :meth:`Layer.options` (summaries) and :meth:`Layer.to_spec` (saving) read them back
  from the attributes of the same names. A layer without options declares nothing.
* ``accepts_children``: the constructor takes ``children`` (a list of Layers) first.
* ``accepts_sequences``: the layer takes and returns :class:`~alzza.sequences.Sequences`
  (others refuse a sequence input at build time).
* Every parameter is created in ``ctx.dtype``; after a backward, ``grads`` has exactly
  the keys of ``params``, each of its parameter's shape and dtype.
* A returned gradient belongs to the caller: never a view of a buffer the layer reuses,
  and ``dy`` is never modified. With ``needs_input_grad`` False (a first layer, whose
  input is data) backward fills ``grads`` and returns None.
* Names: :meth:`Layer.attach` names a layer by its place in the tree (``layers[2]``,
  ``layers[2].children[0]``) when it joins a model, so parameters are ``<path>/<key>``
  whether the network came from a spec or from Python objects.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from math import prod

import numpy as np

from ..errors import LayerContractError, SpecError
from .initializers import Initializer
from ..options import Option, option_problem


@dataclass
class BuildContext:
    """What building needs besides the input shape: the RNG, the dtype, the initialiser.

    ``memories``: the sequences a network may read besides its input, name → shape
    (SeqShape (S, D)), e.g. ``{'source': SeqShape((S, D))}`` for a decoder whose
    cross-attention reads an encoder's output (``['attention', {memory: source}]``). A
    model provides them; a plain network has none. ``encoder``: the network being built is
    an encoder, which reads its whole input — a causal attention in it is refused.
    ``tables``: the embedding layers built so far that have a ``name``, name → layer, so an
    output projection (``unembed``) can tie its weights to one.
    """

    rng: np.random.Generator
    dtype: np.dtype
    init: Initializer = field(default_factory=Initializer)
    memories: dict = field(default_factory=dict)
    encoder: bool = False
    tables: dict = field(default_factory=dict)


class Layer:
    """Base class of every layer type (see the module docstring for the contract)."""

    #: name of the layer type in the description language (the registry key)
    type_name = "layer"
    #: the spec options, name → Option (written once; see the module docstring)
    OPTIONS: dict[str, Option] = {}
    #: the constructor's first argument is the list of child layers
    accepts_children = False
    #: the layer reads and writes Sequences (others refuse a sequence input)
    accepts_sequences = False
    #: parameter keys that receive L1/L2 decay
    decayed: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not hasattr(init, "__signature_checked__"):
            cls.__init__ = _checking_options(init)

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        #: where this layer sits in the tree, e.g. ``layers[2]`` (for messages and weight names)
        self.path = ""
        #: False for a first layer whose input is data: backward then returns None (skips dL/dx)
        self.needs_input_grad = True

    # --- the contract -------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...], ctx: BuildContext) -> tuple[int, ...]:
        """Create parameters for ``input_shape``; return (and remember) the output shape.

        The default is a layer without parameters that keeps the shape (dropout, noise).
        """
        self.input_shape = self.output_shape = tuple(input_shape)
        return self.output_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    # --- options ------------------------------------------------------------------
    def check_options(self, **values) -> dict:
        """SpecError naming this layer unless every value fits its declared Option; returns
        the values (an int given for a float option made a float). The base class calls it
        on every constructor's arguments, so a layer needs not call it itself."""
        out = {}
        for key, value in values.items():
            option = self.OPTIONS.get(key)
            if option is None:
                known = ", ".join(self.OPTIONS) or "none"
                raise SpecError(getattr(self, "path", "") or self.type_name,
                                f"unknown option {key!r}; known options: {known}")
            out[key], problem = option_problem(option, value)
            if problem:
                hint = f" ({key}: {option.doc})" if option.doc else ""
                raise SpecError(getattr(self, "path", "") or self.type_name, f"option {key!r} {problem}{hint}")
        return out

    def options(self) -> dict:
        """The options as a spec writes them: every declared option that is required or
        differs from its default, read from the attribute of its name (``Option.attr``)."""
        out = {}
        for key, option in self.OPTIONS.items():
            attr = option.attr or key
            if not hasattr(self, attr):
                raise LayerContractError(f"{_where(self)}: option {key!r} is declared in OPTIONS, but the layer has "
                                         f"no attribute {attr!r} to read it back from; store the option under "
                                         "its name (or name the attribute with Option(attr=...))")
            value = getattr(self, attr)
            value = option.plain(value) if option.plain is not None else _plain(value)
            if option.required or value != option.default:
                out[key] = value
        return out

    def to_spec(self) -> list:
        """This layer in the description language: ``[type, {options}, child, ...]``."""
        options = self.options()
        return [self.type_name] + ([options] if options else []) + [c.to_spec() for c in self.spec_children()]

    # --- structure ----------------------------------------------------------------
    def children(self) -> list[Layer]:
        """Sub-layers, all of them (composites override): walked for parameters."""
        return []

    def spec_children(self) -> list[Layer]:
        """The children a spec writes (a loop writes one child, not its copies)."""
        return self.children()

    def named_children(self) -> list[tuple[str, Layer]]:
        """(name, child) pairs: a child's path is ``<this path>.<name>``."""
        return [(f"children[{i}]", child) for i, child in enumerate(self.children())]

    def attach(self, path: str) -> None:
        """Name this layer ``path`` and everything below it by its place in the tree."""
        self.path = path
        for name, child in self.named_children():
            child.attach(f"{path}.{name}" if path else name)

    def walk(self):
        """This layer and all layers below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def parameter_count(self) -> int:
        """Number of trainable scalars here and below."""
        return sum(int(p.size) for layer in self.walk() for p in layer.params.values())

    def describe(self) -> str:
        """One line for the structure dump: type and options."""
        opts = ", ".join(f"{k}={v}" for k, v in self.options().items())
        return f"{self.type_name}({opts})" if opts else self.type_name

    def __repr__(self):
        return f"<{self.describe()} at {self.path or '?'}>"


def _checking_options(init):
    """``init`` wrapped so that the outermost constructor of a layer checks each argument
    that names a declared option (a default left as it is, is not checked again)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        declared = type(self).OPTIONS
        if declared and type(self).__init__ is __init__:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:
                return init(self, *args, **kwargs)  # Python's own error for a wrong call
            given = {key: value for key, value in bound.arguments.items()
                     if key in declared and not _is_default(value, declared[key])}
            bound.arguments.update(self.check_options(**given))
            return init(*bound.args, **bound.kwargs)
        return init(self, *args, **kwargs)

    __init__.__signature_checked__ = True
    return __init__


def _is_default(value, option: Option) -> bool:
    default = option.default
    return not option.required and (value is default or (type(value) is type(default) and value == default))


def _plain(value):
    """Spec data for an attribute: tuples become lists."""
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def flat_size(shape) -> int:
    """Number of scalars in one example of ``shape``."""
    return int(prod(shape))


def _where(layer) -> str:
    return f"{layer.path or '?'} ({layer.type_name})"


def check_built(layers, dtype) -> None:
    """LayerContractError unless every parameter of ``layers`` (and below) is an array of
    ``dtype`` and every parameter name ``<path>/<key>`` is unique."""
    dtype = np.dtype(dtype)
    seen: dict[str, Layer] = {}
    for top in layers:
        for layer in top.walk():
            for key, value in layer.params.items():
                if not isinstance(value, np.ndarray) or value.dtype != dtype:
                    got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
                    raise LayerContractError(f"{_where(layer)}: parameter {key!r} is {got}, the model is {dtype}; "
                                             "create parameters with ctx.dtype in build()")
                name = f"{layer.path}/{key}"
                if name in seen:
                    same = " (the same Layer object is used twice)" if seen[name] is layer else ""
                    raise LayerContractError(f"{_where(layer)}: two parameters are named {name!r}{same}; "
                                             "every layer needs its own place in the tree")
                seen[name] = layer


def check_gradients(layers) -> None:
    """LayerContractError unless, after a backward, every layer's ``grads`` has exactly the
    keys of its ``params``, each of its parameter's shape and dtype."""
    for layer in layers:
        if set(layer.grads) != set(layer.params):
            missing = sorted(set(layer.params) - set(layer.grads))
            extra = sorted(set(layer.grads) - set(layer.params))
            what = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                               f"not parameters {extra}" if extra else "") if part)
            raise LayerContractError(f"{_where(layer)}: after backward, grads has keys {sorted(layer.grads)} but "
                                     f"params has {sorted(layer.params)} ({what}); backward must set grads[key] "
                                     "for every parameter key")
        for key, value in layer.params.items():
            grad = layer.grads[key]
            if getattr(grad, "shape", None) != value.shape or getattr(grad, "dtype", None) != value.dtype:
                raise LayerContractError(f"{_where(layer)}: grads[{key!r}] is {getattr(grad, 'dtype', type(grad))} "
                                         f"{getattr(grad, 'shape', '')}, its parameter {value.dtype} {value.shape}; "
                                         "a gradient has its parameter's shape and dtype")
