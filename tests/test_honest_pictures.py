"""The pictures say what they show: every stage, named series, whole-number epochs,
the epoch in GAN titles, one frame per column for video shots, query index apart
from the label."""

from __future__ import annotations

import numpy as np
import pytest
from _family_data import write_tiny_mnist

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
