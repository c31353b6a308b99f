"""The generative adversarial network of chapter 15.

Two parts (spec keys ``seed_shape``, ``generator``, ``discriminator``; the book's
spelling ``discriminor`` is accepted too)::

    z ~ U(−1, 1)^seed_shape ─ generator (+ full sized to x, tanh or sigmoid) ─ x̃
    x or x̃ ─ discriminator (+ full, 1 logit) ─ o         binary head: "is it real?"

The generator's last layer matches the data's ``value_range``: tanh for (−1, 1)
(gan-mnist), sigmoid for (0, 1) (gan-picture). Each training step:

1. discriminator step: real x (label 1) and x̃ = G(z) (label 0) through D; only D's
   slots are stepped (the generator only produced the fakes);
2. generator step: fresh z, o = D(G(z)) scored against label 1 (fool D); the gradient
   runs back through D's backward into G — D's ``grads`` are filled but its slots are
   NOT stepped, so D is frozen — and only G's slots are stepped.

Accuracies, as the book reports them: the discriminator's share right on real + fake
(threshold 0 on the logit), and the generator's share of fakes D takes for real.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..device import to_host

from ..errors import AlzzaError, SpecError
from ..heads import make_head
from ..options import option_problem, positive_int
from ..sequences import is_sequence_shape
from ..training.callbacks import ReportPrinter
from .family import FamilyModel, training_examples
from .kinds import register_model_kind
from .parts import Chain
from .step import plain_metrics

__all__ = ["Gan"]

#: the generator's output activation for each value range of the data
RANGE_ACTFUNC = {(-1.0, 1.0): "tanh", (0.0, 1.0): "sigmoid"}


@register_model_kind("gan")
class Gan(FamilyModel):
    """Generator and discriminator parts over a ``gan`` data set (see the module docstring)."""

    PARTS = ("generator", "discriminator")
    #: the two components of the accuracy pair, in order (history.csv, training.png)
    accuracy_names = ("discriminator", "generator")

    def __init__(self, dataset=None, seed_shape=(16,), generator=(), discriminator=None, *, discriminor=None,
                 name=None, optimizer="sgd", l2_decay=0.0, l1_decay=0.0, init=None, seed=None, dtype=None,
                 macros=None, input_shape=None, value_range=None, output_actfunc=None, printer=print, device=None,
                 output_shape=(1,), mode="binary"):
        if discriminator is None:
            discriminator = discriminor if discriminor is not None else []
        elif discriminor is not None:
            raise SpecError("model", "give 'discriminator' or the book's 'discriminor', not both")
        self._setup(dataset, name, optimizer=optimizer, l2_decay=l2_decay, l1_decay=l1_decay, init=init,
                    seed=seed, dtype=dtype, macros=macros, printer=printer, input_shape=input_shape,
                    output_shape=output_shape, mode=mode, device=device)
        if is_sequence_shape(self.input_shape):
            raise SpecError("model", "the GAN generates single examples, not sequences")
        if isinstance(seed_shape, int):
            seed_shape = (seed_shape,)
        if (not isinstance(seed_shape, (list, tuple)) or not seed_shape
                or any(option_problem(positive_int(), d)[1] for d in seed_shape)):
            raise SpecError("seed_shape", f"must be a list of positive integers, e.g. [16], got {seed_shape!r}")
        self.seed_shape = tuple(int(d) for d in seed_shape)
        value_range = value_range if value_range is not None else getattr(dataset, "value_range", (0.0, 1.0))
        self.value_range = tuple(float(v) for v in value_range)
        if output_actfunc is None:
            output_actfunc = RANGE_ACTFUNC.get(self.value_range)
            if output_actfunc is None:
                raise SpecError("model", f"no generator output activation fits the value range {self.value_range}; "
                                         "give output_actfunc")
        self.output_actfunc = output_actfunc
        gen = self._part("generator", generator, self.seed_shape, output_shape=(int(np.prod(self.input_shape)),),
                         output_actfunc=output_actfunc)
        dis = self._part("discriminator", discriminator, self.input_shape, output_shape=(1,), input_grad=True)
        self._finish({"generator": gen, "discriminator": dis})
        self.mode = "binary"
        self.head = make_head("binary")
        self.discriminator_chain = Chain(self.runtime, f"{self.name} (discriminator)", [dis], self.head)
        #: G(z) through the frozen D: only the generator is stepped
        self.generator_chain = Chain(self.runtime, f"{self.name} (generator)", [gen, dis], self.head, trained=[gen])
        #: the paths, built once (training alternates them: :meth:`train_step`)
        self.chains = {"discriminator": self.discriminator_chain, "generator": self.generator_chain}
        self._running: list = []

    # --- computing -------------------------------------------------------------------
    def draw_seeds(self, count: int) -> np.ndarray:
        """``count`` seeds z ~ U(−1, 1) of ``seed_shape`` from the model's generator."""
        return self.rng.uniform(-1.0, 1.0, size=(count,) + self.seed_shape).astype(self.dtype)

    def generate(self, count: int, training: bool = False, seeds=None) -> np.ndarray:
        """``count`` generated examples in the data's input shape (host arrays)."""
        return to_host(self._generate(count, training, seeds))

    def _generate(self, count, training=False, seeds=None):
        """As :meth:`generate`, left on the model's device (the seeds are drawn on the host
        by the model's generator: the same seeds whatever the device)."""
        seeds = self.draw_seeds(count) if seeds is None else seeds
        out = self.parts["generator"].network.forward(self.runtime.cast(seeds), training)
        return out.reshape((len(out),) + tuple(self.input_shape))

    def discriminate(self, x) -> np.ndarray:
        """D's probability that each example is real."""
        return self.discriminator_chain.predict(x)

    def _mixed(self, x, fake):
        x = self.runtime.cast(x).reshape(fake.shape)
        labels = np.zeros((2 * len(x), 1), dtype=self.dtype)  # targets: host, cast with the batch
        labels[:len(x)] = 1
        return array_module(fake).concatenate([x, fake]), labels

    def train_step(self, x, y=None, learning_rate: float = 0.001):
        """One discriminator step then one generator step; returns (sum of losses, (D acc, G acc))."""
        n = len(x)
        mixed, labels = self._mixed(x, self._generate(n, training=True))
        d_loss, d_acc = self.discriminator_chain.train_step(mixed, labels, learning_rate)
        ones = np.ones((n, 1), dtype=self.dtype)
        g_loss, g_acc = self.generator_chain.train_step(self.draw_seeds(n), ones, learning_rate)
        self._running.append((d_loss, g_loss, d_acc, g_acc))
        return d_loss + g_loss, (d_acc, g_acc)

    def evaluate(self, x, y=None) -> dict:
        """D on real ``x`` + as many fakes, and G's share of those fakes D takes for real."""
        fake = self._generate(len(x))
        mixed, labels = self._mixed(x, fake)
        d = self.discriminator_chain.evaluate(mixed, labels)
        g = self.discriminator_chain.evaluate(fake, np.ones((len(x), 1), dtype=self.dtype))
        return plain_metrics({"accuracy": (d["accuracy"], g["accuracy"]), "discriminator_accuracy": d["accuracy"],
                              "generator_accuracy": g["accuracy"], "discriminator_loss": d["loss"],
                              "generator_loss": g["loss"], "loss": d["loss"] + g["loss"]})

    def gradient_checks(self, count: int) -> list:
        """The discriminator chain on real examples (label 1) and as many generated ones
        (label 0); the generator chain, through the frozen discriminator, on fresh seeds
        scored against label 1."""
        x, _ = training_examples(self._need_dataset("gradient_checks()"), count)
        mixed, labels = self._mixed(x, self._generate(len(x)))
        return [(self.discriminator_chain, mixed, labels),
                (self.generator_chain, self.draw_seeds(len(x)), np.ones((len(x), 1), dtype=self.dtype))]

    # --- the book's workflow ----------------------------------------------------------
    def train(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches=None, picture_dir=None, show_cnt: int = 8, **options):
        """Alternate D and G steps; at each report print both losses and accuracies and
        (with ``picture_dir``) write ``gan-epoch-<n>.png`` of real and generated samples."""
        dataset = self._need_dataset("train()")
        self._running = []

        def on_report(epoch):
            if picture_dir is not None and show_cnt:
                from pathlib import Path

                self.visualize(show_cnt, path=Path(picture_dir) / f"gan-epoch-{epoch}.png", quiet=True, epoch=epoch)

        if self.report_printer is None:
            options.setdefault("reporter", GanReport(report))
        return self._train_chain(self, dataset, epochs, batch_size, learning_rate, report, progress, max_batches,
                                 on_report=on_report, **options)

    def test(self) -> dict:
        dataset = self._need_dataset("test()")
        x, y = dataset.test_data()
        if len(x) == 0:
            raise AlzzaError(f"{self.name}: the test split is empty")
        metrics = self.evaluate(x, y)
        self.printer(f"Model {self.name} test report: accuracy = {metrics['discriminator_accuracy']:5.3f}/"
                     f"{metrics['generator_accuracy']:5.3f} (discriminator/generator), loss = "
                     f"{metrics['discriminator_loss']:5.3f}/{metrics['generator_loss']:5.3f}")
        return metrics

    def visualize(self, num: int = 8, path=None, quiet: bool = False, epoch: int | None = None) -> list[str]:
        """A row of real validation samples over a row of generated ones, each with D's verdict."""
        dataset = self._need_dataset("visualize()")
        x, _ = dataset.show_sample(num, self.rng)
        fake = self.generate(len(x))
        p_real, p_fake = self.discriminate(x).reshape(-1), self.discriminate(fake).reshape(-1)
        lines = [f"real: D says real with p={p:.3f}" for p in p_real]
        lines += [f"generated: D says real with p={p:.3f}" for p in p_fake]
        if not quiet:
            self.printer(f"Model {self.name} Visualization")
            for line in lines:
                self.printer(line)
        self.last_figure = None
        to_images = getattr(dataset, "input_images", None)
        if to_images is not None and len(x):
            from ..viz.images import image_grid

            images = np.concatenate([to_images(x), to_images(fake)])
            captions = [f"real\nD: {p:.2f}" for p in p_real] + [f"generated\nD: {p:.2f}" for p in p_fake]
            colors = ["tab:blue"] * len(x) + ["tab:orange"] * len(fake)
            if epoch is None:  # after training: the last epoch trained
                epoch = self.history.epoch[-1] if self.history is not None and self.history.epoch else 0
            fig = image_grid(images, captions, columns=len(x), colors=colors,
                             title=f"{self.name}: real (top) and generated (bottom)"
                                   + (f", epoch {epoch}" if epoch else ""), path=path, show=not quiet)
            self.last_figure = fig
        return lines

    def exec_all(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=8, **options) -> dict:
        self.train(epoch_count, batch_size, learning_rate, report, **options)
        metrics = self.test()
        if show_cnt:
            self.visualize(show_cnt)
        return metrics

    # --- persistence ------------------------------------------------------------------
    def config(self) -> dict:
        config = super().config()
        config.update(seed_shape=list(self.seed_shape), value_range=list(self.value_range),
                      output_actfunc=self.output_actfunc)
        return config

    @classmethod
    def from_config(cls, config, dataset=None, printer=print):
        parts = config["parts"]
        common = cls._common(config)
        return cls(dataset, config["seed_shape"], parts["generator"], parts["discriminator"],
                   value_range=config.get("value_range"), output_actfunc=config.get("output_actfunc"),
                   printer=printer, **common)


