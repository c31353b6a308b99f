"""The encoder-decoder of chapter 14: read a digit image as a word, step by step.

Two parts (spec keys ``encoder``, ``decoder``). By default alzza appends to the encoder
an output layer sized by the *intermediate* target ``t`` (a digit's 10 logits for
mnist-eng, the number for mnist-kor) and the decoder reads that vector::

    x ─ encoder (+ full, size of t) ─ e ─ decoder (+ output layer, per step) ─ o

With ``encoder_output=False`` (spec key ``encoder_output: false``) nothing is appended:
the encoder's own last layer is the code e the decoder reads, as in the book (whose
decoder is built for the shape its encoder ends in — for mnist-kor the 10 relu units of
its last full layer, not the 1-wide number). The modes ``encoder`` and ``decoder`` pair
e with t, so they need the code's shape (:attr:`EncoderDecoder.code_shape`) to be t's;
otherwise only ``both`` trains and tests, and the other two are refused.

Training modes (the data set's :meth:`~alzza.data.sets.encoder_decoder.EncoderDecoderDataset.stage`
serves each pair):

- ``both``: x → y through both parts, the final head (seqselect); trains both;
- ``encoder``: x → t, the encoder alone with the data set's encoder head (select for
  mnist-eng, regression for mnist-kor);
- ``decoder``: t → y, the decoder alone, fed the true intermediate targets.

In ``both`` the decoder is fed the encoder's raw output e (logits, or the regressed
number), which differs from the one-hots / exact numbers it sees in ``decoder`` mode:
that is why the book's two-step schedule (encoder, then decoder, tested in ``both``)
scores so low and the three-step one (a final ``both`` pass) recovers.

Schedules: :meth:`EncoderDecoder.exec_1_step` (both), :meth:`~EncoderDecoder.exec_2_steps`
(encoder, decoder), :meth:`~EncoderDecoder.exec_3_steps` (encoder, decoder, both); each
then tests and visualises in ``both`` mode.
"""

from __future__ import annotations

import numpy as np

from ..errors import AlzzaError, SpecError
from ..heads import make_head
from .kinds import register_model_kind
from ..sequences import is_sequence_shape, shape_from_config, shape_to_config
from ..training.loop import format_accuracy
from .family import FamilyModel, training_examples
from .parts import SEQUENCE_MODES, Chain, encode_in_chunks

__all__ = ["MODES", "EncoderDecoder"]

MODES = ("both", "encoder", "decoder")


