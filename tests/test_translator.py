"""The Transformer translator (models/translator.py): teacher-forced training, exact gradients
through the memory, cached greedy decoding equal to the full forward, beam search, files, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import alzza
from alzza.data import make_dataset
from alzza.device import to_host
from alzza.errors import AlzzaError, ExperimentError, SpecError
from alzza.experiments.catalogue import find_experiment, load_macro_file, shipped_file
from alzza.experiments.runner import run_experiment
from alzza.layers.attention import bind_memory, memory_gradient
from alzza.models import Translator
from alzza.models.beam_search import log_softmax
from alzza.sequences import Sequences, seq_data
from alzza.testing import check_model_gradients

MACROS = load_macro_file("transformer")
BLOCK = {"#heads": 2, "#width": 8, "#ffn": 16, "#act": "gelu", "#keep": 1.0}
ENCODER = [["embed", {"vocab": 10, "width": 8}], ["posenc", {}],
           ["custom", {"name": "encoder_pre", "args": BLOCK}], ["layer_normal"]]
DECODER = [["embed", {"vocab": 14, "width": 8}], ["posenc", {}],
           ["custom", {"name": "cross_decoder_pre", "args": {**BLOCK, "#memory": "memory"}}], ["layer_normal"]]


@pytest.fixture(scope="module")
def numbers():
    return make_dataset({"name": "korean-numbers", "digits": 2})   # 0 … 99: 1–2 digits, readings of 4 steps


def translator(dataset, dtype="float64", seed=3, **options):
    return Translator(dataset, options.pop("encoder", ENCODER), options.pop("decoder", DECODER), macros=MACROS,
                      dtype=dtype, seed=seed, optimizer="adam", printer=lambda *a: None, **options)


def some(dataset, count=6):
    """``count`` training examples, the one-digit numbers first (so both source lengths occur)."""
    x, y = dataset.train_data()
    order = np.argsort(x.lengths, kind="stable")[:count // 2].tolist() + list(range(count - count // 2))
    return x[np.array(order)], y[order]


def test_gradients_through_the_memory_match_central_differences(numbers):
    model = translator(numbers)
    x, y = some(numbers, 5)
    assert len(set(x.lengths.tolist())) == 2          # both lengths: the masked memory steps are exercised
    errors = check_model_gradients(model.chain(), x, y, tol=1e-6)
    assert any(name.startswith("encoder") for name in errors)   # the encoder learns from the decoder's loss
    assert all(np.isfinite(e) for e in errors.values())


def test_memory_gradient_of_padded_source_steps_is_zero(numbers):
    model = translator(numbers)
    x, y = some(numbers, 6)
    model.chain().loss_and_backward(x, y)
    grad = to_host(memory_gradient(model.parts["decoder"].network, "memory"))
    short = np.flatnonzero(x.lengths == 1)
    assert len(short) and np.all(grad[short, 1:] == 0) and np.abs(grad[short, 0]).sum() > 0


def test_cached_greedy_decoding_equals_the_teacher_forced_forward_on_its_own_output(numbers):
    model = translator(numbers)
    x, _ = some(numbers, 7)
    greedy = to_host(model.greedy_scores(x).data)           # one cached step per symbol
    ids = greedy.argmax(axis=-1)
    own = np.eye(model.vocabulary)[ids]                      # its own outputs as if they were the targets
    forced = to_host(seq_data(model.teacher_forced(x, own)))  # one whole forward, causal masks
    np.testing.assert_allclose(greedy, forced, rtol=0, atol=1e-10)


def test_beam_search_width_one_is_greedy_and_wider_never_scores_lower(numbers):
    model = translator(numbers, seed=5)
    x, _ = some(numbers, 5)
    greedy = model.translate(x)
    assert model.translate(x, beam=1) == greedy
    beamed = model.translate(x, beam=4)

    def logp(i, ids):
        one = Sequences(x.data[i:i + 1], x.lengths[i:i + 1])
        steps = ids + [0] * (model.steps - len(ids))
        scores = to_host(seq_data(model.teacher_forced(one, np.eye(model.vocabulary)[[steps]])))[0]
        logs = log_softmax(scores)
        written = ids + [0] if len(ids) < model.steps else ids   # the end mark counts when it was written
        return sum(logs[t, k] for t, k in enumerate(written))

    for i in range(len(x)):
        assert logp(i, beamed[i]) >= logp(i, greedy[i]) - 1e-9


def test_training_learns_and_the_test_scores_free_running_outputs(numbers):
    model = translator(numbers, dtype="float32", seed=1)
    before = model.evaluate(*numbers.test_data())["accuracy"]
    model.train(epochs=40, batch_size=16, learning_rate=0.01, report=0, progress=False)
    metrics = model.test(beam=2)
    assert metrics["accuracy"][1] > before[1] + 0.3           # whole readings, greedy: it learned
    found = model.translate(numbers.test_data()[0])
    truth = [numbers.describe_output(row) for row in numbers.test_data()[1]]
    shown = [numbers.describe_output(np.array(ids + [0])) for ids in found]
    assert metrics["accuracy"][1] == pytest.approx(np.mean([a == b for a, b in zip(shown, truth, strict=True)]))
    assert 0 <= metrics["beam_accuracy"] <= 1 and metrics["beam_width"] == 2


def test_save_and_load_give_the_same_translations(numbers, tmp_path):
    model = translator(numbers, dtype="float32", seed=2)
    model.train(epochs=2, batch_size=16, learning_rate=0.01, progress=False)
    model.save(tmp_path / "t.npz")
    again = alzza.load(tmp_path / "t.npz", dataset=numbers)
    x, _ = some(numbers, 9)
    assert type(again) is Translator
    np.testing.assert_array_equal(to_host(again.greedy_scores(x).data), to_host(model.greedy_scores(x).data))


def test_a_decoder_without_cross_attention_is_refused(numbers):
    plain = [["embed", {"vocab": 14, "width": 8}],
             ["custom", {"name": "decoder_pre", "args": BLOCK}]]
    with pytest.raises(SpecError, match="no layer of the decoder reads the encoder's output"):
        translator(numbers, decoder=plain)


def test_causal_attention_in_the_encoder_is_refused(numbers):
    causal = [["embed", {"vocab": 10, "width": 8}], ["attention", {"heads": 2, "causal": True}]]
    with pytest.raises(SpecError, match="causal: true in an encoder"):
        translator(numbers, encoder=causal)


def test_a_cross_attention_reading_an_unknown_memory_names_the_known_one(numbers):
    wrong = [["embed", {"vocab": 14, "width": 8}], ["attention", {"heads": 2, "memory": "source"}]]
    with pytest.raises(SpecError, match="memories this network can read: memory"):
        translator(numbers, decoder=wrong)


def test_an_encoder_that_pools_away_the_steps_is_refused(numbers):
    pooled = [*ENCODER, ["seqpool", {"how": "mean"}]]
    with pytest.raises(SpecError, match="sequence of vectors"):
        translator(numbers, encoder=pooled)


def test_a_data_set_that_is_not_sequence_to_sequence_is_refused():
    with pytest.raises(AlzzaError, match="maps a sequence to a sequence"):
        translator(make_dataset("pulsar"))


def test_an_embedding_smaller_than_the_vocabulary_is_refused_at_build_naming_the_layer(numbers):
    small = [["embed", {"vocab": 12, "width": 8}], *DECODER[1:]]
    with pytest.raises(SpecError, match=r"decoder\[0\].*one-hot rows \(T, 12\)"):
        translator(numbers, decoder=small)


def test_the_experiment_refuses_a_bad_beam_before_training(tmp_path):
    exp = find_experiment("korean-numbers-transformer")
    text = shipped_file(exp.source).read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("beam: 4", "beam: 0"), encoding="utf-8")
    with pytest.raises(ExperimentError, match="model.beam"):
        run_experiment(str(bad), epochs=1, max_batches=1, out=tmp_path / "out", progress=False,
                             printer=lambda *a: None)
    assert not (tmp_path / "out" / "result.json").exists()


def test_alzza_run_smoke_writes_the_result_with_greedy_and_beam_accuracy(tmp_path):
    result = run_experiment("korean-numbers-transformer", epochs=1, max_batches=3, out=tmp_path,
                                  progress=False, printer=lambda *a: None)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["metrics"]["beam_width"] == 4
    assert set(saved["metrics"]) >= {"accuracy", "loss", "beam_accuracy"}
    assert result["metrics"]["accuracy"] == saved["metrics"]["accuracy"]


def test_encoder_exports_to_onnx_and_the_decoder_is_refused(numbers, tmp_path):
    pytest.importorskip("onnx")
    model = translator(numbers, dtype="float32")
    model.to_onnx(tmp_path / "enc.onnx", part="encoder")
    assert (tmp_path / "enc.onnx").stat().st_size > 0
    with pytest.raises(AlzzaError, match="one step per output symbol.*it has encoder"):
        model.to_onnx(tmp_path / "dec.onnx", part="decoder")


def test_bind_memory_is_what_the_decoder_reads(numbers):
    model = translator(numbers)
    x, y = some(numbers, 4)
    decoder = model.parts["decoder"].network
    first = to_host(seq_data(model.teacher_forced(x, y)))
    zeros = model.runtime.cast(np.zeros(seq_data(model.encode(x)).shape))
    bind_memory(decoder, "memory", Sequences(zeros, x.lengths))
    other = to_host(seq_data(decoder.forward(model.runtime.cast(model.shifted(y)))))
    assert not np.allclose(first, other)


def test_parameter_counts_match_torchs_transformer_layers(numbers):
    torch = pytest.importorskip("torch")
    post = {"#heads": 4, "#width": 16, "#ffn": 32, "#act": "relu", "#keep": 1.0}
    encoder = [["embed", {"vocab": 10, "width": 16}], ["custom", {"name": "encoder_post", "args": post}]]
    decoder = [["embed", {"vocab": 14, "width": 16}],
               ["custom", {"name": "cross_decoder_post", "args": {**post, "#memory": "memory"}}]]
    model = translator(numbers, encoder=encoder, decoder=decoder)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    enc_block = model.parts["encoder"].network.layers[1]
    dec_block = model.parts["decoder"].network.layers[1]
    assert enc_block.parameter_count() == count(torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True))
    assert dec_block.parameter_count() == count(torch.nn.TransformerDecoderLayer(16, 4, 32, batch_first=True))


def test_attention_picture_has_every_layer_and_head_with_the_sources_digits(numbers, tmp_path):
    model = translator(numbers, dtype="float32")
    x, _ = some(numbers, 4)
    figure = model.attention_picture(x, tmp_path / "attention.png", examples=2)
    assert (tmp_path / "attention.png").stat().st_size > 0
    panels = [ax for ax in figure.axes if ax.get_images()]
    assert len(panels) == 2 * 3 * 2             # examples × (encoder self, decoder self, cross) × heads
    cross = [ax for ax in panels if ax.get_title().startswith("cross")][0]
    digits = [t.get_text() for t in cross.get_xticklabels()]
    assert digits == list(numbers.describe_input(Sequences(x.data[:1], x.lengths[:1])))
