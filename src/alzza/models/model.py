"""The Model: a network of layers, an output layer sized by the data, a head, an optimiser.

A Model is the family of one part (:mod:`.family`, :mod:`.parts`): the part
``network`` (the hidden layers and the appended output layer) and one chain through it.
Data flows one way:

    x → network.forward → output layer → head.loss
      ← network.backward ← output layer ← head.backward  (gradients only)
    optimiser.step(slots)                                 (the only place weights change)

Sequences (chapters 10–12). Inputs may be :class:`~alzza.sequences.Sequences` (data
(N, T, ...) + lengths); the data set then declares ``input_shape`` as a
:class:`~alzza.sequences.SeqShape`. When the hidden network ends in a sequence
(a SeqShape, e.g. an ``rnn`` with ``outseq: true``), the output layer is applied per
step — a ``full`` layer wrapped in a ``seqwrap`` (parameters ``output.step/w`` and
``output.step/b``) — and the network's output is a Sequences (N, T, K). The data set
declares ``output_shape`` (T, K) (a SeqShape or a plain tuple; T must match the
network's) and gives targets as plain (N, T, K) arrays aligned with the output steps.
Mode ``select`` or ``binary`` on a sequence output means the per-step heads
``seqselect`` / ``seqbinary``. Layers that work on single examples (``full``, ``conv``,
pooling, batch norm, dropout...) refuse a sequence input at build time with a message
to wrap them in ``seqwrap``.
"""

from __future__ import annotations

import time

import numpy as np

from ..device import to_host
from ..errors import SpecError
from ..heads import make_head
from .kinds import register_model_kind
from ..sequences import is_sequence_shape, shape_to_config
from ..training.loop import fit, format_accuracy, show_curves_inline
from .array_fit import (
    checked_arrays,
    class_weighting,
    evaluate_arrays,
    optimizer_line,
    outputs_by,
    split_validation,
    verbosity,
)
from .family import FamilyModel, training_examples
from .parts import SEQUENCE_MODES, Chain, Part


def _silent(*lines, **options) -> None:
    """The printer of a ``fit(verbose=0)``: says nothing."""


