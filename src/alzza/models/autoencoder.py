"""The autoencoder of chapter 13 and semantic hashing.

Three parts (spec keys ``encoder``, ``decoder``, ``supervised``)::

    x ─ encoder ─ code ─┬─ decoder (+ full layer sized to x, identity) ─ x̂     reconstruction, MSE
                        └─ supervised (+ the usual output layer) ─ o        the data set's head

- :meth:`Autoencoder.autoencode` trains encoder + decoder to reproduce the input on ALL
  training inputs (labels unused): L = (1/(N·D)) Σ (x̂ − x)² (the regression head).
- :meth:`Autoencoder.train` is ordinary training of encoder → supervised on the labelled
  examples only (mnist's ``train_ratio``); with ``fix_encoder`` the encoder is frozen
  (its slots are not stepped, and backward stops at the code).
- :meth:`Autoencoder.semantic_hashing_index` / :meth:`~Autoencoder.semantic_hashing_search`:
  with a sigmoid code layer, b = round(code) ∈ {0,1}^C is a bucket key; every training
  example is indexed by its key, and a query returns the examples of its own bucket
  ranked by the Euclidean distance ‖code − code_q‖ of the real-valued codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.views import Reconstruction
from ..device import to_host

from ..errors import AlzzaError, SpecError
from ..heads import RegressionHead, make_head
from .kinds import register_model_kind
from ..sequences import is_sequence_shape
from .family import FamilyModel, training_examples
from .parts import SEQUENCE_MODES, Chain, encode_in_chunks

__all__ = ["Autoencoder", "HashMatch", "SemanticHashIndex"]

#: what the autoencode stage's report calls the regression head's accuracy
RECONSTRUCTION_LABEL = "reconstruction score (1-RMSE/mean)"


@dataclass
class HashMatch:
    """The answer to one semantic-hash query."""

    bits: str               # the query's bucket key, e.g. '0110'
    bucket_size: int        # training examples in that bucket
    indices: np.ndarray     # ranked training-example indices (at most max_rank)
    distances: np.ndarray   # their code distances to the query, ascending


class SemanticHashIndex:
    """Training examples bucketed by the bits of their codes (see the module docstring)."""

    def __init__(self, codes: np.ndarray):
        self.codes = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
        self.bits = self.codes >= 0.5
        self.buckets: dict[bytes, np.ndarray] = {}
        keys = np.packbits(self.bits, axis=1)
        _, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.flatnonzero(np.diff(inverse[order])) + 1
        for group in np.split(order, bounds):
            if len(group):
                self.buckets[keys[group[0]].tobytes()] = group

    def __len__(self):
        return len(self.codes)

    @staticmethod
    def key_text(bits) -> str:
        return "".join("1" if b else "0" for b in np.asarray(bits).reshape(-1))

    def search(self, codes, max_rank: int = 5) -> list[HashMatch]:
        """For each query code: the examples in its bucket, nearest first (at most ``max_rank``)."""
        codes = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
        matches = []
        for code in codes:
            bits = code >= 0.5
            members = self.buckets.get(np.packbits(bits).tobytes(), np.zeros(0, dtype=np.int64))
            dist = np.sqrt(np.sum((self.codes[members] - code) ** 2, axis=1))
            order = np.argsort(dist, kind="stable")[:max_rank]
            matches.append(HashMatch(self.key_text(bits), len(members), members[order], dist[order]))
        return matches


@register_model_kind("autoencoder")
class Autoencoder(FamilyModel):
    """Encoder / decoder / supervised parts over one data set (see the module docstring).

    ``encoder`` ends in the code layer (no layer is appended); the decoder gets a full
    layer sized to the input appended (activation ``decoder_actfunc``, identity by
    default; the book's chapter 13 decoder ends in a relu one), the supervised part the
    data set's output layer. ``fix_encoder`` freezes the encoder during supervised training.
    """

    PARTS = ("encoder", "decoder", "supervised")

    def __init__(self, dataset=None, encoder=(), decoder=(), supervised=(), *, name=None, fix_encoder=False,
                 optimizer="sgd", l2_decay=0.0, l1_decay=0.0, init=None, seed=None, dtype=None, macros=None,
                 head=None, input_shape=None, output_shape=None, mode=None, head_sizes=None, printer=print, device=None,
                 decoder_actfunc: str = "none"):
        self._setup(dataset, name, optimizer=optimizer, l2_decay=l2_decay, l1_decay=l1_decay, init=init,
                    seed=seed, dtype=dtype, macros=macros, printer=printer, input_shape=input_shape,
                    output_shape=output_shape, mode=mode, device=device)
        if is_sequence_shape(self.input_shape):
            raise SpecError("model", "the autoencoder reconstructs single examples, not sequences")
        self.head_options = dict(head or {})
        enc = self._part("encoder", encoder, self.input_shape)
        if is_sequence_shape(enc.output_shape):
            raise SpecError("encoder", f"the code must be one vector per example, got {enc.output_shape!r}")
        self.decoder_actfunc = decoder_actfunc
        dec = self._part("decoder", decoder, enc.output_shape, output_shape=(int(np.prod(self.input_shape)),),
                         output_actfunc=decoder_actfunc, input_grad=True)
        sup = self._part("supervised", supervised, enc.output_shape, output_shape=self.output_shape,
                         input_grad=True)
        if is_sequence_shape(sup.output_shape):
            self.output_shape = sup.output_shape
            self.mode = SEQUENCE_MODES.get(self.mode, self.mode)
        self._finish({"encoder": enc, "decoder": dec, "supervised": sup})
        self.code_shape = enc.output_shape
        self.reconstruction_head = RegressionHead()
        head_sizes = head_sizes if head_sizes is not None else getattr(dataset, "head_sizes", None)
        width = int(np.prod(self.output_shape[1:] if is_sequence_shape(self.output_shape) else self.output_shape))
        self.head = make_head(self.mode, head_sizes, width, **self.head_options)
        reconstruction = Chain(self.runtime, f"{self.name} (autoencode)", [enc, dec], self.reconstruction_head,
                               report_printer=self.report_printer)
        # the regression head's "accuracy" 1 − RMSE/mean(x) goes below 0 on images: say what it is
        reconstruction.accuracy_label = RECONSTRUCTION_LABEL
        #: the paths, built once: autoencode (x → x̂), supervised (x → y), encode (x → code, inference)
        self.chains = {"autoencode": reconstruction, "encode": Chain(self.runtime, "encode", [enc], None, [])}
        self.fix_encoder = fix_encoder      # builds the supervised chain
        self.hash_index: SemanticHashIndex | None = None
        #: why every query's matches are the same, when they are (hashing_note); '' otherwise
        self.hashing_note = ""

    # --- paths ---------------------------------------------------------------------
    @property
    def fix_encoder(self) -> bool:
        """Whether supervised training leaves the encoder as autoencoding made it."""
        return self._fix_encoder

    @fix_encoder.setter
    def fix_encoder(self, value) -> None:
        self._fix_encoder = bool(value)
        p = self.parts
        trained = [p["supervised"]] if self._fix_encoder else [p["encoder"], p["supervised"]]
        self.chains["supervised"] = Chain(self.runtime, self.name, [p["encoder"], p["supervised"]], self.head,
                                          trained, report_printer=self.report_printer)

    @property
    def reconstruction(self) -> Chain:
        """x → encoder → decoder → x̂, MSE against x; trains encoder and decoder."""
        return self.chains["autoencode"]

    @property
    def supervised_chain(self) -> Chain:
        """x → encoder → supervised → head; trains the supervised part (and the encoder unless fixed)."""
        return self.chains["supervised"]

    def encode(self, x) -> np.ndarray:
        """The codes of any number of inputs (inference mode)."""
        return encode_in_chunks(self.chains["encode"], x)

    def reconstruct(self, x) -> np.ndarray:
        """x̂ in the input's shape (inference mode; host arrays, whatever the device)."""
        out = to_host(self.reconstruction.output_in_chunks(x))
        return out.reshape((len(out),) + tuple(self.input_shape))

    def forward(self, x, training: bool = False):
        return self.supervised_chain.forward(x, training)

    def predict(self, x):
        return self.supervised_chain.predict(x)

    def loss_and_backward(self, x, y):
        return self.supervised_chain.loss_and_backward(x, y)

    def train_step(self, x, y, learning_rate):
        return self.supervised_chain.train_step(x, y, learning_rate)

    def evaluate(self, x, y) -> dict:
        return self.supervised_chain.evaluate(x, y)

    def gradient_checks(self, count: int) -> list:
        """The reconstruction chain on x → x (over all training inputs, labelled or not, as
        :meth:`autoencode` trains), the supervised chain on labelled (x, y)."""
        dataset = self._need_dataset("gradient_checks()")
        x, y = training_examples(dataset, count)
        inputs = dataset.unlabelled_train_inputs()[:count] if hasattr(dataset, "unlabelled_train_inputs") else x
        return [(self.reconstruction, inputs, inputs), (self.supervised_chain, x, y)]

    # --- the book's workflow ----------------------------------------------------------
    def autoencode(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
                   progress=None, max_batches=None, **options):
        """Train encoder + decoder to reproduce ALL training inputs (labels unused).

        ``options`` as :func:`alzza.training.loop.fit` (validate, lr_schedule, early_stopping, ...)."""
        dataset = self._need_dataset("autoencode()")
        return self._train_chain(self.reconstruction, Reconstruction(dataset), epochs, batch_size,
                                 learning_rate, report, progress, max_batches, stage="autoencode", **options)

    def train(self, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches=None, **options):
        """Supervised training of encoder → supervised on the labelled training examples."""
        dataset = self._need_dataset("train()")
        return self._train_chain(self.supervised_chain, dataset, epochs, batch_size, learning_rate, report,
                                 progress, max_batches, stage="supervised", **options)

    def test(self) -> dict:
        from ..training.loop import format_accuracy

        dataset = self._need_dataset("test()")
        x, y = dataset.test_data()
        metrics = self.evaluate(x, y)
        recon = self.reconstruction.evaluate(x, x)
        metrics["reconstruction_loss"] = recon["loss"]
        metrics["reconstruction_accuracy"] = recon["accuracy"]
        self.printer(f"Model {self.name} test report: accuracy = {format_accuracy(metrics['accuracy'])}, "
                     f"reconstruction loss = {recon['loss']:.3f} ({RECONSTRUCTION_LABEL} {recon['accuracy']:5.3f})")
        return metrics

    def exec_all(self, epoch_count=10, batch_size=10, learning_rate=0.001, report=0, show_cnt=3, **options) -> dict:
        """autoencode, train, test, visualize (the book's autoencoder exec_all); ``options``
        (validate, lr_schedule, early_stopping, ...) apply to both stages."""
        self.autoencode(epoch_count, batch_size, learning_rate, report, **options)
        self.train(epoch_count, batch_size, learning_rate, report, **options)
        metrics = self.test()
        if show_cnt:
            self.visualize(show_cnt)
        return metrics

    def _sample(self, num):
        dataset = self._need_dataset("visualize()")
        return (dataset, *dataset.show_sample(num, self.rng))

    def visualize(self, num: int = 3, path=None) -> list[str]:
        """Originals (captioned with estimate and answer) beside their reconstructions."""
        from ..viz.text import print_estimates

        dataset, x, y = self._sample(num)
        estimate = self.predict(x)
        lines = print_estimates(self.printer, self.name, dataset, self.head, x, estimate, y)
        self.last_figure = None
        to_images = getattr(dataset, "input_images", None)
        if to_images is not None and len(x):
            from ..viz.images import estimate_captions, image_grid

            captions, colors = estimate_captions(dataset, self.head, estimate, y)
            recon = self.reconstruct(x)
            originals, copies = to_images(x), to_images(recon)
            images = np.stack([img for pair in zip(originals, copies, strict=False) for img in pair])
            all_captions = [c for cap in captions for c in (f"original\n{cap}", "reconstruction")]
            all_colors = [c for col in colors for c in (col, "black")]
            fig = image_grid(images, all_captions, columns=2, colors=all_colors,
                             title=f"{self.name}: originals, reconstructions, predictions", path=path, show=True)
            self.last_figure = fig
        return lines

    # --- semantic hashing -------------------------------------------------------------
    def _check_sigmoid_code(self):
        last = self.parts["encoder"].last_layer
        layer = last
        while layer is not None and layer.children():
            layer = layer.children()[-1]
        if getattr(layer, "actfunc", None) != "sigmoid":
            raise AlzzaError(f"{self.name}: semantic hashing needs a sigmoid code layer (the encoder's last layer "
                             f"with actfunc: sigmoid), so that codes lie in [0, 1] and round to bits; "
                             f"the encoder ends in {last.describe() if last is not None else 'nothing'}")

    def semantic_hashing_index(self, x=None) -> SemanticHashIndex:
        """Index every training input (all of them, labelled or not) by the bits of its code."""
        self._check_sigmoid_code()
        if x is None:
            dataset = self._need_dataset("semantic_hashing_index()")
            x = (dataset.unlabelled_train_inputs() if hasattr(dataset, "unlabelled_train_inputs")
                 else dataset.train_data()[0])
        self.hash_inputs = x
        self.hash_index = SemanticHashIndex(self.encode(x))
        sizes = [len(v) for v in self.hash_index.buckets.values()]
        self.printer(f"Model {self.name} semantic hashing: {len(x)} examples in {len(sizes)} buckets of "
                     f"{self.code_shape[0]} bits (largest {max(sizes)})")
        return self.hash_index

    def semantic_hashing_search(self, query_x=None, show_cnt: int = 3, max_rank: int = 5, path=None):
        """Each query's bucket-mates ranked by code distance; a PNG of the first ``show_cnt``.

        ``query_x`` defaults to ``show_cnt`` random test examples. Returns one
        :class:`HashMatch` per query (indices into the indexed training inputs).
        """
        if self.hash_index is None:
            self.semantic_hashing_index()
        labels = None
        if query_x is None:
            dataset = self._need_dataset("semantic_hashing_search()")
            x, y = dataset.test_data()
            pick = self.rng.permutation(len(x))[:show_cnt]
            query_x, labels = x[pick], y[pick]
        matches = self.hash_index.search(self.encode(query_x), max_rank)
        self.hashing_note = hashing_note(self.hash_index, matches[:show_cnt])
        if self.hashing_note:
            self.printer(f"Model {self.name} semantic hashing: {self.hashing_note}")
        for i, m in enumerate(matches[:show_cnt]):
            ranked = ", ".join(f"#{k} ({d:.3f})" for k, d in zip(m.indices, m.distances, strict=False))
            self.printer(f"query {i}: bucket {m.bits} holds {m.bucket_size}; nearest: {ranked or 'none'}")
        if path is not None or show_cnt:
            from ..viz.hashing import hash_search_figure

            dataset = self.dataset
            if dataset is not None and hasattr(dataset, "input_images") and len(query_x):
                self.last_figure = hash_search_figure(self, dataset, query_x[:show_cnt], matches[:show_cnt],
                                                      max_rank, query_labels=labels, path=path,
                                                      note=self.hashing_note)
        return matches

    # --- persistence ------------------------------------------------------------------
    def config(self) -> dict:
        config = super().config()
        config.update(head=self.head_options, head_sizes=list(getattr(self.head, "sizes", ())) or None,
                      fix_encoder=self.fix_encoder, decoder_actfunc=self.decoder_actfunc)
        return config

    @classmethod
    def from_config(cls, config, dataset=None, printer=print):
        parts = config["parts"]
        return cls(dataset, parts["encoder"], parts["decoder"], parts["supervised"], fix_encoder=config.get(
            "fix_encoder", False), head=config.get("head"), head_sizes=config.get("head_sizes"), printer=printer,
            decoder_actfunc=config.get("decoder_actfunc", "none"), **cls._common(config))


def hashing_note(index, matches) -> str:
    """Why the queries' match lists are all the same, when they are: the codes collapsed
    into one bucket, or every query fell into the same bucket ('' otherwise)."""
    buckets = getattr(index, "buckets", {})
    if len(buckets) == 1:
        (members,) = buckets.values()
        bits = f" ({matches[0].bits})" if matches else ""
        return (f"all {len(members)} indexed codes fell into one bucket{bits}: the code collapsed, so every "
                f"query gets the same nearest codes (train the autoencoder longer or with another code layer)")
    if len(matches) > 1 and len({m.bits for m in matches}) == 1:
        return (f"all {len(matches)} queries fell into the same bucket ({matches[0].bits}, of {len(buckets)}): "
                f"their match lists are the same bucket's")
    return ""
