"""The encoder-decoder of chapter 14: read a digit image as a word, step by step.

Two parts (spec keys ``encoder``, ``decoder``). As in the book, the encoder ends in an
output layer sized by the *intermediate* target ``t`` (a digit's 10 logits for
mnist-eng, the number for mnist-kor) and the decoder reads that vector::

    x ─ encoder (+ full, size of t) ─ e ─ decoder (+ output layer, per step) ─ o

Training modes (the data set's :meth:`~alzza.data.encoder_decoder.EncoderDecoderDataset.stage`
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

from ..errors import AlzzaError
from ..heads import make_head
from ..kinds import register_model_kind
from ..sequences import is_sequence_shape, shape_from_config, shape_to_config
from ..training import format_accuracy
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
                 output_shape=None, mode=None, encoder_shape=None, encoder_mode=None, printer=print):
        self._setup(dataset, name, optimizer=optimizer, l2_decay=l2_decay, l1_decay=l1_decay, init=init,
                    seed=seed, dtype=dtype, macros=macros, printer=printer, input_shape=input_shape,
                    output_shape=output_shape, mode=mode)
        if encoder_shape is None and dataset is not None and not hasattr(dataset, "encoder_shape"):
            raise AlzzaError(f"{self.name}: the encoder-decoder needs a data set with intermediate targets "
                             f"(mnist-eng, mnist-kor); {dataset.name} has none")
        self.encoder_shape = tuple(shape_from_config(encoder_shape if encoder_shape is not None
                                                     else dataset.encoder_shape))
        self.encoder_mode = encoder_mode or dataset.encoder_mode
        self.head_options = dict(head or {})
        enc = self._part("encoder", encoder, self.input_shape, output_shape=self.encoder_shape)
        dec = self._part("decoder", decoder, self.encoder_shape, output_shape=self.output_shape, input_grad=True)
        if is_sequence_shape(dec.output_shape):
            self.output_shape = dec.output_shape
            self.mode = SEQUENCE_MODES.get(self.mode, self.mode)
        self._finish({"encoder": enc, "decoder": dec})
        width = int(np.prod(self.output_shape[1:] if is_sequence_shape(self.output_shape) else self.output_shape))
        self.head = make_head(self.mode, None, width, **self.head_options)
        self.encoder_head = make_head(self.encoder_mode, None, int(np.prod(self.encoder_shape)))
        self.train_mode = "both"
        #: test metrics of each stage trained by the last schedule, by mode
        self.stage_metrics: dict = {}

    # --- paths ---------------------------------------------------------------------
    def chain(self, mode: str | None = None) -> Chain:
        """The path of a training mode (default: the current ``train_mode``)."""
        mode = self._check_mode(mode)
        enc, dec = self.parts["encoder"], self.parts["decoder"]
        if mode == "both":
            return Chain(self, self.name, [enc, dec], self.head)
        if mode == "encoder":
            return Chain(self, f"{self.name} (encoder)", [enc], self.encoder_head)
        return Chain(self, f"{self.name} (decoder)", [dec], self.head)

    def _check_mode(self, mode):
        mode = self.train_mode if mode is None else mode
        if mode not in MODES:
            raise AlzzaError(f"an encoder-decoder training mode is one of {', '.join(MODES)}, got {mode!r}")
        return mode

    def set_train_mode(self, mode: str) -> None:
        """The book's switch: 'both', 'encoder' or 'decoder' for train / test / visualize."""
        self.train_mode = self._check_mode(mode)

    def stage_dataset(self, mode=None):
        dataset = self._need_dataset("training")
        mode = self._check_mode(mode)
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
        """The chain of every training mode on that mode's pairs (x → y, x → t, t → y)."""
        return [(self.chain(mode), *training_examples(self.stage_dataset(mode), count)) for mode in MODES]

    # --- the book's workflow ----------------------------------------------------------
    def train(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches=None, mode: str | None = None, **options):
        """Train in ``mode`` (default: the current train_mode) on that mode's pairs;
        ``options`` as :func:`alzza.training.fit`."""
        mode = self._check_mode(mode)
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
            if mode == "both" and hasattr(dataset, "describe_encoder_output"):
                middle = self.encode(x)
                captions = [f"{c}\nencoder: {dataset.describe_encoder_output(m)}" for c, m in zip(captions, middle)]
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
        return config

    @classmethod
    def from_config(cls, config, dataset=None, printer=print):
        parts = config["parts"]
        return cls(dataset, parts["encoder"], parts["decoder"], head=config.get("head"),
                   encoder_shape=config["encoder_shape"], encoder_mode=config["encoder_mode"], printer=printer,
                   **cls._common(config))