class GanReport(ReportPrinter):
    """The GAN's epoch line, one format for every pair: the means over the reported epoch's
    own batches (the figures history.csv, the curves and report.html give for that epoch —
    not a mean since the last line), then validation, always discriminator/generator::

        Epoch 4: discriminator loss=0.683, generator loss=0.693, accuracy=0.933/0.103,
                 validation 0.990/0.021 (discriminator/generator) (1/3 secs)
    """

    def on_epoch_begin(self, run, logs):
        run.model._running = []  # the line reports this epoch alone

    def epoch_line(self, run, logs, since_last):
        gan = run.model
        if gan._running:
            d_loss, g_loss, d_acc, g_acc = (float(np.mean(col)) for col in zip(*gan._running, strict=False))
            gan._running = []
        else:
            (d_acc, g_acc), d_loss, g_loss = logs["accuracy"], float("nan"), float("nan")
        v_d, v_g = logs["val_accuracy"] if isinstance(logs["val_accuracy"], tuple) else (float("nan"),) * 2
        line = (f"Epoch {logs['epoch']}: discriminator loss={d_loss:5.3f}, generator loss={g_loss:5.3f}, "
                f"accuracy={d_acc:5.3f}/{g_acc:5.3f}, validation {v_d:5.3f}/{v_g:5.3f} (discriminator/generator) "
                f"({since_last:.0f}/{logs['elapsed_seconds']:.0f} secs)")
        if logs["learning_rate"] != run.base_learning_rate:
            line += f", lr={logs['learning_rate']:.3g}"
        return line
