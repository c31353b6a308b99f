"""The pictures say what they show: every stage, named series, whole-number epochs,
the epoch in GAN titles, one frame per column for video shots, query index apart
from the label."""

from __future__ import annotations

import numpy as np
import pytest
from _family_data import write_tiny_mnist

import alzza
from alzza import Autoencoder, Gan
from alzza.data import make_dataset
from alzza.sequences import Sequences
from alzza.training.loop import History
from alzza.viz.frames import frame_grid
from alzza.viz.plots import training_curves

QUIET = dict(printer=lambda *a: None)


def history(stage, epochs, pairs=False, names=None):
    h = History(stage=stage, accuracy_names=names)
    for e in range(1, epochs + 1):
        h.epoch.append(e)
        h.loss.append(1.0 / e)
        acc = (0.5, 0.4) if pairs else 0.5
        h.train_accuracy.append(acc)
        h.validate_accuracy.append(acc)
        h.validate_loss.append(1.2 / e)
        h.seconds.append(float(e))
    return h


def test_training_png_plots_every_stage_named():
    fig = training_curves([history("encoder", 3), history("decoder", 2), history("both", 4)])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["encoder: loss", "encoder: accuracy", "decoder: loss", "decoder: accuracy", "both: loss",
                      "both: accuracy"]


def test_legends_name_the_series_and_epoch_ticks_are_whole():
    fig = training_curves(history("train", 3, pairs=True, names=["discriminator", "generator"]))
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels == ["train (discriminator)", "validation (discriminator)", "train (generator)",
                      "validation (generator)"]
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    step_seq = training_curves(history("both", 2, pairs=True, names=["step", "sequence"]))
    assert "train (step)" in [t.get_text() for t in step_seq.axes[1].get_legend().get_texts()]


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("data"))


def test_gan_epoch_pictures_carry_their_epoch(mnist_root, tmp_path):
    data = make_dataset({"name": "gan-mnist", "nums": [8]}, data_dir=mnist_root, seed=1)
    gan = Gan(data, [4], [8], [8], seed=1, **QUIET)
    gan.train(2, 10, 0.001, 1, progress=False, max_batches=1, picture_dir=tmp_path, show_cnt=3)
    # the last picture drawn during training is epoch 2's (the history of this run is not set yet then)
    assert gan.last_figure._suptitle.get_text().endswith("epoch 2")
    assert gan.history.epoch == [1, 2] and (tmp_path / "gan-epoch-1.png").is_file()


def test_video_shots_one_frame_per_column_with_estimate_and_answer():
    frames = np.random.default_rng(0).integers(0, 255, (2, 4, 9, 12, 3)).astype(np.float32)
    x = Sequences(frames, np.array([4, 3]))
    estimate = Sequences(np.array([[[0.9], [0.2], [0.7], [0.1]], [[0.6], [0.4], [0.8], [0.0]]]), np.array([4, 3]))
    y = np.array([[[1], [0], [0], [0]], [[1], [1], [1], [0]]], dtype=np.float32)
    fig = frame_grid(x, estimate, y, names=["same", "new"], skip_steps=1)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 8 and len(drawn) == 7  # the second sequence is 3 steps long
    titles = [ax.get_title() for ax in drawn]
    assert titles[0] == "step 1 (not scored)\nest: new (0.90)\nans: new"
    assert titles[2] == "step 3 ✗\nest: new (0.70)\nans: same"
    assert titles[1].startswith("step 2 ✓")


def test_hashing_captions_show_query_index_and_label_apart(mnist_root, tmp_path):
    mnist = make_dataset({"name": "mnist", "train_ratio": 0.1, "scale": True}, data_dir=mnist_root, seed=3)
    model = Autoencoder(mnist, [16, ["full", {"width": 6, "actfunc": "sigmoid"}]], [16], [], seed=4, **QUIET)
    model.autoencode(1, 10, 0.01, 0, progress=False)
    model.semantic_hashing_search(None, show_cnt=2, max_rank=3, path=tmp_path / "hash.png")
    titles = [ax.get_title() for ax in model.last_figure.axes if ax.get_title().startswith("query")]
    assert [t.split(",")[0] for t in titles] == ["query 0", "query 1"]
    assert all(", label " in t.split("\n")[0] for t in titles)


