"""The Model: a network of layers, an output layer sized by the data, a head, an optimiser.

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

from ..backend import make_rng, resolve_dtype
from ..errors import AlzzaError, SpecError
from ..heads import make_head
from ..init import Initializer
from ..layers import BuildContext, Dense, Layer, Serial
from ..layers.base import check_built
from ..layers.seqwrap import SeqWrap
from ..limits import LimitError
from ..memory import check_activation_memory
from ..optim import Slot, make_optimizer
from ..sequences import (
    SeqShape,
    Sequences,
    is_sequence_shape,
    seq_data,
    shape_from_config,
    shape_to_config,
)
from ..spec import parse_layers
from ..training import fit, format_accuracy, show_curves_inline
from .step import TrainingStep

#: examples per forward call when evaluating whole splits (bounds memory on big sets)
EVAL_CHUNK = 1000


class Model(TrainingStep):
    """A network for one data set's shapes and output mode.

    ``layers`` is a list in the description language (or Layer objects); the output
    layer — fully connected, no activation, sized by ``output_shape`` — is appended.
    Shapes and mode come from ``dataset`` unless given (a model loaded from a file has
    no data set).
    """

    def __init__(self, dataset=None, layers=(), *, name: str | None = None, optimizer="sgd",
                 l2_decay: float = 0.0, l1_decay: float = 0.0, init=None, seed=None, dtype=None,
                 macros: dict | None = None, head: dict | None = None, input_shape=None,
                 output_shape=None, mode: str | None = None, head_sizes=None, printer=print):
        self.dataset = dataset
        self.name = name or (f"{dataset.name}-model" if dataset is not None else "model")
        self.printer = printer
        self.rng = make_rng(seed)
        self.seed = seed if isinstance(seed, int) else None
        self.dtype = resolve_dtype(dtype)
        self.layer_spec = list(layers) if not isinstance(layers, (str, bytes)) else layers
        self.macros = dict(macros or {})
        self.init = Initializer.from_spec(init)
        self.input_shape = shape_from_config(input_shape if input_shape is not None else _need(dataset, "input_shape"))
        self.output_shape = shape_from_config(output_shape if output_shape is not None else _need(dataset, "output_shape"))
        self.mode = mode or _need(dataset, "mode")
        head_sizes = head_sizes if head_sizes is not None else getattr(dataset, "head_sizes", None)
        self.head_options = dict(head or {})
        self.optimizer = make_optimizer(optimizer, l2_decay=l2_decay, l1_decay=l1_decay)
        self.network = self._build()
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
        self.slots = [
            Slot(f"{layer.path}/{key}", value, layer.grads, key, key in layer.decayed, layer)
            for layer in self.network.walk()
            for key, value in layer.params.items()
        ]
        self.history = None

    # --- building -----------------------------------------------------------------
    def _build(self) -> Serial:
        hidden = hidden_layers(self.layer_spec, "layers", self.macros)
        if self.layer_spec and all(isinstance(item, Layer) for item in self.layer_spec):
            self.layer_spec = None  # Layer objects built in Python: config() writes their specs
        ctx = BuildContext(self.rng, self.dtype, self.init)
        try:
            shape = self.input_shape
            for layer in hidden:
                shape = _build_checked(layer, shape, ctx)
            output = self._output_layer(shape)
            out_shape = output.build(shape, ctx)
        except SpecError:
            raise
        except (ValueError, TypeError) as exc:  # a layer that can't take its input shape
            raise SpecError("layers", f"the network does not fit input shape {self.input_shape}: {exc}") from None
        check_built(hidden + [output], self.dtype)
        if is_sequence_shape(out_shape):
            self.output_shape = out_shape
        network = Serial(hidden + [output])
        network.path = ""
        network.input_shape, network.output_shape = self.input_shape, out_shape
        check_activation_memory(network, self.dtype, "layers")
        network.layers[0].needs_input_grad = False  # the first layer's input is data
        return network

    def _output_layer(self, hidden_shape):
        """The appended output layer: full, no activation — per step when the network ends in a sequence."""
        wanted = self.output_shape
        if not is_sequence_shape(hidden_shape):
            if is_sequence_shape(wanted):
                raise SpecError("layers", f"the data set wants a sequence output {wanted!r}, but the network ends "
                                          f"in {tuple(hidden_shape)}; end it in a sequence (e.g. outseq: true)")
            output = Dense(int(np.prod(wanted)), actfunc="none")
            output.path = "output"
            return output
        steps = hidden_shape[0]
        if len(wanted) < 2:
            raise SpecError("output_shape", f"the network ends in the sequence {hidden_shape!r}, so the data set's "
                                            f"output shape must be (T, K) per step, got {tuple(wanted)}")
        if wanted[0] != steps:
            raise SpecError("layers", f"the network ends in a sequence of {steps} steps, but the data set's "
                                      f"targets have {wanted[0]} steps (output shape {tuple(wanted)})")
        self.output_shape = SeqShape(wanted)
        step = Dense(int(np.prod(wanted[1:])), actfunc="none")
        step.path = "output.step"
        output = SeqWrap([step])
        output.path = "output"
        return output

    @property
    def layers(self):
        """The hidden layers and the output layer, in order."""
        return self.network.layers

    def parameter_count(self) -> int:
        return self.network.parameter_count()

    # --- computing ----------------------------------------------------------------
    def _cast(self, a):
        """Inputs in the model's dtype; a Sequences keeps its lengths."""
        if isinstance(a, Sequences):
            return Sequences(np.ascontiguousarray(a.data, dtype=self.dtype), a.lengths)
        return np.ascontiguousarray(a, dtype=self.dtype)

    def _target(self, y, output):
        """Targets cast and shaped like the output's data ((N, T, K) for a sequence output)."""
        return self._cast(seq_data(y)).reshape(seq_data(output).shape)

    def forward(self, x, training: bool = False):
        """The network's raw output for a batch (logits for classification modes).

        A Sequences (N, T, K) when the output is per step, else an array.
        """
        out = self.network.forward(self._cast(x), training)
        if isinstance(out, Sequences):
            return out
        return out.reshape((len(out),) + self.output_shape) if len(self.output_shape) > 1 else out

    def output_in_chunks(self, x):
        """Inference output for any number of examples, EVAL_CHUNK at a time."""
        if len(x) <= EVAL_CHUNK:
            return self.forward(x)
        parts = [self.forward(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        if isinstance(parts[0], Sequences):
            return Sequences.concatenate(parts)
        return np.concatenate(parts)

    # the hooks of TrainingStep (loss_and_backward, train_step, evaluate, predict)
    def _train_forward(self, x):
        return self.network.forward(self._cast(x), True)

    def _train_backward(self, d):
        self.network.backward(d)

    # --- the book's workflow --------------------------------------------------------
    def _need_dataset(self, what):
        if self.dataset is None:
            raise AlzzaError(f"{self.name}: {what} needs a data set; pass one to the Model (or model.dataset = ...)")
        return self.dataset

    def train(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches: int | None = None, **options):
        """Train on the data set's training split; returns the :class:`~alzza.training.History`.

        ``max_batches`` limits the minibatches per epoch (for smoke runs). ``options`` are
        those of :func:`alzza.training.fit`: ``validate``, ``lr_schedule``,
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
            validation_data=None, report: int = 0, progress=None, **options):
        """Train on your own arrays: ``x`` (N, ...input_shape), ``y`` (N, ...output_shape).

        ``validation_data=(vx, vy)`` is scored after every epoch (the curves, early
        stopping and plateau schedules read it). Other options as :meth:`train`.
        Returns the :class:`~alzza.training.History`; the model's own data set is untouched.
        """
        from ..data.arrays import ArrayDataset

        data = ArrayDataset(x, y, validation_data, input_shape=self.input_shape, output_shape=self.output_shape,
                            mode=self.mode, name=f"{self.name}-arrays")
        self.history = fit(self, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                           report=report, rng=self.rng, printer=self.printer, progress=progress, **options)
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

    #: the class of the per-epoch report printer (a ReportPrinter; None: the default one).
    #: A subclass sets it to change the report format of every run, e.g. the book's
    report_printer = None

    #: the picture grid of the last visualize() call (None for non-image data)
    last_figure = None

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

    def config(self) -> dict:
        """Everything but the arrays needed to rebuild this model (plain data).

        ``layers`` is the spec the model was given, or, for a network of Layer objects,
        the spec those objects write (:meth:`~alzza.layers.base.Layer.to_spec`).
        """
        layers = self.layer_spec
        if layers is None:
            layers = [layer.to_spec() for layer in self.network.layers[:-1]]
        return {
            "name": self.name,
            "layers": layers,
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

    def save(self, path) -> None:
        """Write spec (JSON) + weights + optimiser state to one ``.npz``, atomically."""
        from ..io import save_model

        save_model(self, path)

    def to_onnx(self, path=None, **options):
        """This model as ONNX (equal to ``predict``; see :func:`alzza.export.to_onnx`)."""
        from ..export import to_onnx

        return to_onnx(self, path, **options)


#: what the plain modes mean when the network's output is a sequence
SEQUENCE_MODES = {"select": "seqselect", "binary": "seqbinary"}


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


def _build_checked(layer, shape, ctx):
    """Build ``layer`` for ``shape``, refusing a sequence input to a layer made for single examples.

    A ``serial`` is built child by child here (so the checks reach inside it and the
    SeqShape mark survives); sequence-aware layers (rnn, lstm, seqwrap) say so with
    ``accepts_sequences``.
    """
    if type(layer) is Serial:
        layer.input_shape = shape
        for child in layer.layers:
            shape = _build_checked(child, shape, ctx)
        layer.output_shape = shape
        return shape
    if is_sequence_shape(shape) and not layer.accepts_sequences:
        hint = (" (or give the recurrent layer before it outseq: false to keep only the last step)"
                if layer.type_name == "full" else "")
        raise SpecError(layer.path or layer.type_name,
                        f"'{layer.type_name}' works on single examples, but its input is the sequence {shape!r}; "
                        f"wrap it in ['seqwrap', {{}}, ...] to apply it to every time step{hint}")
    try:
        return layer.build(shape, ctx)
    except LimitError as exc:  # a weight array too big to allocate: say which layer asked for it
        raise SpecError(layer.path or layer.type_name, str(exc)) from None


def _interactive() -> bool:
    """True at a Python or IPython prompt and in Jupyter, where a returned value is shown."""
    import builtins
    import sys

    return hasattr(sys, "ps1") or hasattr(builtins, "__IPYTHON__")


def describe_model(model) -> str:
    """``<Model pulsar-std: network (8) → (1), binary, 45 parameters, adam, trained 10 epochs>``."""
    from ..viz.summary import _shape

    kind = getattr(model, "kind", "") or "network"
    history = getattr(model, "history", None)
    trained = f", trained {len(history.epoch)} epochs" if history is not None and history.epoch else ", untrained"
    return (f"<{type(model).__name__} {model.name}: {kind} {_shape(model.input_shape)} → "
            f"{_shape(model.output_shape)}, {model.mode}, {model.parameter_count():,} parameters, "
            f"{model.optimizer.name}{trained}>")


def _need(dataset, attr):
    if dataset is None:
        raise SpecError("model", f"without a data set, give {attr} explicitly")
    return getattr(dataset, attr)