@register_model_kind("encoder_decoder")
class EncoderDecoder(FamilyModel):
    """Encoder and decoder parts over an encoder-decoder data set (see the module docstring)."""

    PARTS = ("encoder", "decoder")

    def __init__(self, dataset=None, encoder=(), decoder=(), *, name=None, optimizer="sgd", l2_decay=0.0,
                 l1_decay=0.0, init=None, seed=None, dtype=None, macros=None, head=None, input_shape=None,
                 output_shape=None, mode=None, encoder_shape=None, encoder_mode=None, encoder_output=True,
                 printer=print, device=None):
        self._setup(dataset, name, optimizer=optimizer, l2_decay=l2_decay, l1_decay=l1_decay, init=init,
                    seed=seed, dtype=dtype, macros=macros, printer=printer, input_shape=input_shape,
                    output_shape=output_shape, mode=mode, device=device)
        if encoder_shape is None and dataset is not None and not hasattr(dataset, "encoder_shape"):
            raise AlzzaError(f"{self.name}: the encoder-decoder needs a data set with intermediate targets "
                             f"(mnist-eng, mnist-kor); {dataset.name} has none")
        self.encoder_shape = tuple(shape_from_config(encoder_shape if encoder_shape is not None
                                                     else dataset.encoder_shape))
        self.encoder_mode = encoder_mode or dataset.encoder_mode
        self.head_options = dict(head or {})
        if not isinstance(encoder_output, bool):
            raise SpecError("encoder_output", f"{self.name}: encoder_output is true (alzza appends the encoder's "
                                              f"output layer, sized by t) or false (the encoder's last layer is "
                                              f"the code), got {encoder_output!r}")
        #: False: no output layer appended, the encoder's last layer is the code
        self.encoder_output = encoder_output
        if not encoder_output and not encoder:
            raise SpecError("encoder", f"{self.name}: with encoder_output false the encoder's last layer is the "
                                       f"code the decoder reads, so the encoder needs at least one layer")
        enc = self._part("encoder", encoder, self.input_shape,
                         output_shape=self.encoder_shape if encoder_output else None)
        #: the shape of the code e the encoder hands the decoder (t's shape unless encoder_output is False)
        self.code_shape = enc.output_shape
        dec = self._part("decoder", decoder, self.code_shape, output_shape=self.output_shape, input_grad=True)
        if is_sequence_shape(dec.output_shape):
            self.output_shape = dec.output_shape
            self.mode = SEQUENCE_MODES.get(self.mode, self.mode)
        self._finish({"encoder": enc, "decoder": dec})
        width = int(np.prod(self.output_shape[1:] if is_sequence_shape(self.output_shape) else self.output_shape))
        self.head = make_head(self.mode, None, width, **self.head_options)
        self.encoder_head = make_head(self.encoder_mode, None, int(np.prod(self.encoder_shape)))
        #: the path of each training mode, built once
        self.chains = {
            "both": Chain(self.runtime, self.name, [enc, dec], self.head, report_printer=self.report_printer),
            "encoder": Chain(self.runtime, f"{self.name} (encoder)", [enc], self.encoder_head,
                             report_printer=self.report_printer),
            "decoder": Chain(self.runtime, f"{self.name} (decoder)", [dec], self.head,
                             report_printer=self.report_printer),
        }
        self.train_mode = "both"
        #: test metrics of each stage trained by the last schedule, by mode
        self.stage_metrics: dict = {}

    # --- paths ---------------------------------------------------------------------
    def chain(self, mode: str | None = None) -> Chain:
        """The path of a training mode (default: the current ``train_mode``)."""
        return self.chains[self._check_mode(mode)]

    def _check_mode(self, mode):
        mode = self.train_mode if mode is None else mode
        if mode not in MODES:
            raise AlzzaError(f"an encoder-decoder training mode is one of {', '.join(MODES)}, got {mode!r}")
        return mode

    @property
    def code_is_target(self) -> bool:
        """Whether the code e has t's shape, so the modes 'encoder' and 'decoder' can pair them."""
        if self.encoder_output:  # alzza's appended layer is sized by t
            return True
        code, target = self.code_shape, self.encoder_shape
        return tuple(code) == tuple(target) and is_sequence_shape(code) == is_sequence_shape(target)

    @property
    def modes(self) -> tuple:
        """The training modes this model can train and test in."""
        return MODES if self.code_is_target else ("both",)

    def _check_stage(self, mode):
        """``mode`` checked, and refused when it pairs the code with t of another shape."""
        mode = self._check_mode(mode)
        if mode not in self.modes:
            raise AlzzaError(
                f"{self.name}: training mode {mode!r} pairs the encoder's code with the intermediate target t, but "
                f"the encoder (encoder_output false) ends in {_shape_text(self.code_shape)} and t is "
                f"{_shape_text(self.encoder_shape)}; train this model in 'both' only (exec_1_step, schedule 1), "
                f"end the encoder in a layer of t's shape, or keep encoder_output true so alzza appends one")
        return mode

    def set_train_mode(self, mode: str) -> None:
        """The book's switch: 'both', 'encoder' or 'decoder' for train / test / visualize."""
        self.train_mode = self._check_stage(mode)

    def stage_dataset(self, mode=None):
        dataset = self._need_dataset("training")
        mode = self._check_stage(mode)
        if mode == "both":
            return dataset
        if not hasattr(dataset, "stage"):
            raise AlzzaError(f"{self.name}: mode {mode!r} needs intermediate targets; {dataset.name} has none")
        return dataset.stage(mode)

    def forward(self, x, training: bool = False):
        return self.chain().forward(x, training)

    def predict(self, x):
        return self.chain().predict(x)

    def encode(self, x) -> np.ndarray:
        """The encoder's output e for any number of inputs (inference)."""
        return encode_in_chunks(self.chain("encoder"), x)

    def loss_and_backward(self, x, y):
        return self.chain().loss_and_backward(x, y)

    def train_step(self, x, y, learning_rate):
        return self.chain().train_step(x, y, learning_rate)

    def evaluate(self, x, y) -> dict:
        return self.chain().evaluate(x, y)

    def gradient_checks(self, count: int) -> list:
        """The chain of every training mode on that mode's pairs (x → y, x → t, t → y); only
        'both' when the code is not t's shape (encoder_output false)."""
        return [(self.chain(mode), *training_examples(self.stage_dataset(mode), count)) for mode in self.modes]

    # --- the book's workflow ----------------------------------------------------------
    def train(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches=None, mode: str | None = None, **options):
        """Train in ``mode`` (default: the current train_mode) on that mode's pairs;
        ``options`` as :func:`alzza.training.loop.fit`."""
        mode = self._check_stage(mode)
        self.printer(f"Model {self.name}: training mode '{mode}'")
        return self._train_chain(self.chain(mode), self.stage_dataset(mode), epochs, batch_size, learning_rate,
                                 report, progress, max_batches, stage=mode, **options)

    def test(self, mode: str | None = None) -> dict:
        mode = self._check_mode(mode)
        x, y = self.stage_dataset(mode).test_data()
        metrics = self.chain(mode).evaluate(x, y)
        label = "" if mode == "both" else f" ({mode})"
        self.printer(f"Model {self.name}{label} test report: accuracy = {format_accuracy(metrics['accuracy'])}")
        return metrics

    def visualize(self, num: int = 3, path=None, mode: str | None = None) -> list[str]:
        """``num`` validation examples: images with the decoded estimate and the true text
        (and, in ``both`` mode, what the encoder passed on)."""
        from ..viz.text import estimate_lines

        mode = self._check_mode(mode)
        dataset = self.stage_dataset(mode)
        x, y = dataset.show_sample(num, self.rng)
        chain = self.chain(mode)
        estimate = chain.predict(x)
        lines = estimate_lines(dataset, chain.head, x, estimate, y)
        self.printer(f"Model {self.name} Visualization ({mode})")
        for line in lines:
            self.printer(line)
        self.last_figure = None
        to_images = getattr(dataset, "input_images", None)
        if to_images is not None and len(y):
            from ..viz.images import estimate_captions, image_grid

            captions, colors = estimate_captions(dataset, chain.head, estimate, y)
            if mode == "both" and self.code_is_target and hasattr(dataset, "describe_encoder_output"):
                middle = self.encode(x)
                captions = [f"{c}\nencoder: {dataset.describe_encoder_output(m)}"
                            for c, m in zip(captions, middle, strict=False)]
            fig = image_grid(to_images(x), captions, colors=colors,
                             title=f"{self.name}: {len(y)} validation examples ({mode})", path=path, show=True)
            self.last_figure = fig
        return lines

    def _schedule(self, modes, epoch_count, batch_size, learning_rate, report, show_cnt, progress, max_batches,
                  path, **options):
        self.stage_metrics = {}
        for mode in modes:
            self.train(epoch_count, batch_size, learning_rate, report, progress, max_batches, mode=mode, **options)
            if mode != "both":
                resumed = getattr(self, "_resumed_stage_metrics", {})
                # a stage trained before a resumed checkpoint was tested then, on its own weights
                self.stage_metrics[mode] = (resumed[mode] if getattr(self, "_stage_skipped", False)
                                            and mode in resumed else self.test(mode))
        self.set_train_mode("both")
        metrics = self.test("both")
        if show_cnt:
            self.visualize(show_cnt, path=path)
        return metrics

    def exec_1_step(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=3, *,
                    progress=None, max_batches=None, path=None, **options) -> dict:
        """Train both parts together; test and visualise."""
        return self._schedule(("both",), epoch_count, batch_size, learning_rate, report, show_cnt, progress,
                              max_batches, path, **options)

    def exec_2_steps(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=3, *,
                     progress=None, max_batches=None, path=None, **options) -> dict:
        """Train the encoder alone, then the decoder alone; test and visualise in 'both'."""
        return self._schedule(("encoder", "decoder"), epoch_count, batch_size, learning_rate, report, show_cnt,
                              progress, max_batches, path, **options)

    def exec_3_steps(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=3, *,
                     progress=None, max_batches=None, path=None, **options) -> dict:
        """Encoder, decoder, then both together; test and visualise in 'both'."""
        return self._schedule(("encoder", "decoder", "both"), epoch_count, batch_size, learning_rate, report,
                              show_cnt, progress, max_batches, path, **options)

    exec_all = exec_1_step

    # --- persistence ------------------------------------------------------------------
    def config(self) -> dict:
        config = super().config()
        config.update(head=self.head_options, encoder_shape=shape_to_config(self.encoder_shape),
                      encoder_mode=self.encoder_mode)
        if not self.encoder_output:  # written only when set: files of the default form stay as they were
            config["encoder_output"] = False
        return config

    @classmethod
    def from_config(cls, config, dataset=None, printer=print):
        parts = config["parts"]
        return cls(dataset, parts["encoder"], parts["decoder"], head=config.get("head"),
                   encoder_shape=config["encoder_shape"], encoder_mode=config["encoder_mode"],
                   encoder_output=config.get("encoder_output", True), printer=printer, **cls._common(config))


def _shape_text(shape) -> str:
    return repr(shape) if is_sequence_shape(shape) else str(tuple(shape))