def test_the_gan_loss_plot_compares_the_summed_train_loss_with_the_summed_validation_loss():
    h = history("train", 3, pairs=True, names=["discriminator", "generator"])
    h.validate_metrics = [{"discriminator_loss": 0.5, "generator_loss": 0.7, "loss": 1.2 / e} for e in (1, 2, 3)]
    ax = training_curves(h).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["train (discriminator + generator)", "validation (discriminator + generator)"]
    assert list(ax.get_lines()[1].get_ydata()) == pytest.approx([1.2, 0.6, 0.4])  # the sum, not one part


def test_the_gan_console_line_reports_the_epoch_alone_as_history_csv_does(mnist_root):
    lines = []
    data = make_dataset({"name": "gan-mnist", "nums": [8]}, data_dir=mnist_root, seed=1)
    gan = Gan(data, [4], [8], [8], seed=1, printer=lines.append)
    history = gan.train(epochs=4, batch_size=8, report=2, max_batches=3)
    reported = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split(":")[0] for line in reported] == ["Epoch 2", "Epoch 4"]
    for line, i in zip(reported, (1, 3), strict=True):
        d = float(line.split("discriminator loss=")[1].split(",")[0])
        g = float(line.split("generator loss=")[1].split(",")[0])
        assert d + g == pytest.approx(history.loss[i], abs=2e-3)  # that epoch's mean, printed to 3 places


def test_report_html_writes_a_per_head_pair_in_one_form():
    from alzza.viz.run_page import _comparison_rows

    html = "".join(_comparison_rows({"metrics": {"accuracy": (0.242, 1.0), "discriminator_accuracy": 0.242,
                                      "generator_accuracy": 1.0}, "book": {"accuracy": [0.917, 0.0]}}))
    assert "0.242+1.000" in html and "0.917+0.000" in html and "0.242/1.000" not in html
    assert html.count("0.242") == 1 and "discriminator+generator" in html


def test_conv_maps_wrap_to_a_readable_width_and_caption_dead_maps(tmp_path):
    from PIL import Image

    from alzza.viz.maps import WRAP, panel_counts, show_maps

    model = alzza.Model(layers=[["conv", {"ksize": 3, "chn": 24}], ["max", {"stride": 2}]], input_shape=(12, 12, 3),
                        output_shape=(2,), mode="select", seed=0, **QUIET)
    conv = model.layers[0]
    conv.params["k"][..., :5] = 0.0  # five channels: zero kernel, relu(0 + b) with b = 0 → constant 0
    conv.params["b"][:5] = 0.0
    x = np.random.default_rng(0).random((2, 12, 12, 3)).astype(np.float32)
    fig = show_maps(model, x, tmp_path / "maps.png", show=False)
    assert panel_counts(fig) == {"kernel": 24, "map": 48, "input": 2}
    dead = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "dead"]
    from alzza.viz.maps import layer_outputs

    maps = layer_outputs(model, x, upto=0)[0]
    constant = int(sum(np.ptp(maps[e, :, :, f]) == 0 for e in range(2) for f in range(24)))
    assert constant >= 10 and dead == ["dead: all 0"] * constant  # every grey tile captioned, no live one
    with Image.open(tmp_path / "maps.png") as picture:
        assert picture.width <= 1200, picture.size  # WRAP panels a line, not 24 side by side
    assert WRAP == 10


def test_collapsed_hashing_codes_say_so_in_the_lines_the_picture_and_result(mnist_root, tmp_path):
    lines = []
    mnist = make_dataset({"name": "mnist", "train_ratio": 0.1, "scale": True}, data_dir=mnist_root, seed=3)
    model = Autoencoder(mnist, [16, ["full", {"width": 6, "actfunc": "sigmoid"}]], [16], [], seed=4,
                        printer=lines.append)
    model.autoencode(1, 10, 0.01, 0, progress=False)
    model.encode = lambda x: np.full((len(x), 6), 0.9, dtype=np.float32)  # every code the same: one bucket
    matches = model.semantic_hashing_search(None, show_cnt=3, max_rank=3, path=tmp_path / "hash.png")
    assert len({tuple(m.indices) for m in matches}) == 1  # the identical rows the note explains
    notes = [line for line in lines if "fell into one bucket" in line]
    assert len(notes) == 1 and "the code collapsed" in notes[0]
    drawn = [t.get_text() for t in model.last_figure.texts if t.get_gid() == "note"]
    assert drawn and "one bucket" in drawn[0]
    lines.clear()
    del model.encode  # a working code: no note
    model.semantic_hashing_index()
    if len(model.hash_index.buckets) > 1:
        model.semantic_hashing_search(None, show_cnt=1, max_rank=3)
        assert model.hashing_note == "" and not any("bucket (" in line for line in lines)
