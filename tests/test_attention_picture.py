"""The ``attention`` picture: attention weights, layer × head, over the real steps' tokens.

:func:`alzza.viz.attention.attention_figure` on tiny models (two self-attention layers;
self- then cross-attention with a memory), the refusal of ``pictures: [attention]`` for a
network without attention, and a smoke ``alzza run`` of a shipped Transformer row that
writes attention.png and shows it on report.html.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from alzza import errors
from alzza.cli import main
from alzza.experiments import run_experiment
from alzza.experiments.catalogue import PICTURES, find_experiment
from alzza.layers import BuildContext
from alzza.layers.attention import MultiHeadAttention, bind_memory, start_decoding, stop_decoding
from alzza.layers.composite import Serial
from alzza.layers.initializers import Initializer
from alzza.models import Model
from alzza.sequences import SeqShape, Sequences
from alzza.viz.attention import attention_figure, attention_layers

SYMBOLS = ("$", "a", "b", "c", "d", "e", "f")
STEPS, WIDTH, HEADS = 6, 8, 2


class _Symbols:
    """The one thing attention_figure reads from a data set: its input symbols."""

    input_symbols = SYMBOLS


def tiny_model(blocks: int = 2):
    """embed → ``blocks`` self-attention layers → seqpool, on ids over SYMBOLS."""
    spec = [["embed", {"vocab": len(SYMBOLS), "width": WIDTH}], ["posenc"]]
    spec += [["attention", {"heads": HEADS}] for _ in range(blocks)] + [["seqpool"]]
    model = Model(None, spec, input_shape=SeqShape((STEPS,)), output_shape=(3,), mode="select", seed=5,
                  printer=lambda *a: None)
    model.dataset = _Symbols()
    return model


def batch():
    """Three examples of symbol ids; the second is padded after 3 steps (its padding is 'f', id 6)."""
    ids = np.array([[0, 1, 2, 3, 4, 5], [0, 3, 1, 6, 6, 6], [0, 2, 2, 4, 1, 0]], dtype=float)
    return Sequences(ids, np.array([6, 3, 5]))


def panels(fig):
    return [ax for ax in fig.axes if ax.get_gid() == "attention"]


def ticks(labels):
    return [t.get_text() for t in labels]


def test_attention_layers_lists_them_in_order_with_their_paths():
    model = tiny_model()
    found = attention_layers(model)
    assert [path for path, _ in found] == ["layers[2]", "layers[3]"]
    assert all(isinstance(layer, MultiHeadAttention) for _, layer in found)
    assert attention_layers(tiny_model(0)) == []


def test_the_grid_is_layers_by_heads_per_example_with_the_real_steps_tokens(tmp_path):
    model, x = tiny_model(), batch()
    path = tmp_path / "attention.png"
    fig = attention_figure(model, x, path, examples=2, show=False)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 200 and image.size[1] > 200
    drawn = panels(fig)
    assert len(drawn) == 2 * 2 * HEADS                     # examples × layers × heads
    first, padded = drawn[:2 * HEADS], drawn[2 * HEADS:]
    for ax in first:
        assert ticks(ax.get_xticklabels()) == ticks(ax.get_yticklabels()) == ["$", "a", "b", "c", "d", "e"]
    for ax in padded:                                      # example 1 stops at its length 3: no 'f' of padding
        assert ticks(ax.get_xticklabels()) == ticks(ax.get_yticklabels()) == ["$", "c", "a"]
        assert ax.get_images()[0].get_array().shape == (3, 3)
    # rows: layer; columns: head; the layer's path labels each row
    rows = [t.get_text() for ax in drawn for t in ax.texts if t.get_gid() == "row"]
    assert rows == ["example 0 · layers[2]", "example 0 · layers[3]", "example 1 · layers[2]", "example 1 · layers[3]"]
    assert [ax.get_title().split(" · ")[0] for ax in first] == ["head 0", "head 1"] * 2
    # the panel is the layer's P over the real steps (an inference forward of those examples)
    p = model.network.layers[3].weights
    assert np.allclose(drawn[-1].get_images()[0].get_array(), p[1, HEADS - 1, :3, :3])


def test_given_labels_win_and_short_ones_are_one_clear_error(tmp_path):
    model, x = tiny_model(1), batch()
    words = [["w0", "w1", "w2", "w3", "w4", "w5"]]
    fig = attention_figure(model, x, examples=1, token_labels=words, show=False)
    assert ticks(panels(fig)[0].get_xticklabels()) == words[0]
    fig = attention_figure(model, x, examples=1, token_labels={"layers": words, "other": [["no"]]}, show=False)
    assert ticks(panels(fig)[0].get_yticklabels()) == words[0]
    with pytest.raises(ValueError, match=r"token_labels for layers\[2\], example 0: 2 labels for 6 real steps"):
        attention_figure(model, x, examples=1, token_labels=[["a", "b"]], show=False)
    # a forward that skips the attention layers, or a model decoding step by step: one clear error
    with pytest.raises(ValueError, match=r"did not run the attention layer layers\[2\]"):
        attention_figure(model, x, forward=lambda batch: None, show=False)
    start_decoding(model.network)
    with pytest.raises(ValueError, match=r"layers\[2\] is decoding step by step.*stop_decoding"):
        attention_figure(model, x, show=False)
    stop_decoding(model.network)
    # no symbols anywhere: the step numbers
    model.dataset = None
    fig = attention_figure(model, x, examples=1, show=False)
    assert ticks(panels(fig)[0].get_xticklabels()) == [str(i) for i in range(6)]


def test_cross_attention_has_the_memory_tokens_on_the_x_axis():
    """A model-like object (network + forward binding the memory), as an encoder-decoder passes it."""
    network = Serial([MultiHeadAttention(heads=HEADS), MultiHeadAttention(heads=HEADS, memory="source")])
    network.attach("decoder")
    network.build(SeqShape((4, WIDTH)), BuildContext(np.random.default_rng(0), np.dtype(np.float32),
                                                     Initializer("glorot"), memories={"source": SeqShape((5, 6))}))

    class Translator:
        name = "tiny-translator"

    model = Translator()
    model.network = network
    rng = np.random.default_rng(1)
    target = Sequences(rng.standard_normal((2, 4, WIDTH)).astype(np.float32), np.array([4, 2]))
    source = Sequences(rng.standard_normal((2, 5, 6)).astype(np.float32), np.array([3, 5]))

    def forward(pair):
        src, tgt = pair
        bind_memory(network, "source", src)
        return network.forward(tgt, False)

    fig = attention_figure(model, (source, target), examples=2, forward=forward, show=False,
                           token_labels=[["<s>", "x", "y", "z"], ["<s>", "q"]],
                           memory_labels=[["A", "B", "C", "pad", "pad"], ["A", "B", "C", "D", "E"]])
    drawn = panels(fig)
    assert len(drawn) == 2 * 2 * HEADS
    cross = drawn[HEADS]                                   # example 0, second row
    assert ticks(cross.get_xticklabels()) == ["A", "B", "C"] and ticks(cross.get_yticklabels()) == ["<s>", "x", "y",
                                                                                                      "z"]
    assert cross.get_title().startswith("cross, head 0")
    cross = drawn[3 * HEADS]                               # example 1
    assert ticks(cross.get_xticklabels()) == ["A", "B", "C", "D", "E"] and ticks(cross.get_yticklabels()) == [
        "<s>", "q"]
    # without memory labels: the memory's real step numbers
    fig = attention_figure(model, (source, target), examples=1, forward=forward, show=False,
                           token_labels=[["<s>", "x", "y", "z"]])
    assert ticks(panels(fig)[HEADS].get_xticklabels()) == ["0", "1", "2"]


def test_a_model_without_attention_is_refused_before_training(tmp_path):
    assert "attention" in PICTURES
    with pytest.raises(ValueError, match="needs an 'attention' layer"):
        attention_figure(tiny_model(0), batch(), show=False)
    exp = find_experiment("automata-lstm-64")
    exp.pictures = ["attention"]
    with pytest.raises(errors.ExperimentError, match=r"automata-lstm-64\.yaml: pictures: 'attention' draws the "
                                                      r"weights of the attention layers, but the network has none"):
        run_experiment(exp, epochs=1, max_batches=1, out=tmp_path / "x", progress=False, printer=lambda *_: None)
    assert not (tmp_path / "x" / "result.json").exists()


def test_the_shipped_transformer_rows_ask_for_it():
    for name in ("automata-transformer", "expressions-transformer-lm"):
        assert find_experiment(name).pictures == ["attention"]


def test_alzza_run_writes_attention_png_and_report_shows_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "automata-transformer", "--epochs", "1", "--max-batches", "2", "--out", str(out),
                 "--no-progress"]) == 0
    assert "attention.png" in capsys.readouterr().out
    with Image.open(out / "attention.png") as image:
        assert image.format == "PNG" and image.size[0] > 500
    result = json.loads((out / "result.json").read_text())
    assert result["pictures"]["attention"] == "attention.png"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'alt="attention"' in page and "attention.png" in page
    assert page.count("data:image/png;base64,") == len(result["pictures"])


def test_a_model_on_the_standin_device_draws_host_copies():
    """The weights live on the model's device; the picture reads host copies (no host/device mix)."""
    model = Model(None, [["attention", {"heads": HEADS}], ["attention", {"heads": HEADS}], ["seqpool"]],
                  input_shape=SeqShape((5, WIDTH)), output_shape=(3,), mode="select", seed=0,
                  printer=lambda *a: None, device="standin")
    x = Sequences(np.random.default_rng(0).standard_normal((3, 5, WIDTH)).astype(np.float32), np.array([5, 2, 4]))
    fig = attention_figure(model, x, examples=2, show=False)
    assert len(panels(fig)) == 2 * 2 * HEADS
    assert ticks(panels(fig)[-1].get_xticklabels()) == ["0", "1"]
