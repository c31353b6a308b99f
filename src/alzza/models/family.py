"""What the model families of chapters 13–15 share: named sub-networks, paths through them.

A family (:class:`~alzza.models.autoencoder.Autoencoder`,
:class:`~alzza.models.encoder_decoder.EncoderDecoder`, :class:`~alzza.models.gan.Gan`)
is a few :class:`Part` s — each a Serial layer tree built from a spec list by
:func:`~alzza.spec.parse_layers`, exactly as a :class:`~alzza.models.Model`'s network
is — plus heads and ONE optimiser. Training runs along a :class:`Chain`: a path through
some parts, scored by one head, stepping only the slots of the parts it trains::

    x → part₁.forward → part₂.forward → head.loss
      ← part₁.backward ← part₂.backward ← head.backward     (gradients only)
    optimiser.step(slots of the trained parts)              (the others stay frozen)

Freezing a part therefore means not stepping its slots; when a frozen part lies
*after* a trained one (the GAN's discriminator in the generator step) the gradient
still flows through its backward, which fills its ``grads`` but never moves a weight.
A chain has the interface the trainer (:func:`~alzza.training.fit`) and the gradient
checker (:func:`~alzza.testing.check_model_gradients`) expect of a model —
``name``, ``dtype``, ``optimizer``, ``slots``, ``loss_and_backward``, ``train_step``,
``evaluate`` — so no second training loop or gradient code exists.

Weights are named ``<part path>/<key>``: ``encoder[0]/w``, ``decoder.output/b``,
``generator.output/w``; a family's ``network`` is a container Serial of its parts (for
walking, summaries and saving — it is never run as a whole).
"""

from __future__ import annotations

import numpy as np

from ..backend import make_rng, resolve_dtype
from ..errors import AlzzaError, SpecError
from ..init import Initializer
from ..layers import BuildContext, Dense, Layer, Serial
from ..layers.base import check_built
from ..layers.seqwrap import SeqWrap
from ..memory import check_activation_memory
from ..optim import Slot, make_optimizer
from ..sequences import Sequences, is_sequence_shape, shape_from_config, shape_to_config
from .model import Model, _build_checked, hidden_layers
from .step import TrainingStep

__all__ = ["Chain", "FamilyModel", "Part", "output_layer"]


def output_layer(hidden_shape, wanted, path: str, actfunc: str = "none"):
    """A full layer sized to ``wanted`` (per step, in a seqwrap, when the input is a sequence)."""
    if not is_sequence_shape(hidden_shape):
        if is_sequence_shape(wanted):
            raise SpecError(path, f"the target is a sequence {wanted!r}, but the layers before end in "
                                  f"{tuple(hidden_shape)}; end them in a sequence (e.g. outseq: true)")
        layer = Dense(int(np.prod(wanted)), actfunc=actfunc)
        layer.path = path
        return layer
    if len(wanted) < 2 or wanted[0] != hidden_shape[0]:
        raise SpecError(path, f"the layers before end in the sequence {hidden_shape!r}; the target must then "
                              f"be (T, K) per step with the same T, got {tuple(wanted)}")
    step = Dense(int(np.prod(wanted[1:])), actfunc=actfunc)
    step.path = f"{path}.step"
    layer = SeqWrap([step])
    layer.path = path
    return layer


class Part:
    """One named sub-network: a Serial built from ``spec`` for ``input_shape``.

    With ``output_shape`` a full layer of that size (activation ``output_actfunc``) is
    appended, as Model appends its output layer. ``input_grad`` False lets the first
    layer skip dL/dx (its input is data); a part that may follow another needs True.
    """

    def __init__(self, name: str, spec, input_shape, ctx: BuildContext, macros=None, *, output_shape=None,
                 output_actfunc: str = "none", input_grad: bool = False):
        self.name = name
        self.spec = list(spec) if isinstance(spec, (list, tuple)) else spec
        layers = hidden_layers(self.spec, name, macros)
        if self.spec and all(isinstance(item, Layer) for item in self.spec):
            self.spec = [layer.to_spec() for layer in layers]  # Layer objects: saved as their specs
        shape = input_shape
        try:
            for layer in layers:
                shape = _build_checked(layer, shape, ctx)
            if output_shape is not None:
                out = output_layer(shape, output_shape, f"{name}.output", output_actfunc)
                shape = out.build(shape, ctx)
                layers.append(out)
        except SpecError:
            raise
        except (ValueError, TypeError) as exc:
            raise SpecError(name, f"the {name} does not fit its input shape {input_shape}: {exc}") from None
        check_built(layers, ctx.dtype)
        network = Serial(layers)
        network.path = name
        network.input_shape, network.output_shape = input_shape, shape
        if layers and not input_grad:
            layers[0].needs_input_grad = False
        self.network = network
        self.input_shape, self.output_shape = input_shape, shape
        self.slots = [Slot(f"{layer.path}/{key}", value, layer.grads, key, key in layer.decayed, layer)
                      for layer in network.walk() for key, value in layer.params.items()]

    @property
    def last_layer(self):
        """The last top-level layer (None for an empty part)."""
        return self.network.layers[-1] if self.network.layers else None


