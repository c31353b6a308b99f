"""What every model shares: named parts, one optimiser, persistence, summaries.

A model is a few :class:`~alzza.models.parts.Part` s — each a Serial layer tree built
from a spec list — plus heads and ONE optimiser; training runs along a
:class:`~alzza.models.parts.Chain` (a path through some parts, scored by one head,
stepping only the slots of the parts it trains). :class:`FamilyModel` is their common
base: the plain :class:`~alzza.models.Model` is a family of one part (``network``) and
one chain; the autoencoder, the encoder-decoder and the GAN of chapters 13–15 have
several parts and a chain per training stage.

Freezing a part means not stepping its slots; when a frozen part lies *after* a
trained one (the GAN's discriminator in the generator step) the gradient still flows
through its backward, which fills its ``grads`` but never moves a weight.

Weights are named ``<part path>/<key>``: ``encoder[0]/w``, ``decoder.output/b``,
``generator.output/w`` (the plain Model: ``layers[0]/w``, ``output/b``). A family's
``network`` is a container Serial of its parts (for walking, summaries and saving — it
is never run as a whole); a one-part model's ``network`` is its part's own Serial.
"""

from __future__ import annotations

import numpy as np

from contextlib import contextmanager

from ..backend import make_rng, resolve_dtype
from ..device import CPU, get_device, to_host
from ..errors import AlzzaError, DataError, SpecError
from ..layers.initializers import Initializer
from ..layers import BuildContext, Serial
from ..memory import check_activation_memory
from ..training.optimizers import make_optimizer
from ..sequences import shape_from_config, shape_to_config
from .parts import Chain, Part, encode_in_chunks, output_layer
from .runtime import OnRuntime, Runtime

__all__ = ["Chain", "FamilyModel", "Part", "describe_model", "encode_in_chunks", "output_layer", "training_examples"]


