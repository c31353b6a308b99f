"""A sequence-to-sequence translator: a Transformer encoder and a decoder that reads it.

Two parts (spec keys ``encoder``, ``decoder``) over a data set whose inputs are source
sequences x (N, S, V_in) and whose targets are per-step one-hots y (N, T, V_out) of
mode seqselect — ``korean-numbers``: digits → the Korean reading. The decoder's
cross-attention layers read the encoder's output under the memory name ``memory``
(``['attention', {memory: memory}]``, the macro ``cross_decoder_pre``)::

    m = encoder(x)                          (N, S, D), the padded source steps masked
    o = decoder(shift(y) | memory m)        (N, T, V_out) logits, one step per target symbol
    shift(y)_t = y_{t-1},  shift(y)_0 = start (class ``start``, 0: the end mark)

Training feeds the true previous symbols (teacher forcing): one forward of every part,
loss = seqselect(o, y). Backward runs the decoder, takes dL/dm as the sum over its
cross-attentions (:func:`~alzza.layers.attention.memory_gradient`) and runs the encoder
on it — so both parts train from one loss.

Testing, validation and prediction never see y: the decoder writes its own input,
greedy — y'_0 = start, y'_t = argmax o_{t−1} — one step per call with each attention
layer's key/value cache (:func:`~alzza.layers.attention.start_decoding`), and the
scores of those steps are the output the head scores. So the seqselect accuracy on the
test split is the exact-match accuracy of whole free-running outputs, the metric of
the LSTM encoder-decoder on the same data. :meth:`Translator.translate` also decodes
by beam search (:mod:`.beam_search`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..backend import array_module
from ..device import to_host
from ..errors import AlzzaError, SpecError
from ..heads import make_head
from ..layers.attention import bind_memory, cross_attentions, memory_gradient, start_decoding, stop_decoding
from ..sequences import Sequences, is_sequence_shape, seq_data, split_sequences
from .beam_search import beam_search
from .family import FamilyModel, training_examples
from .kinds import register_model_kind
from .parts import EVAL_CHUNK, Chain

__all__ = ["MEMORY", "Translator", "TranslatorChain"]

#: the memory name the decoder's cross-attention reads the encoder's output under
MEMORY = "memory"


class TranslatorChain(Chain):
    """Encoder and decoder scored by one seqselect head (what :func:`~alzza.training.loop.fit`
    and :func:`~alzza.testing.check_model_gradients` train and check).

    A :class:`~alzza.models.parts.Chain` whose parts do not feed each other in a line:
    ``training_loss`` is teacher-forced (it needs y for the decoder's input),
    ``output_in_chunks`` decodes greedily (no y)."""

    def __init__(self, translator):
        super().__init__(translator.runtime, translator.name, [translator.parts["encoder"],
                                                               translator.parts["decoder"]], translator.head)
        # the translator's computing (teacher forcing, greedy decoding) is the chain's forward: kept
        # as bound methods, the chain needs nothing else of the model
        self._teacher_forced, self._greedy = translator.teacher_forced, translator.greedy_scores
        self._encode, self._shifted = translator.encode, translator.shifted

    def training_loss(self, x, y):
        output = self._teacher_forced(x, y, training=True)
        y = self._target(y, output)
        return self.head.loss(output, y) + self.optimizer.decay_loss(self.slots), output, y

    def part_inputs(self, x, y) -> list:
        """What enters each part in a training forward — the source, and the shifted targets
        (with the encoder's output bound as the decoder's memory): per-layer checks start there."""
        bind_memory(self.route[1].network, MEMORY, self._encode(x))
        return [self.runtime.cast(x), self.runtime.cast(self._shifted(y))]

    def _train_backward(self, d):
        encoder, decoder = (part.network for part in self.route)
        decoder.backward(d)       # its first layer reads data (the shifted targets): no dL/d(input)
        d_memory = memory_gradient(decoder, MEMORY)
        return encoder.backward(d_memory)

    def output_in_chunks(self, x):
        outputs = [self._greedy(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]
        return outputs[0] if len(outputs) == 1 else Sequences.concatenate(outputs)

    def forward(self, x, training: bool = False):
        return self._greedy(x)


@register_model_kind("translator")
class Translator(FamilyModel):
    """A Transformer encoder-decoder trained with teacher forcing, decoded greedily or by beam search
    (see the module docstring)."""

    PARTS = ("encoder", "decoder")

    def __init__(self, dataset=None, encoder=(), decoder=(), *, name=None, optimizer="adam", l2_decay=0.0,
                 l1_decay=0.0, init=None, seed=None, dtype=None, macros=None, head=None, input_shape=None,
                 output_shape=None, mode=None, start: int = 0, printer=print, device=None):
        self._setup(dataset, name, optimizer=optimizer, l2_decay=l2_decay, l1_decay=l1_decay, init=init,
                    seed=seed, dtype=dtype, macros=macros, printer=printer, input_shape=input_shape,
                    output_shape=output_shape, mode=mode, device=device)
        where = self.name
        if not (is_sequence_shape(self.input_shape) and is_sequence_shape(self.output_shape)
                and len(self.output_shape) == 2 and self.mode in ("seqselect", "select")):
            raise AlzzaError(f"{where}: a translator maps a sequence to a sequence of symbols (a data set of mode "
                             f"seqselect with sequence inputs and (T, V) targets, e.g. korean-numbers); got "
                             f"{self.input_shape!r} → {self.output_shape!r} ({self.mode})")
        self.mode = "seqselect"
        self.steps, self.vocabulary = (int(v) for v in self.output_shape)
        if not isinstance(start, int) or not 0 <= start < self.vocabulary:
            raise SpecError("start", f"{where}: the start symbol is a class of the target (0 … "
                                     f"{self.vocabulary - 1}), got {start!r}")
        #: the class fed as the decoder's first input (and read as the end mark while decoding)
        self.start = start
        self.head_options = dict(head or {})
        enc = self._part("encoder", encoder, self.input_shape, ctx=replace(self.ctx, encoder=True))
        if not (is_sequence_shape(enc.output_shape) and len(enc.output_shape) == 2):
            raise SpecError("encoder", f"{where}: the encoder's output is the memory the decoder reads, a sequence "
                                       f"of vectors (S, D); it ends in {enc.output_shape!r} (keep the steps: no "
                                       f"seqpool, outseq: true)")
        decoder_ctx = replace(self.ctx, memories={MEMORY: enc.output_shape})
        dec = self._part("decoder", decoder, self.output_shape, output_shape=self.output_shape, ctx=decoder_ctx)
        if not cross_attentions(dec.network, MEMORY):
            raise SpecError("decoder", f"{where}: no layer of the decoder reads the encoder's output; give it "
                                       f"cross-attention ['attention', {{memory: {MEMORY}}}] (macro "
                                       f"cross_decoder_pre with '#memory': {MEMORY})")
        self._finish({"encoder": enc, "decoder": dec})
        self.head = make_head("seqselect", None, self.vocabulary, **self.head_options)
        self._chain = TranslatorChain(self)
        #: the one training path, built once
        self.chains = {"translate": self._chain}

    # --- computing --------------------------------------------------------------------
    def chain(self, mode=None) -> TranslatorChain:
        """The one training path (both parts, one head)."""
        return self._chain

    def encode(self, x, training: bool = False):
        """The memory m = encoder(x): a Sequences (N, S, D) with the source lengths."""
        out = self.parts["encoder"].network.forward(self.runtime.cast(x), training)
        return out if isinstance(out, Sequences) else Sequences(out)

    def shifted(self, y):
        """The decoder's teacher-forced input: y moved one step later, the start symbol first (N, T, V)."""
        data = np.asarray(seq_data(y))
        shifted = np.zeros_like(data, dtype=self.dtype)
        shifted[:, 0, self.start] = 1
        shifted[:, 1:] = data[:, :-1]
        return Sequences(shifted, np.full(len(data), self.steps, dtype=np.int64))

    def teacher_forced(self, x, y, training: bool = False):
        """Decoder scores (N, T, V) given the true previous symbols (the training forward)."""
        decoder = self.parts["decoder"].network
        bind_memory(decoder, MEMORY, self.encode(x, training))
        return decoder.forward(self.runtime.cast(self.shifted(y)), training)

    def greedy_scores(self, x) -> Sequences:
        """Scores (N, T, V) of greedy free-running decoding: each step's input is the argmax of
        the step before (one cached step per symbol)."""
        decoder = self.parts["decoder"].network
        memory = self.encode(x)
        n = len(memory)
        bind_memory(decoder, MEMORY, memory)
        xp = self.device.xp
        eye = np.eye(self.vocabulary, dtype=self.dtype)       # the one-hots are made on the host, cast per step
        ids = np.full(n, self.start, dtype=np.int64)
        scores = []
        start_decoding(decoder)
        try:
            for _ in range(self.steps):
                step = self.runtime.cast(Sequences(eye[ids][:, None], np.ones(n, np.int64)))
                out = seq_data(decoder.forward(step))
                scores.append(out[:, 0])
                ids = np.asarray(to_host(out[:, 0].argmax(axis=-1)), dtype=np.int64)
        finally:
            stop_decoding(decoder)
        return Sequences(xp.stack(scores, axis=1), np.full(n, self.steps, dtype=np.int64))

    def translate(self, x, beam: int = 1, length_penalty: float = 0.0) -> list[list[int]]:
        """The output symbols of every source (the end mark and what follows left out): greedy with
        ``beam`` 1, else beam search of that width, one source at a time."""
        if not isinstance(beam, int) or beam < 1:
            raise AlzzaError(f"{self.name}: the beam width is a positive integer, got {beam!r}")
        if beam == 1:
            index = to_host(self.greedy_scores(x).data.argmax(axis=-1))
            return [_until(row, self.start) for row in index]
        decoder = self.parts["decoder"].network
        eye = np.eye(self.vocabulary, dtype=self.dtype)
        results = []
        data, lengths = split_sequences(x) if isinstance(x, Sequences) else (x, None)
        for i in range(len(data)):
            one = Sequences(data[i:i + 1], lengths[i:i + 1]) if lengths is not None else data[i:i + 1]
            bind_memory(decoder, MEMORY, self.encode(one))

            def step(tokens, state):
                last = self.runtime.cast(Sequences(eye[tokens[:, -1]][:, None], np.ones(len(tokens), np.int64)))
                out = seq_data(decoder.forward(last))
                return to_host(out[:, 0]), state

            start_decoding(decoder)
            try:
                ids, _ = beam_search(step, None, start=self.start, end=self.start, max_steps=self.steps,
                                     width=beam, length_penalty=length_penalty,
                                     reorder=lambda state, rows: _reorder_caches(decoder, rows))
            finally:
                stop_decoding(decoder)
            results.append(ids)
        return results

    def forward(self, x, training: bool = False):
        return self.greedy_scores(x)

    def predict(self, x):
        return self._chain.predict(x)

    def evaluate(self, x, y) -> dict:
        return self._chain.evaluate(x, y)

    def gradient_checks(self, count: int) -> list:
        return [(self._chain, *training_examples(self._need_dataset("a gradient check"), count))]

    # --- the workflow -------------------------------------------------------------------
    def train(self, epochs: int = 10, batch_size: int = 32, learning_rate: float = 0.001, report: int = 0,
              progress=None, max_batches=None, **options):
        """Teacher-forced training of both parts; ``options`` as :func:`alzza.training.loop.fit`."""
        return self._train_chain(self._chain, self._need_dataset("training"), epochs, batch_size, learning_rate,
                                 report, progress, max_batches, **options)

    def test(self, beam: int = 1) -> dict:
        """Exact-match accuracy of whole outputs on the test split, greedy (and by beam search with
        ``beam`` > 1, as ``beam_accuracy``)."""
        from ..training.loop import format_accuracy

        x, y = self._need_dataset("testing").test_data()
        metrics = self._chain.evaluate(x, y)
        line = f"Model {self.name} test report: accuracy = {format_accuracy(metrics['accuracy'])} (greedy)"
        if beam > 1:
            truth = [_until(row, self.start) for row in np.asarray(seq_data(y)).argmax(axis=-1)]
            found = self.translate(x, beam=beam)
            metrics["beam_accuracy"] = float(np.mean([a == b for a, b in zip(found, truth, strict=True)]))
            metrics["beam_width"] = beam
            line += f", {format_accuracy(metrics['beam_accuracy'])} (beam search, width {beam})"
        self.printer(line)
        return metrics

    def visualize(self, num: int = 3, path=None) -> list[str]:
        """``num`` validation examples: source → greedy output, and the answer."""
        dataset = self._need_dataset("visualize")
        x, y = dataset.show_sample(num, self.rng)
        found = self.translate(x)
        truth = np.asarray(seq_data(y)).argmax(axis=-1)
        lines = []
        describe_in = getattr(dataset, "describe_input", None)
        for i, ids in enumerate(found):
            row = x.steps(i) if isinstance(x, Sequences) else x[i]
            source = describe_in(row) if describe_in else str(i)
            estimate = dataset.describe_output(np.array(ids + [self.start], dtype=np.int64))
            answer = dataset.describe_output(truth[i])
            lines.append(f"{source} => estimate {estimate} : answer {answer} => {'O' if estimate == answer else 'X'}")
        self.printer(f"Model {self.name} Visualization")
        for line in lines:
            self.printer(line)
        self.last_figure = None
        return lines

    def attention_picture(self, x, path=None, examples: int = 2):
        """The attention weights of every layer × head for the first ``examples`` sources, as the
        decoder reads its own greedy output (:func:`alzza.viz.attention.attention_figure`): the
        encoder's self-attention over the digits, the decoder's causal self-attention over what
        it wrote, and its cross-attention from what it wrote to the digits."""
        from ..viz.attention import attention_figure
        from ..viz.hangul import hangul_font, romanize

        if isinstance(x, Sequences):
            x = Sequences(x.data[:examples], x.lengths[:examples])
        else:
            x = x[:examples]
        ids = to_host(self.greedy_scores(x).data.argmax(axis=-1))
        written = np.eye(self.vocabulary, dtype=self.dtype)[ids]
        dataset = self.dataset
        out_names = [str(s) for s in getattr(dataset, "target_names", None) or range(self.vocabulary)]
        if hangul_font() is None:   # tick labels in matplotlib's own font: Hangul would be empty boxes
            out_names = [romanize(name) for name in out_names]
        in_names = [str(s) for s in getattr(dataset, "input_symbols", None) or range(self.input_shape[-1])]
        data, lengths = split_sequences(x) if isinstance(x, Sequences) else (x, None)
        source = [[in_names[k] for k in np.asarray(row).argmax(axis=-1)] for row in to_host(data)]
        shifted = [[out_names[self.start]] + [out_names[k] for k in row[:-1]] for row in ids]
        return attention_figure(self, x, path, examples=examples,
                                token_labels={"encoder": source, "decoder": shifted},
                                memory_labels={"decoder": source},
                                forward=lambda batch: self.teacher_forced(batch, written), show=False)

    # --- persistence --------------------------------------------------------------------
    def config(self) -> dict:
        config = super().config()
        config.update(head=self.head_options, start=self.start)
        return config

    @classmethod
    def from_config(cls, config, dataset=None, printer=print):
        parts = config["parts"]
        return cls(dataset, parts["encoder"], parts["decoder"], head=config.get("head"),
                   start=config.get("start", 0), printer=printer, **cls._common(config))


def _until(row, end: int) -> list[int]:
    """Class indices up to (not including) the first ``end``."""
    out = []
    for k in row:
        if int(k) == end:
            break
        out.append(int(k))
    return out


def _reorder_caches(network, rows):
    """Beam search chose the hypotheses ``rows``: every attention cache follows them."""
    for layer in network.walk():
        state = getattr(layer, "decoding", None)
        if isinstance(state, dict) and state.get("cache") is not None:
            cache = state["cache"]
            on_device = array_module(cache["k"]).asarray(rows)      # the chosen rows, where the cache lives
            for key in ("k", "v"):
                cache[key] = cache[key][on_device]
            if "memory_lengths" in cache:
                cache["memory_lengths"] = cache["memory_lengths"][rows]
    return None
