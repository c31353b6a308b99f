"""The building blocks every model is made of: layers built in a chain, a Part, a Chain.

A :class:`Part` is one named sub-network — a Serial of layers built from a spec list
(or Layer objects) for an input shape, optionally ending in an appended output layer
sized to a target (:func:`output_layer`). A :class:`Chain` is a path through some parts,
scored by one head, stepping only the slots of the parts it trains::

    x → part₁.forward → part₂.forward → head.loss
      ← part₁.backward ← part₂.backward ← head.backward     (gradients only)
    optimiser.step(slots of the trained parts)              (the others stay frozen)

The plain :class:`~alzza.models.Model` is one part (``network``) and one chain through
it; the families of chapters 13–15 (:mod:`.family`) are several parts and a chain per
training stage. A chain has the interface the trainer (:func:`~alzza.training.loop.fit`) and
the gradient checker (:func:`~alzza.testing.check_model_gradients`) expect of a model —
``name``, ``dtype``, ``optimizer``, ``slots``, ``loss_and_backward``, ``train_step``,
``evaluate`` — so no second training loop or gradient code exists.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..device import to_host
from ..errors import DataError, SpecError
from ..layers import BuildContext, Dense, Layer, Serial
from ..layers.base import check_built
from ..layers.recurrent import RecurrentBase
from ..layers.seqwrap import SeqWrap, WholeSequence
from ..limits import LimitError
from ..training.optimizers import Slot
from ..sequences import Sequences, is_sequence_shape
from ..spec import parse_layers
from .runtime import OnRuntime
from .step import TrainingStep

__all__ = ["EVAL_CHUNK", "SEQUENCE_MODES", "Chain", "Part", "build_chain", "encode_in_chunks", "hidden_layers",
           "output_layer"]

#: examples per forward call when evaluating whole splits (bounds memory on big sets)
EVAL_CHUNK = 1000

#: what the plain modes mean when the network's output is a sequence
SEQUENCE_MODES = {"select": "seqselect", "binary": "seqbinary"}


# --- building layers ------------------------------------------------------------------
def hidden_layers(spec, path: str, macros) -> list:
    """The unbuilt hidden layers of ``spec`` (a spec list, or Layer objects), each named by
    its place in the tree: ``<path>[i]``, ``<path>[i].children[j]``, ..."""
    if spec and all(isinstance(item, Layer) for item in spec):
        layers = list(spec)
    elif any(isinstance(item, Layer) for item in spec or ()):
        raise SpecError(path, "give either a spec list or Layer objects, not a mix of both")
    else:
        layers = parse_layers(spec, path, macros)
    for i, layer in enumerate(layers):
        layer.attach(f"{path}[{i}]")
    return layers


def build_chain(layers: list, shape, ctx, after_seqwrap: bool = False):
    """Build ``layers`` in order for ``shape``; returns the output shape.

    A sequence input to a layer made for single examples is refused with a message to
    wrap it in ``seqwrap`` — except after a seqwrap, where (as in the book) the layer acts
    on the whole fixed-length (N, T, ...) tensor: ``layers[i]`` is then replaced in place
    by a :class:`~alzza.layers.seqwrap.WholeSequence` around it. A ``serial`` is built
    child by child here (so the checks reach inside it and the SeqShape mark survives);
    sequence-aware layers (rnn, lstm, seqwrap) say so with ``accepts_sequences``.
    """
    return _chain(layers, shape, ctx, after_seqwrap)[0]


def _chain(layers, shape, ctx, after_seqwrap):
    for i, layer in enumerate(layers):
        if type(layer) is Serial:
            layer.input_shape = shape
            shape, after_seqwrap = _chain(layer.layers, shape, ctx, after_seqwrap)
            layer.output_shape = shape
            continue
        if is_sequence_shape(shape) and not layer.accepts_sequences:
            if not after_seqwrap:
                hint = (" (or give the recurrent layer before it outseq: false to keep only the last step)"
                        if layer.type_name == "full" else "")
                raise SpecError(layer.path or layer.type_name,
                                f"'{layer.type_name}' works on single examples, but its input is the sequence "
                                f"{shape!r}; wrap it in ['seqwrap', {{}}, ...] to apply it to every time step{hint}")
            layer = layers[i] = WholeSequence(layer)
        try:
            shape = layer.build(shape, ctx)
        except LimitError as exc:  # a weight array too big to allocate: say which layer asked for it
            raise SpecError(layer.path or layer.type_name, str(exc)) from None
        if isinstance(layer, SeqWrap):
            after_seqwrap = True
        elif isinstance(layer, RecurrentBase):
            after_seqwrap = False  # a recurrent layer: what follows it is its own sequence
        # (a layer that only passes a sequence through, such as layer_normal, keeps the rule)
    return shape, after_seqwrap


def output_layer(hidden_shape, wanted, path: str, actfunc: str = "none", *, where: str | None = None,
                 what: str = "the layers before", target: str = "the target"):
    """The appended output layer (unbuilt): full, ``actfunc``, sized to ``wanted`` — per step,
    in a seqwrap (``<path>.step``), when the layers before end in a sequence.

    ``where`` is the spec key a wrong shape is reported under (default ``path``);
    ``what`` and ``target`` name the two sides in that message.
    """
    where = path if where is None else where
    if not is_sequence_shape(hidden_shape):
        if is_sequence_shape(wanted):
            raise SpecError(where, f"{target} is a sequence output {wanted!r}, but {what} end in "
                                   f"{tuple(hidden_shape)}; end them in a sequence (e.g. outseq: true)")
        layer = Dense(int(np.prod(wanted)), actfunc=actfunc)
        layer.path = path
        return layer
    if len(wanted) < 2:
        raise SpecError(where, f"{what} end in the sequence {hidden_shape!r}, so {target} must be (T, K) per "
                               f"step, got {tuple(wanted)}")
    if wanted[0] != hidden_shape[0]:
        raise SpecError(where, f"{what} end in a sequence of {hidden_shape[0]} steps, but {target} has "
                               f"{wanted[0]} steps (shape {tuple(wanted)})")
    step = Dense(int(np.prod(wanted[1:])), actfunc=actfunc)
    step.path = f"{path}.step"
    layer = SeqWrap([step])
    layer.path = path
    return layer


# --- a part -----------------------------------------------------------------------------
class Part:
    """One named sub-network: a Serial built from ``spec`` for ``input_shape``.

    With ``output_shape`` a full layer of that size (activation ``output_actfunc``) is
    appended (:func:`output_layer`). ``input_grad`` False lets the first layer skip
    dL/dx (its input is data); a part that may follow another needs True.

    Layers are named by their place: ``<layers_path>[i]`` (default the part's name) and
    ``<output_path>`` (default ``<name>.output``); the Serial itself is ``network_path``
    (default the name). The plain Model's one part uses ``layers``, ``output`` and ``""``,
    so its weights are ``layers[0]/w`` ... ``output/b``. ``spec`` keeps the spec list given,
    or for Layer objects the spec they write (saved in the model's config).
    """

    def __init__(self, name: str, spec, input_shape, ctx: BuildContext, macros=None, *, output_shape=None,
                 output_actfunc: str = "none", input_grad: bool = False, layers_path: str | None = None,
                 output_path: str | None = None, network_path: str | None = None, target: str = "the target"):
        self.name = name
        layers_path = name if layers_path is None else layers_path
        self.spec = list(spec) if isinstance(spec, (list, tuple)) else spec
        layers = hidden_layers(self.spec, layers_path, macros)
        from_objects = bool(self.spec) and all(isinstance(item, Layer) for item in self.spec)
        hidden = len(layers)
        shape = input_shape
        try:
            shape = build_chain(layers, shape, ctx)
            if output_shape is not None:
                out = output_layer(shape, output_shape, f"{name}.output" if output_path is None else output_path,
                                   output_actfunc, where=layers_path, what=f"the {name}'s layers", target=target)
                shape = out.build(shape, ctx)
                layers.append(out)
        except SpecError:
            raise
        except (ValueError, TypeError) as exc:  # a layer that can't take its input shape
            raise SpecError(layers_path, f"the {name} does not fit its input shape {input_shape}: {exc}") from None
        check_built(layers, ctx.dtype)
        if from_objects:  # Layer objects built in Python: saved as the specs they write
            self.spec = [layer.to_spec() for layer in layers[:hidden]]
        network = Serial(layers)
        network.path = name if network_path is None else network_path
        network.input_shape, network.output_shape = input_shape, shape
        if layers and not input_grad:
            layers[0].needs_input_grad = False
        self.network = network
        self.input_shape, self.output_shape = input_shape, shape
        self.slots = [Slot(f"{layer.path}/{key}", layer.params, layer.grads, key, key in layer.decayed, layer)
                      for layer in network.walk() for key in layer.params]

    @property
    def last_layer(self):
        """The last top-level layer (None for an empty part)."""
        return self.network.layers[-1] if self.network.layers else None


# --- a chain ----------------------------------------------------------------------------
class Chain(OnRuntime, TrainingStep):
    """A path through ``parts`` (kept as ``route``) scored by ``head``, training (stepping) only ``trained``.

    Quacks like a model for :func:`~alzza.training.loop.fit` and
    :func:`~alzza.testing.check_model_gradients`: its ``slots`` are those of the
    trained parts, so the checker compares exactly the gradients this path applies.
    Backward runs from the head down to the first trained part and stops there. Between
    two parts (and into the first) a plain batch is reshaped to the next part's input
    shape (a flat generator output fed to an image discriminator). ``output_shape``, when
    given, is the shape inference outputs are handed out in ((N,) + output_shape: the
    plain Model's data-set shape); training always sees the last part's own output.

    ``runtime`` (:class:`~alzza.models.runtime.Runtime`, the model's one) casts the
    batches and targets and holds the optimiser; ``report_printer`` is the per-epoch report
    class of the model's kind (None: the default one).
    """

    def __init__(self, runtime, name: str, parts, head, trained=None, *, output_shape=None, report_printer=None):
        #: the parts a batch passes through, in order
        self.runtime, self.name, self.route, self.head = runtime, name, list(parts), head
        if report_printer is not None:
            self.report_printer = report_printer
        trained = self.route if trained is None else list(trained)
        for part in trained:
            if part not in self.route:
                raise ValueError(f"{part.name} is trained but not on the path {name}")
        self.trained = trained
        self.slots = [slot for part in self.route if part in trained for slot in part.slots]
        self._first = min((self.route.index(p) for p in trained), default=len(self.route))
        # (network, plain input shape or None for a sequence input): looked up once, not per batch
        self._links = [(part.network, None if is_sequence_shape(part.input_shape) else tuple(part.input_shape))
                       for part in self.route]
        self._reshaped = (tuple(output_shape) if output_shape is not None and len(output_shape) > 1
                          and not is_sequence_shape(output_shape) else None)
        # the runtime's casts, bound once (one call less per batch than a forwarding method)
        self._cast, self._target = runtime.cast, runtime.target

    #: the per-epoch report class of the model's kind (None: the default one)
    report_printer = None

    def _run(self, x, training=True):
        """x through every part (training mode by default: this is also the training forward)."""
        x = self._cast(x)
        for network, shape in self._links:
            if shape is not None and not isinstance(x, Sequences) and x.shape[1:] != shape:
                if x.ndim < 1 or int(np.prod(x.shape[1:])) != int(np.prod(shape)):
                    raise DataError(f"{network.path or self.name}: the input has shape {x.shape} ({x.shape[1:]} per "
                                    f"example), but this takes {shape} per example (an array of shape "
                                    f"(N,) + {shape}, or N rows of {int(np.prod(shape))} values)")
                x = x.reshape((len(x),) + shape)
            x = network.forward(x, training)
        return x

    def forward(self, x, training: bool = False):
        """The raw output of the path for a batch (logits for classification modes):
        a Sequences (N, T, K) when the output is per step, else an array."""
        out = self._run(x, training)
        if self._reshaped is not None and not isinstance(out, Sequences):
            return out.reshape((len(out),) + self._reshaped)
        return out

    def output_in_chunks(self, x):
        """Inference output for any number of examples, EVAL_CHUNK at a time."""
        if len(x) <= EVAL_CHUNK:
            return self.forward(x)
        outputs = [self.forward(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        if isinstance(outputs[0], Sequences):
            return Sequences.concatenate(outputs)
        return array_module(outputs[0]).concatenate(outputs)

    def backward(self, d):
        """dL/d(output) → through the parts, down to the first trained one (grads only)."""
        parts = self.route
        for i in range(len(parts) - 1, self._first - 1, -1):
            d = parts[i].network.backward(d)
            if i > self._first and d is not None:
                d = _to_shape(d, parts[i - 1].output_shape)
        return d

    # the hooks of TrainingStep (loss_and_backward, train_step, evaluate, predict); _target
    # is the runtime's, bound in __init__
    _train_forward = _run
    _train_backward = backward


def _to_shape(a, shape):
    """A plain batch reshaped to ``(N,) + shape`` when it differs; sequences pass through."""
    if not isinstance(a, Sequences) and not is_sequence_shape(shape) and a.shape[1:] != tuple(shape):
        return a.reshape((len(a),) + tuple(shape))
    return a


def encode_in_chunks(chain: Chain, x):
    """Inference output of a chain for any number of examples, on the host (a Sequences
    gives its data)."""
    out = chain.output_in_chunks(x)
    return to_host(out.data if isinstance(out, Sequences) else out)