class FamilyModel(OnRuntime):
    """Base of every model: parts, one optimiser, persistence and summaries.

    Subclasses set ``kind`` (by registering, :func:`alzza.models.kinds.register_model_kind`) and
    ``PARTS`` (the spec keys), build their parts in ``__init__`` after :meth:`_setup`,
    hand them to :meth:`_finish`, and add what they need to :meth:`config`.
    """

    kind = ""
    PARTS: tuple[str, ...] = ()

    #: the class of the per-epoch report printer (a ReportPrinter; None: the default one).
    #: A subclass sets it to change the report format of every run, e.g. the book's
    report_printer = None

    #: the picture grid of the last visualize() call (None for non-image data)
    last_figure = None

    def _setup(self, dataset, name, *, optimizer, l2_decay, l1_decay, init, seed, dtype, macros, printer,
               input_shape, output_shape, mode, device=None):
        # where the arrays live (:mod:`alzza.device`; checked first: no CuPy → one clear error), in
        # which dtype, stepped by which optimiser: the one Runtime every chain of this model shares
        self.runtime = Runtime(get_device(device), resolve_dtype(dtype),
                               make_optimizer(optimizer, l2_decay=l2_decay, l1_decay=l1_decay))
        self.dataset = dataset
        self.name = name or (f"{dataset.name}-{self.kind}" if dataset is not None else self.kind)
        self.printer = printer
        self.rng = make_rng(seed)
        self.seed = seed if isinstance(seed, int) else None
        self.macros = dict(macros or {})
        self.init = Initializer.from_spec(init)
        self.input_shape = shape_from_config(input_shape if input_shape is not None else _need(dataset, "input_shape"))
        self.output_shape = shape_from_config(output_shape if output_shape is not None
                                              else _need(dataset, "output_shape"))
        self.mode = mode or _need(dataset, "mode")
        self.ctx = BuildContext(self.rng, self.dtype, self.init)
        self.history = None
        self.histories: list = []

    def _finish(self, parts: dict, where: str | None = None):
        """Keep the parts and the network over them: a container Serial of several parts
        (walked, never run), or a single part's own Serial. ``where`` labels the
        activation-memory check (default: the kind)."""
        self.parts = parts
        if len(parts) == 1:
            (part,) = parts.values()
            self.network = part.network
        else:
            self.network = Serial([part.network for part in parts.values()])
            self.network.path = ""
        check_activation_memory(self.network, self.dtype, where or self.kind or "model")
        self.slots = [slot for part in parts.values() for slot in part.slots]
        # built on the host (so the initial weights are the seed's on every device), then moved
        device, self.device = self.device, CPU
        self.to(device)

    def to(self, device):
        """Move every parameter, layer state and optimiser state to ``device`` ('cpu',
        'cuda', 'standin' or a Device); returns the model.

        Parameters are replaced in their owners' ``params`` (the optimiser reaches them
        through their slots, so it steps the moved arrays); gradients and cached
        activations are remade on the next batch; layers that draw random arrays get the
        device's generator, seeded from the model's seed (see :mod:`alzza.device`).
        """
        device = get_device(device)
        for layer in self.network.walk():
            for store in (layer.params, layer.state):
                for key, value in store.items():
                    if not (device.is_host and isinstance(value, np.ndarray)):  # host stays as it is (no copy)
                        store[key] = device.asarray(to_host(value))
            layer.grads.clear()
            if hasattr(layer, "to_device"):  # layers with device-bound workspaces or generators
                layer.to_device(device)
        self.optimizer.to_device(device)
        generator = device.generator(self.seed)
        for layer in self.network.walk():
            if hasattr(layer, "array_rng"):
                layer.array_rng = generator
        self.device = device
        return self

    @contextmanager
    def on_host(self):
        """``with model.on_host():`` the model on the CPU inside (for exporting, plotting
        weights, loading files), back on its device after."""
        device = self.device
        if device.is_host:
            yield self
            return
        self.to(CPU)
        try:
            yield self
        finally:
            self.to(device)

    def _part(self, key, spec, input_shape, ctx=None, **options) -> Part:
        """The part ``key`` built from ``spec``; ``ctx``: a build context other than the model's
        (an encoder's, or a decoder's that may read memories)."""
        if not isinstance(spec, (list, tuple)):
            raise SpecError(key, f"the {key} is a list of layer specs, got {spec!r}")
        return Part(key, spec, input_shape, self.ctx if ctx is None else ctx, self.macros, **options)

    def parameter_count(self) -> int:
        return self.network.parameter_count()

    # --- computing ------------------------------------------------------------------
    def _need_dataset(self, what):
        if self.dataset is None:
            raise AlzzaError(f"{self.name}: {what} needs a data set; pass one to the Model (or model.dataset = ...)")
        return self.dataset

    def gradient_checks(self, count: int) -> list:
        """(chain, x, y) for every training chain, each with (at most) ``count`` training
        examples of the model's data set as that chain sees them in training — what
        ``alzza gradcheck`` feeds :func:`~alzza.testing.check_model_gradients`."""
        raise NotImplementedError

    # --- structure and persistence ----------------------------------------------------
    def summary(self, print_it: bool | None = None):
        """The structure dump: nested layers, input → output shapes, parameters, total.

        Returns a :class:`~alzza.viz.summary.Summary` (a str that displays itself). It is
        printed (through the model's printer) in scripts; at an interactive prompt or in
        Jupyter the returned value shows itself instead — once. ``print_it`` forces either.
        """
        from ..viz.summary import Summary, summary_text

        text = Summary(summary_text(self))
        if print_it is None:
            print_it = not _interactive()
        if print_it:
            self.printer(text)
        return text

    def __repr__(self) -> str:
        return describe_model(self)

    def save(self, path) -> None:
        """Write spec (JSON) + weights + optimiser state to one ``.npz``, atomically."""
        from ..saving.model_files import save_model

        save_model(self, path)

    def to_onnx(self, path=None, **options):
        """This model as ONNX (equal to ``predict``; a family also exports its parts,
        ``part='encoder'``, ...; see :func:`alzza.export.to_onnx`)."""
        from ..export import to_onnx

        with self.on_host():  # exported from host copies; the model returns to its device after
            return to_onnx(self, path, **options)

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
        """Continue a run from a checkpoint record (:func:`alzza.training.callbacks.read_checkpoint`)
        whose weights are already loaded: the stages it had finished are not trained again
        (their histories and stage metrics come from the record), the stage it was in
        continues after its last epoch, and the stages after run as usual."""
        from ..training.loop import History

        self._resume_record = record
        self._finished_stages = [History.from_dict(d) for d in record.get("previous_stages") or []]
        self._resumed_stage_metrics = dict(record.get("stage_metrics") or {})

    def _train_chain(self, chain, dataset, epochs, batch_size, learning_rate, report, progress, max_batches,
                     on_report=None, stage: str = "train", **options):
        """One training stage along ``chain``; ``options`` as :func:`alzza.training.loop.fit`."""
        from ..errors import TrainingError
        from ..training.loop import fit

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
                      max_batches=max_batches, on_report=on_report, stage=stage, owner=self, **options)
        self.histories.append((chain.name, history))
        self.history = history
        from ..training.loop import show_curves_inline

        show_curves_inline(history, chain.name)
        return history



def _need(dataset, attr):
    if dataset is None:
        raise SpecError("model", f"without a data set, give {attr} explicitly")
    return getattr(dataset, attr)


def training_examples(dataset, count: int, seed: int = 0):
    """(x, y): the first ``count`` training examples of ``dataset`` — or, for a data set
    that draws its training examples fresh for every batch (mnist-kor), one batch of
    ``count`` drawn with a generator of its own, so no model's random stream moves."""
    try:
        x, y = dataset.train_data()
    except DataError:
        batch = next(iter(dataset.train_batches(count, np.random.default_rng(seed))), None)
        if batch is None:
            raise
        return batch
    return x[:count], y[:count]


def _interactive() -> bool:
    """True at a Python or IPython prompt and in Jupyter, where a returned value is shown."""
    import builtins
    import sys

    return hasattr(sys, "ps1") or hasattr(builtins, "__IPYTHON__")


def describe_model(model) -> str:
    """``<Model pulsar-std: network (8) → (1), binary, 45 parameters, adam, trained 10 epochs>``."""
    from ..viz.summary import _shape, mode_text

    kind = getattr(model, "kind", "") or "network"
    history = getattr(model, "history", None)
    trained = f", trained {len(history.epoch)} epochs" if history is not None and history.epoch else ", untrained"
    return (f"<{type(model).__name__} {model.name}: {kind} {_shape(model.input_shape)} → "
            f"{_shape(model.output_shape)}, {mode_text(model)}, {model.parameter_count():,} parameters, "
            f"{model.optimizer.name}{trained}>")