@register_model_kind("network")
class Model(FamilyModel, Chain):
    """A network for one data set's shapes and output mode: a family of one part.

    ``layers`` is a list in the description language (or Layer objects); the output
    layer — fully connected, no activation, sized by ``output_shape`` — is appended.
    Together they are the one :class:`~alzza.models.parts.Part` ``network`` (weights
    ``layers[i]/...`` and ``output/...``), and :attr:`chain` is the one
    :class:`~alzza.models.parts.Chain` through it that training, evaluation and
    prediction run along. Shapes and mode come from ``dataset`` unless given (a model
    loaded from a file has no data set).
    """

    PARTS = ("network",)

    def __init__(self, dataset=None, layers=(), *, name: str | None = None, optimizer="sgd",
                 l2_decay: float = 0.0, l1_decay: float = 0.0, init=None, seed=None, dtype=None,
                 macros: dict | None = None, head: dict | None = None, input_shape=None,
                 output_shape=None, mode: str | None = None, head_sizes=None, printer=print, device=None):
        name = name or (f"{dataset.name}-model" if dataset is not None else "model")
        self._setup(dataset, name, optimizer=optimizer, l2_decay=l2_decay, l1_decay=l1_decay, init=init,
                    seed=seed, dtype=dtype, macros=macros, printer=printer, input_shape=input_shape,
                    output_shape=output_shape, mode=mode, device=device)
        head_sizes = head_sizes if head_sizes is not None else getattr(dataset, "head_sizes", None)
        self.head_options = dict(head or {})
        spec = list(layers) if not isinstance(layers, (str, bytes)) else layers
        network = Part("network", spec, self.input_shape, self.ctx, self.macros, output_shape=self.output_shape,
                       layers_path="layers", output_path="output", network_path="",
                       target="the data set's output")
        if is_sequence_shape(network.output_shape):
            self.output_shape = network.output_shape
        self._finish({"network": network}, where="layers")
        if is_sequence_shape(self.output_shape):
            self.mode = SEQUENCE_MODES.get(self.mode, self.mode)
            width = int(np.prod(self.output_shape[1:]))
        else:
            width = int(np.prod(self.output_shape))
        self.head = make_head(self.mode, head_sizes, width, **self.head_options)
        if getattr(self.head, "sequence", False) != is_sequence_shape(self.output_shape):
            raise SpecError("mode", f"mode {self.mode!r} does not fit the network's output "
                                    f"{self.output_shape!r}: the per-step modes seqselect and seqbinary need a "
                                    "network that ends in a sequence (e.g. outseq: true), and the other modes "
                                    "one that does not")
        # the model is its one chain: data → network → head, training every weight (forward,
        # loss_and_backward, train_step ... are the Chain's own methods, not forwarders)
        Chain.__init__(self, self.runtime, self.name, [network], self.head, output_shape=self.output_shape)
        self.chains = {"network": self}

    @property
    def chain(self) -> Chain:
        """The one chain: the model itself (as every kind's ``chains`` lists it)."""
        return self

    @property
    def layers(self):
        """The hidden layers and the output layer, in order."""
        return self.network.layers

    @property
    def layer_spec(self):
        """The hidden layers' spec list (for Layer objects, the specs they write)."""
        return self.parts["network"].spec

    # --- computing: the Chain's forward, output_in_chunks, loss_and_backward, training_loss and
    # train_step; evaluate and predict also take arrays as fit does ---------------------
    def evaluate(self, x, y, batch_size: int | None = None) -> dict:
        """Every metric of the head on (x, y), in inference mode: a dict of plain floats
        (``loss``, ``accuracy``, ...). ``x``, ``y`` as :meth:`fit` takes them (class
        indices or one-hot rows); ``batch_size``: examples per forward pass."""
        x, y = checked_arrays(self, x, y)
        return evaluate_arrays(self, x, y, batch_size)

    def predict(self, x, batch_size: int | None = None):
        """The head's estimate for ``x`` (as :meth:`fit` takes it): values, a probability,
        or class probabilities. ``batch_size``: examples per forward pass."""
        x, _ = checked_arrays(self, x)
        return to_host(self.head.estimate(outputs_by(self, x, batch_size)))  # host, whatever the device

    def gradient_checks(self, count: int) -> list:
        return [(self, *training_examples(self._need_dataset("gradient_checks()"), count))]

    # --- the book's workflow --------------------------------------------------------
    def train(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches: int | None = None, **options):
        """Train on the data set's training split; returns the :class:`~alzza.training.loop.loop.History`.

        ``max_batches`` limits the minibatches per epoch (for smoke runs). ``options`` are
        those of :func:`alzza.training.loop.loop.fit`: ``validate``, ``lr_schedule``,
        ``early_stopping``, ``callbacks``, ``reporter``, ``checkpoint_every`` /
        ``checkpoint_dir``, ``resume``.
        """
        dataset = self._need_dataset("train()")
        self.history = fit(self, dataset, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                           report=report, rng=self.rng, printer=self.printer, progress=progress,
                           max_batches=max_batches, **options)
        show_curves_inline(self.history, self.name)
        return self.history

    def fit(self, x, y, *, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001,
            validation_data=None, validation_split: float = 0.0, report: int | None = None, progress=None,
            verbose=None, class_weight: dict | None = None, **options):
        """Train on your own arrays: ``x`` (N, ...input_shape) or flattened rows, ``y`` (N,
        ...output_shape), one-hot rows or class indices (N,).

        The optimiser is the model's own (``Model(..., optimizer='adam')``; the default is
        plain gradient descent, 'sgd'); ``fit`` says which in its first line.
        ``validation_data=(vx, vy)`` or ``validation_split=s`` (the last ⌊s·N⌋ examples,
        before shuffling, as Keras) is scored after every epoch (the curves, early stopping
        and plateau schedules read it). ``verbose`` as Keras (0 silent, 1 a progress bar
        and a line per epoch, 2 a line per epoch; None: ``report`` every N epochs and
        ``progress``); ``class_weight={class: weight}`` weighs the training loss per class
        (:mod:`alzza.models.array_fit`). Other options as :meth:`train`. Returns the
        :class:`~alzza.training.loop.history.History` (``history.history["val_loss"]``, as Keras); the
        model's own data set is untouched.
        """
        from ..data.sets.arrays import ArrayDataset

        x, y, validation_data = split_validation(x, y, validation_split, validation_data)
        report, progress, silent = verbosity(verbose, report, progress)
        printer = _silent if silent else self.printer
        data = ArrayDataset(x, y, validation_data, input_shape=self.input_shape, output_shape=self.output_shape,
                            mode=self.mode, name=f"{self.name}-arrays")
        printer(optimizer_line(self, learning_rate, batch_size, data.train_count, data.validate_count))
        with class_weighting(self, class_weight, int(np.prod(self.output_shape))):
            self.history = fit(self, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                               report=report, rng=self.rng, printer=printer, progress=progress, **options)
        return self.history

    def test(self) -> dict:
        """Metrics on the test split, printed as the book does."""
        dataset = self._need_dataset("test()")
        start = time.perf_counter()
        x, y = dataset.test_data()
        metrics = self.evaluate(x, y)
        seconds = time.perf_counter() - start
        extra = "".join(f", {k}={metrics[k]:5.3f}" for k in ("precision", "recall", "f1") if k in metrics)
        self.printer(f"Model {self.name} test report: accuracy = {format_accuracy(metrics['accuracy'])}{extra}, "
                     f"({seconds:.0f} secs)")
        return metrics

    def visualize(self, num: int = 3, path=None) -> list[str]:
        """Show ``num`` random validation examples with estimate and answer.

        The text lines are printed as the book does and returned. When the data set
        can turn inputs back into pictures (it has ``input_images(x)``), a grid of the
        images captioned with estimate and answer (per head for multi-select) is also
        built: written as PNG to ``path`` if given, shown inline in Jupyter, and kept
        on ``self.last_figure``.
        """
        from ..viz.text import print_estimates

        dataset = self._need_dataset("visualize()")
        x, y = dataset.show_sample(num, self.rng)
        estimate = self.predict(x)
        lines = print_estimates(self.printer, self.name, dataset, self.head, x, estimate, y)
        self.last_figure = None
        to_images = getattr(dataset, "input_images", None)
        from ..viz.frames import frame_grid, is_frame_sequence

        if is_frame_sequence(x) and self.head.mode == "seqbinary" and len(x):
            # picture sequences (video shots): one frame per column, each step's estimate under it
            names = getattr(dataset, "target_names", None) or ("no", "yes")
            self.last_figure = frame_grid(x, estimate, y, names=names, skip_steps=getattr(self.head, "skip_steps", 0),
                                          title=f"{self.name}: {len(x)} validation examples", path=path, show=True)
        elif to_images is not None and len(x):
            from ..viz.images import estimate_captions, image_grid

            captions, colors = estimate_captions(dataset, self.head, estimate, y)
            fig = image_grid(to_images(x), captions, colors=colors,
                             title=f"{self.name}: {len(x)} validation examples", path=path, show=True)
            self.last_figure = fig
        return lines

    def exec_all(self, epoch_count: int = 10, batch_size: int = 10, learning_rate: float = 0.001,
                 report: int = 0, show_cnt: int = 3, **options) -> dict:
        """train, test, visualize — the book's one call. Returns the test metrics.

        ``options`` go to :meth:`train` (validate, lr_schedule, early_stopping, callbacks, ...)."""
        self.train(epoch_count, batch_size, learning_rate, report, **options)
        metrics = self.test()
        if show_cnt:
            self.visualize(show_cnt)
        return metrics

    # --- persistence ------------------------------------------------------------------
    def config(self) -> dict:
        """Everything but the arrays needed to rebuild this model (plain data).

        ``layers`` is the spec the model was given, or, for a network of Layer objects,
        the spec those objects write (:meth:`~alzza.layers.base.Layer.to_spec`).
        """
        return {
            "name": self.name,
            "layers": self.layer_spec,
            "macros": self.macros,
            "input_shape": shape_to_config(self.input_shape),
            "output_shape": shape_to_config(self.output_shape),
            "mode": self.mode,
            "head_sizes": list(getattr(self.head, "sizes", ())) or None,
            "head": self.head_options,
            "init": self.init.to_spec(),
            "dtype": str(self.dtype),
            "optimizer": self.optimizer.to_spec(),
        }

    @classmethod
    def from_config(cls, config: dict, dataset=None, printer=print):
        """Rebuild (untrained) from :meth:`config`; :func:`alzza.load` then copies the weights in."""
        return cls(dataset, config["layers"], name=config.get("name"), optimizer=config.get("optimizer"),
                   init=config.get("init"), dtype=config.get("dtype"), macros=config.get("macros"),
                   head=config.get("head"), input_shape=config["input_shape"], output_shape=config["output_shape"],
                   mode=config["mode"], head_sizes=config.get("head_sizes"), printer=printer)
