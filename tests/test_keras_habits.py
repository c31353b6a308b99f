"""A Keras user's habits: evaluate/predict take what fit takes, validation_split, verbose,
class_weight, the optimiser said, History.history, the CSV and TensorBoard loggers."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import alzza
import alzza.training
from alzza.errors import DataError, TrainingError
from alzza.training.log_callbacks import CSVLogger, TensorBoard


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1)
    return x, labels


def model(mode="select", out=3, printer=None, optimizer="sgd"):
    return alzza.Model(layers=[8], input_shape=(4,), output_shape=(out,), mode=mode, seed=0, optimizer=optimizer,
                       printer=printer or (lambda *a, **k: None))


# --- evaluate / predict take what fit takes ------------------------------------------------------
def test_evaluate_takes_class_indices_and_one_hot_alike_and_a_batch_size():
    m = model()
    x, labels = blobs()
    m.fit(x, labels, epochs=2)
    by_index = m.evaluate(x, labels)
    assert by_index == m.evaluate(x, np.eye(3)[labels])
    chunked = m.evaluate(x, labels, batch_size=7)
    assert chunked["accuracy"] == by_index["accuracy"] and chunked["loss"] == pytest.approx(by_index["loss"], 1e-6)
    # flattened inputs are reshaped as in fit; a wrong width is named
    assert m.evaluate(x.reshape(300, 2, 2), labels) == by_index
    with pytest.raises(DataError, match="class labels 0..2"):
        m.evaluate(x, labels + 5)
    with pytest.raises(TrainingError, match="batch_size must be a positive integer"):
        m.evaluate(x, labels, batch_size=0)


def test_predict_takes_a_batch_size_and_gives_the_same_probabilities():
    m = model()
    x, labels = blobs()
    m.fit(x, labels, epochs=1)
    whole = m.predict(x)
    assert whole.shape == (300, 3) and np.allclose(whole.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(m.predict(x, batch_size=8), whole, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(m.predict(list(map(list, x[:5]))), whole[:5], rtol=1e-6)


# --- fit's Keras keywords -------------------------------------------------------------------------
def test_validation_split_holds_out_the_last_examples_as_keras():
    x, labels = blobs()
    a, b = model(), model()
    ha = a.fit(x, labels, validation_split=0.2, epochs=2)
    hb = b.fit(x[:240], labels[:240], validation_data=(x[240:], labels[240:]), epochs=2)
    assert ha.history["val_loss"] == hb.history["val_loss"] and ha.validate_count == 60
    with pytest.raises(TrainingError, match="not both"):
        model().fit(x, labels, validation_split=0.2, validation_data=(x, labels))
    with pytest.raises(TrainingError, match="between 0 and 1"):
        model().fit(x, labels, validation_split=1.5)


def test_verbose_0_says_nothing_2_a_line_per_epoch_and_fit_names_its_optimiser():
    x, labels = blobs()
    lines = []
    model(printer=lines.append).fit(x, labels, epochs=3, verbose=0)
    assert lines == []
    model(printer=lines.append, optimizer="adam").fit(x, labels, epochs=3, verbose=2, validation_split=0.1)
    assert lines[0].startswith("Model model fit: optimizer adam") and "270 training examples" in lines[0]
    assert [line.split(":")[0] for line in lines[1:4]] == ["Epoch 1", "Epoch 2", "Epoch 3"]
    lines.clear()
    model(printer=lines.append).fit(x, labels, epochs=3)  # alzza's default: report only at the end
    assert "optimizer sgd" in lines[0] and not any(line.startswith("Epoch") for line in lines)
    with pytest.raises(TrainingError, match="verbose must be"):
        model().fit(x, labels, verbose=3)


def test_class_weight_scales_each_examples_loss_and_gradient_by_its_class():
    x, labels = blobs(60)
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    m = model()
    head = m.chain.head
    from alzza.models.array_fit import ClassWeightedHead

    weighted = ClassWeightedHead(head, weights, 3)
    y = np.eye(3, dtype=np.float32)[labels]
    out = m.forward(x)
    loss = weighted.loss(out, y)
    grad = weighted.backward()
    per_example = [head.loss(out[i:i + 1], y[i:i + 1]) for i in range(60)]
    w = np.array([weights[c] for c in labels])
    assert loss == pytest.approx(float(np.mean(w * per_example)), rel=1e-5)  # Keras: Σ w_n l_n / N
    head.loss(out, y)
    np.testing.assert_allclose(grad, head.backward() * w[:, None], rtol=1e-6)
    # in fit: the training loss is weighted, validation is not, and the head is restored after
    h = m.fit(x, labels, epochs=1, class_weight=weights, validation_data=(x, labels))
    assert m.chain.head is head
    plain = model().fit(x, labels, epochs=1, validation_data=(x, labels))
    assert h.history["loss"] != plain.history["loss"]
    with pytest.raises(TrainingError, match="class 7 is not one of 0..2"):
        model().fit(x, labels, class_weight={7: 2.0})
    with pytest.raises(TrainingError, match="class_weight works for mode 'select'"):
        alzza.Model(layers=[4], input_shape=(4,), output_shape=(1,), mode="regression").fit(
            x, x[:, 0], class_weight={0: 1.0})


def test_binary_class_weight_weighs_the_positive_examples():
    x, labels = blobs(80)
    y = (labels > 0).astype(np.float32)
    m = model("binary", 1)
    weighted = m.fit(x, y, epochs=1, class_weight={1: 5.0}, batch_size=80)
    plain = model("binary", 1).fit(x, y, epochs=1, batch_size=80)
    assert weighted.history["loss"][0] > plain.history["loss"][0]


# --- one set of names: logs, History.history, history.csv, the loggers ---------------------------
def test_history_has_keras_shape_with_the_logs_and_csv_names(tmp_path):
    x, labels = blobs()
    seen = []

    class Keep(alzza.training.callbacks.Callback):
        def on_epoch_end(self, run, logs):
            seen.append(dict(logs))

    m = model()
    h = m.fit(x, labels, epochs=3, validation_split=0.1, callbacks=[Keep(), CSVLogger(tmp_path / "log.csv")])
    assert set(h.history) == set(seen[0]) - {"epoch"} and h.epoch == [1, 2, 3]
    assert h.history["val_loss"] == [logs["val_loss"] for logs in seen]
    assert h.history["loss"] == h.loss and len(h.history["val_accuracy"]) == 3
    from alzza.training.history import history_csv

    columns = history_csv([h]).splitlines()[0].split(",")
    assert columns == ["stage", *seen[0].keys()]
    with open(tmp_path / "log.csv", encoding="utf-8") as f:
        logged = list(csv.DictReader(f))
    assert list(logged[0]) == columns and [r["epoch"] for r in logged] == ["1", "2", "3"]
    assert [float(r["val_loss"]) for r in logged] == pytest.approx(h.history["val_loss"], rel=1e-5)


def test_per_head_accuracies_are_split_the_same_way_everywhere():
    from alzza.training.history import History, history_csv

    h = History(accuracy_names=["d", "g"])
    h.epoch, h.loss, h.train_accuracy, h.validate_accuracy = [1], [0.5], [(0.9, 0.1)], [(0.8, 0.2)]
    h.validate_loss, h.learning_rate, h.seconds = [0.6], [0.01], [1.5]
    h.validate_metrics = [{"loss": 0.6, "accuracy": (0.8, 0.2), "d_accuracy": 0.8, "g_accuracy": 0.2}]
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds",
                              "elapsed_seconds"}
    header = history_csv([h]).splitlines()[0]
    assert header == ("stage,epoch,loss,accuracy_d,accuracy_g,val_loss,val_accuracy_d,val_accuracy_g,"
                      "learning_rate,epoch_seconds,elapsed_seconds")


def test_csv_logger_appends_to_a_file_with_the_same_columns_and_refuses_others(tmp_path):
    x, labels = blobs()
    path = tmp_path / "log.csv"
    model().fit(x, labels, epochs=2, callbacks=[CSVLogger(path)])
    model().fit(x, labels, epochs=1, callbacks=[CSVLogger(path, append=True)])
    rows = path.read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("stage,epoch,loss") and rows.count(rows[0]) == 1
    path.write_text("a,b\n1,2\n")
    with pytest.raises(TrainingError, match="are not this run's"):
        model().fit(x, labels, epochs=1, callbacks=[CSVLogger(path, append=True)])


def test_tensorboard_event_files_read_back_with_tensorboards_reader(tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    x, labels = blobs()
    h = model().fit(x, labels, epochs=3, validation_split=0.1, callbacks=[TensorBoard(tmp_path / "tb")])
    train = event_accumulator.EventAccumulator(str(tmp_path / "tb" / "train"))
    train.Reload()
    validation = event_accumulator.EventAccumulator(str(tmp_path / "tb" / "validation"))
    validation.Reload()
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert set(validation.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    loss = train.Scalars("epoch_loss")
    assert [e.step for e in loss] == [1, 2, 3]
    assert [e.value for e in loss] == pytest.approx(h.history["loss"], rel=1e-6)
    assert [e.value for e in validation.Scalars("epoch_loss")] == pytest.approx(h.history["val_loss"], rel=1e-6)


def test_tensorboard_without_the_package_says_how_to_get_it(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    x, labels = blobs()
    with pytest.raises(TrainingError, match=r'pip install "alzza\[tensorboard\]"'):
        model().fit(x, labels, epochs=1, callbacks=[TensorBoard(tmp_path / "tb")])