def _to_shape(a, shape):
    """A plain batch reshaped to ``(N,) + shape`` when it differs (a flat generator output
    fed to an image discriminator); sequences pass through."""
    if isinstance(a, np.ndarray) and not is_sequence_shape(shape) and a.shape[1:] != tuple(shape):
        return a.reshape((len(a),) + tuple(shape))
    return a


class Chain(TrainingStep):
    """A path through ``parts`` scored by ``head``, training (stepping) only ``trained``.

    Quacks like a Model for :func:`~alzza.training.fit` and
    :func:`~alzza.testing.check_model_gradients`: its ``slots`` are those of the
    trained parts, so the checker compares exactly the gradients this path applies.
    Backward runs from the head down to the first trained part and stops there.
    """

    def __init__(self, owner: FamilyModel, name: str, parts, head, trained=None):
        self.owner, self.name, self.parts, self.head = owner, name, list(parts), head
        trained = self.parts if trained is None else list(trained)
        for part in trained:
            if part not in self.parts:
                raise ValueError(f"{part.name} is trained but not on the path {name}")
        self.trained = trained
        self.slots = [slot for part in self.parts if part in trained for slot in part.slots]
        self._first = min((self.parts.index(p) for p in trained), default=len(self.parts))

    # what the trainer and the gradient checker read
    @property
    def dtype(self):
        return self.owner.dtype

    @property
    def optimizer(self):
        return self.owner.optimizer

    def forward(self, x, training: bool = False):
        x = self.owner._cast(x)
        for part in self.parts:
            x = part.network.forward(_to_shape(x, part.input_shape), training)
        return x

    output_in_chunks = Model.output_in_chunks

    def backward(self, d):
        """dL/d(output) → through the parts, down to the first trained one (grads only)."""
        for i in range(len(self.parts) - 1, self._first - 1, -1):
            d = self.parts[i].network.backward(d)
            if i > self._first and d is not None:
                d = _to_shape(d, self.parts[i - 1].output_shape)
        return d

    # the hooks of TrainingStep (loss_and_backward, train_step, evaluate, predict)
    def _train_forward(self, x):
        return self.forward(x, True)

    def _train_backward(self, d):
        self.backward(d)

    def _target(self, y, output):
        return self.owner._target(y, output)


class FamilyModel:
    """Base of the families: parts, one optimiser, persistence and summaries.

    Subclasses set ``kind`` and ``PARTS`` (the spec keys), build their parts in
    ``_build_parts`` and add what they need to :meth:`config`.
    """

    kind = ""
    PARTS: tuple[str, ...] = ()

    # the dtype handling of Model, shared rather than copied
    _cast = Model._cast
    _target = Model._target
    _need_dataset = Model._need_dataset
    summary = Model.summary
    save = Model.save
    to_onnx = Model.to_onnx  # the default graph, or part='encoder', ... (alzza.export.plans)
    __repr__ = Model.__repr__
    report_printer = None  # as Model.report_printer
    last_figure = None

    def _setup(self, dataset, name, *, optimizer, l2_decay, l1_decay, init, seed, dtype, macros, printer,
               input_shape, output_shape, mode):
        self.dataset = dataset
        self.name = name or (f"{dataset.name}-{self.kind}" if dataset is not None else self.kind)
        self.printer = printer
        self.rng = make_rng(seed)
        self.seed = seed if isinstance(seed, int) else None
        self.dtype = resolve_dtype(dtype)
        self.macros = dict(macros or {})
        self.init = Initializer.from_spec(init)
        self.input_shape = shape_from_config(input_shape if input_shape is not None else _need(dataset, "input_shape"))
        self.output_shape = shape_from_config(output_shape if output_shape is not None
                                              else _need(dataset, "output_shape"))
        self.mode = mode or _need(dataset, "mode")
        self.optimizer = make_optimizer(optimizer, l2_decay=l2_decay, l1_decay=l1_decay)
        self.ctx = BuildContext(self.rng, self.dtype, self.init)
        self.history = None
        self.histories: list = []

    def _finish(self, parts: dict):
        """Keep the parts and a container network over them (walked, never run)."""
        self.parts = parts
        self.network = Serial([part.network for part in parts.values()])
        self.network.path = ""
        check_activation_memory(self.network, self.dtype, self.kind or "model")
        self.slots = [slot for part in parts.values() for slot in part.slots]

    def _part(self, key, spec, input_shape, **options) -> Part:
        if not isinstance(spec, (list, tuple)):
            raise SpecError(key, f"the {key} is a list of layer specs, got {spec!r}")
        return Part(key, spec, input_shape, self.ctx, self.macros, **options)

    def parameter_count(self) -> int:
        return self.network.parameter_count()

    def config(self) -> dict:
        """Everything but the arrays needed to rebuild this model (plain data)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "parts": {key: part.spec for key, part in self.parts.items()},
            "macros": self.macros,
            "input_shape": shape_to_config(self.input_shape),
            "output_shape": shape_to_config(self.output_shape),
            "mode": self.mode,
            "init": self.init.to_spec(),
            "dtype": str(self.dtype),
            "optimizer": self.optimizer.to_spec(),
        }

    @classmethod
    def from_config(cls, config: dict, dataset=None, printer=print):
        """Rebuild (untrained) from :meth:`config`; :func:`alzza.load` then copies the weights in."""
        raise NotImplementedError

    @staticmethod
    def _common(config: dict) -> dict:
        return dict(name=config.get("name"), optimizer=config.get("optimizer"), init=config.get("init"),
                    dtype=config.get("dtype"), macros=config.get("macros"), input_shape=config["input_shape"],
                    output_shape=config["output_shape"], mode=config["mode"])

    def resume_from(self, record: dict) -> None:
        """Continue a run from a checkpoint record (:func:`alzza.callbacks.read_checkpoint`)
        whose weights are already loaded: the stages it had finished are not trained again
        (their histories and stage metrics come from the record), the stage it was in
        continues after its last epoch, and the stages after run as usual."""
        from ..training import History

        self._resume_record = record
        self._finished_stages = [History.from_dict(d) for d in record.get("previous_stages") or []]
        self._resumed_stage_metrics = dict(record.get("stage_metrics") or {})

    def _train_chain(self, chain, dataset, epochs, batch_size, learning_rate, report, progress, max_batches,
                     on_report=None, stage: str = "train", **options):
        """One training stage along ``chain``; ``options`` as :func:`alzza.training.fit`."""
        from ..errors import TrainingError
        from ..training import fit

        finished = getattr(self, "_finished_stages", [])
        position = len(self.histories)
        self._stage_skipped = position < len(finished)
        if self._stage_skipped:  # trained before the checkpoint: keep its record, train nothing
            history = finished[position]
            if history.stage != stage:
                raise TrainingError(f"{self.name}: the checkpoint's stage {position + 1} is {history.stage!r}, "
                                    f"this run's is {stage!r}; resume with the same experiment settings")
            self.printer(f"Model {chain.name}: stage {stage} was trained before the checkpoint "
                         f"({history.epochs_run} epochs); not trained again")
            self.histories.append((chain.name, history))
            self.history = history
            return history
        record = getattr(self, "_resume_record", None)
        if record is not None and position == len(finished):
            if record.get("stage") != stage:
                raise TrainingError(f"{self.name}: the checkpoint was written in stage {record.get('stage')!r}, "
                                    f"this run's stage {position + 1} is {stage!r}")
            options["resume"] = record
        history = fit(chain, dataset, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                      report=report, rng=self.rng, printer=self.printer, progress=progress,
                      max_batches=max_batches, on_report=on_report, stage=stage, **options)
        self.histories.append((chain.name, history))
        self.history = history
        from ..training import show_curves_inline

        show_curves_inline(history, chain.name)
        return history


def _need(dataset, attr):
    if dataset is None:
        raise SpecError("model", f"without a data set, give {attr} explicitly")
    return getattr(dataset, attr)


def encode_in_chunks(chain: Chain, x):
    """Inference output of a chain for any number of examples (a Sequences stays one)."""
    out = chain.output_in_chunks(x)
    return out.data if isinstance(out, Sequences) else out


def need_layers(spec, key: str):
    if spec is None:
        raise AlzzaError(f"the model needs '{key}' (a list of layer specs)")
    return spec
