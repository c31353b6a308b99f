"""Steering training: callbacks, validation, schedules, early stopping, history.csv,
checkpoints and resuming, Model.fit on arrays."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest

from alzza import Model
from alzza.training.callbacks import Callback, EarlyStopping, ReportPrinter
from alzza.errors import AlzzaError, TrainingError
from alzza.experiments import run_experiment
from alzza.experiments.catalogue import find_experiment, load_experiment_file
from alzza.training.schedules import CosineDecay, ExponentialDecay, ReduceOnPlateau, StepDecay, make_schedule
from alzza.training.loop import FULL_VALIDATION_LIMIT, validation_set

QUIET = dict(printer=lambda *a: None)


def blobs(n, seed, classes=3, features=4):
    """Separable clusters: class k sits around 2·e_k."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    x = rng.normal(0, 0.5, (n, features)).astype(np.float32)
    x[np.arange(n), labels] += 2.0
    return x, labels


def select_model(seed=3, optimizer="sgd"):
    return Model(layers=[8], input_shape=(4,), output_shape=(3,), mode="select", seed=seed, optimizer=optimizer,
                 **QUIET)


class Recorder(Callback):
    """Every hook call and the logs it saw."""

    def __init__(self):
        self.calls, self.epoch_logs, self.rates = [], [], []

    def on_train_begin(self, run, logs):
        self.calls.append("begin")

    def on_epoch_begin(self, run, logs):
        self.calls.append(f"epoch {logs['epoch']}")

    def on_epoch_end(self, run, logs):
        self.calls.append(f"end {logs['epoch']}")
        self.epoch_logs.append(dict(logs))
        self.rates.append(run.learning_rate)

    def on_train_end(self, run, logs):
        self.calls.append("train end")


# --- the protocol and Model.fit -------------------------------------------------------
def test_fit_on_arrays_with_validation_data_calls_every_hook():
    x, labels = blobs(200, 0)
    vx, vlabels = blobs(50, 1)
    model = select_model()
    recorder = Recorder()
    history = model.fit(x, labels, validation_data=(vx, vlabels), epochs=3, batch_size=10, learning_rate=0.1,
                        callbacks=[recorder])
    assert recorder.calls == ["begin", "epoch 1", "end 1", "epoch 2", "end 2", "epoch 3", "end 3", "train end"]
    assert history.epoch == [1, 2, 3] and history.epochs_run == 3 and history.stop_reason == "completed"
    logs = recorder.epoch_logs[-1]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds", "elapsed_seconds"):
        assert key in logs
    # the validation figures are the model's own on those arrays (plain floats), not a sample
    metrics = model.evaluate(vx, np.eye(3, dtype=np.float32)[vlabels])
    assert logs["val_accuracy"] == pytest.approx(metrics["accuracy"]) and type(logs["val_loss"]) is float
    assert history.validate_loss[-1] < history.validate_loss[0]
    assert metrics["accuracy"] > 0.9


def test_fit_refuses_arrays_of_the_wrong_shape():
    model = select_model()
    with pytest.raises(AlzzaError, match="input shape"):
        model.fit(np.zeros((20, 5)), np.zeros(20), epochs=1)
    with pytest.raises(AlzzaError, match="class labels"):
        model.fit(np.zeros((20, 4)), np.full(20, 7), epochs=1)


def test_evaluate_returns_plain_floats():
    x, labels = blobs(40, 0)
    metrics = select_model().evaluate(x, np.eye(3, dtype=np.float32)[labels])
    assert all(type(v) is float for v in metrics.values()), metrics


def test_report_printer_prints_the_last_epoch_of_a_run_shorter_than_its_interval():
    x, labels = blobs(100, 0)
    lines = []
    model = Model(layers=[8], input_shape=(4,), output_shape=(3,), mode="select", seed=1, printer=lines.append)
    model.fit(x, labels, validation_data=blobs(20, 1), epochs=3, report=5)
    epoch_lines = [line for line in lines if line.startswith("Epoch")]
    assert len(epoch_lines) == 1 and epoch_lines[0].startswith("Epoch 3:")


def test_a_reporter_replaces_the_line_format():
    class Terse(ReportPrinter):
        def epoch_line(self, run, logs, since_last):
            return f"#{logs['epoch']} {logs['loss']:.2f}"

        def end_lines(self, run, logs):
            return ["done"]

    lines = []
    model = Model(layers=[8], input_shape=(4,), output_shape=(3,), mode="select", seed=1, printer=lines.append)
    x, labels = blobs(100, 0)
    model.fit(x, labels, epochs=2, report=1, reporter=Terse())
    assert "fit: optimizer sgd" in lines[0]  # fit says first what it trains with
    assert [line.split()[0] for line in lines[1:]] == ["#1", "#2", "done"]


# --- validation -------------------------------------------------------------------------
def test_validation_full_n_and_auto(tabular_data_dir):
    from alzza.data import make_dataset

    data = make_dataset("pulsar", data_dir=tabular_data_dir, seed=0)
    rng = np.random.default_rng(0)
    assert len(validation_set(data, "full", rng)[0]) == data.validate_count
    assert data.validate_count <= FULL_VALIDATION_LIMIT
    assert len(validation_set(data, "auto", rng)[0]) == data.validate_count
    assert len(validation_set(data, 2, rng)[0]) == 2
    with pytest.raises(TrainingError, match="validate"):
        validation_set(data, "some", rng)


def test_validate_n_scores_the_same_examples_every_epoch():
    x, labels = blobs(100, 0)
    vx, vlabels = blobs(40, 1)
    model = select_model()
    seen = []
    evaluate = model.evaluate

    def recording(ex, ey):
        seen.append(np.array(ex))
        return evaluate(ex, ey)

    model.evaluate = recording
    model.fit(x, labels, validation_data=(vx, vlabels), epochs=3, validate=7)
    assert len(seen) == 3 and len(seen[0]) == 7
    assert all(np.array_equal(seen[0], s) for s in seen[1:])


# --- schedules ----------------------------------------------------------------------------
def test_schedule_values():
    step = StepDecay(step_size=2, gamma=0.5)
    assert [step.rate(1.0, e, 10) for e in range(1, 6)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    exp = ExponentialDecay(gamma=0.9)
    assert [round(exp.rate(2.0, e, 10), 6) for e in (1, 2, 3)] == [2.0, 1.8, 1.62]
    cos = CosineDecay(min_lr=0.1)
    assert cos.rate(1.0, 1, 4) == 1.0
    assert cos.rate(1.0, 3, 4) == pytest.approx(0.55)  # half way: (1 + 0.1) / 2
    assert cos.rate(1.0, 5, 4) == pytest.approx(0.1)
    assert isinstance(make_schedule({"type": "step", "step_size": 3}), StepDecay)
    assert isinstance(make_schedule("plateau"), ReduceOnPlateau)
    with pytest.raises(TrainingError, match="known: step"):
        make_schedule({"type": "linear"})
    with pytest.raises(TrainingError, match="gamma"):
        make_schedule({"type": "step", "gamma": -1})


def test_reduce_on_plateau_halves_after_patience():
    plateau = ReduceOnPlateau(metric="val_loss", factor=0.5, patience=2)

    class FakeRun:
        learning_rate = 0.4

    run = FakeRun()
    plateau.on_train_begin(run, {})
    rates = []
    for epoch, loss in enumerate([1.0, 0.9, 0.95, 0.91, 0.92, 0.93], start=1):
        plateau.on_epoch_begin(run, {"epoch": epoch})
        rates.append(run.learning_rate)
        plateau.on_epoch_end(run, {"epoch": epoch, "val_loss": loss})
    # epochs 3 and 4 do not beat 0.9: the rate halves from epoch 5; 5 and 6 halve it again after
    assert rates == [0.4, 0.4, 0.4, 0.4, 0.2, 0.2]
    plateau.on_epoch_begin(run, {"epoch": 7})
    assert run.learning_rate == 0.1


def test_the_schedule_steers_the_steps():
    x, labels = blobs(100, 0)
    recorder = Recorder()
    history = select_model().fit(x, labels, epochs=4, learning_rate=0.2,
                                 lr_schedule={"type": "step", "step_size": 2, "gamma": 0.5}, callbacks=[recorder])
    assert history.learning_rate == [0.2, 0.2, 0.1, 0.1] == recorder.rates
    # epoch 2 runs at 1e-31: too small to move a float32 weight — the optimiser really uses the rate
    model = select_model()
    before = [s.value.copy() for s in model.slots]
    after = {}

    class Snap(Callback):
        def on_epoch_end(self, run, logs):
            after[logs["epoch"]] = [s.value.copy() for s in model.slots]

    model.fit(x, labels, epochs=2, learning_rate=0.1, lr_schedule=StepDecay(step_size=1, gamma=1e-30),
              callbacks=[Snap()])
    assert any(not np.array_equal(a, b) for a, b in zip(before, after[1], strict=False))
    assert all(np.array_equal(a, b) for a, b in zip(after[1], after[2], strict=False))


# --- early stopping ----------------------------------------------------------------------------
def test_early_stopping_stops_before_its_epoch_count_and_restores_the_best():
    x, labels = blobs(100, 0)
    model = select_model()
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, run, logs):
            snapshots.append([s.value.copy() for s in model.slots])

    # nothing can beat the first epoch by 10: the run stops after 1 + patience epochs
    history = model.fit(x, labels, validation_data=blobs(30, 1), epochs=20, callbacks=[Snap()],
                        early_stopping={"patience": 2, "metric": "val_loss", "min_delta": 10.0})
    assert history.epochs_run == 3 < 20
    assert history.stop_reason.startswith("early stopping: val_loss did not improve for 2 epochs")
    assert history.restored_epoch == 1
    assert all(np.array_equal(s.value, saved) for s, saved in zip(model.slots, snapshots[0], strict=False))
    assert not all(np.array_equal(s.value, saved) for s, saved in zip(model.slots, snapshots[-1], strict=False))


def test_early_stopping_on_accuracy_watches_for_a_rise():
    stop = EarlyStopping(patience=1, metric="val_accuracy")
    assert stop.mode == "max"
    with pytest.raises(TrainingError, match="patience"):
        EarlyStopping(patience=0)


def test_early_stopping_names_an_unknown_metric():
    x, labels = blobs(50, 0)
    with pytest.raises(TrainingError, match="val_f2"):
        select_model().fit(x, labels, validation_data=blobs(10, 1), epochs=2,
                           early_stopping={"metric": "val_f2"})


# --- experiment files, history.csv, result.json, resume ------------------------------------
def write_experiment(tmp_path, name, train: str, optimizer="adam"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndataset: {{name: pulsar, standardize: true}}\nmodel: {{layers: [4]}}\n"
                    f"train: {{epochs: 4, batch_size: 4, optimizer: {optimizer}{train}}}\n", encoding="utf-8")
    return path


def read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_history_csv_has_one_row_per_epoch(tabular_data_dir, tmp_path):
    out = tmp_path / "run"
    result = run_experiment(write_experiment(tmp_path, "h", ""), data_dir=tabular_data_dir, out=out, **QUIET)
    rows = read_csv(out / "history.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "val_f1", "learning_rate", "epoch_seconds"):
        assert rows[0][key] != ""
    assert float(rows[-1]["loss"]) == pytest.approx(result["history"]["loss"][-1], rel=1e-5)
    assert result["epochs_run"] == 4 and result["stop_reason"] == "completed"
    assert result["train_options"]["validate"] == "auto" and result["history"]["validate_full"]
    assert result["history"]["validate_count"] > 0
    assert oct((out / "result.json").stat().st_mode & 0o777) == "0o644"
    assert oct((out / "model.npz").stat().st_mode & 0o777) == "0o644"


def test_an_early_stopping_experiment_says_so_in_result_json(tabular_data_dir, tmp_path):
    path = write_experiment(tmp_path, "early", ", early_stopping: {patience: 1, min_delta: 100.0}")
    path.write_text(path.read_text().replace("epochs: 4", "epochs: 30"), encoding="utf-8")
    out = tmp_path / "run"
    run_experiment(path, data_dir=tabular_data_dir, out=out, **QUIET)
    saved = json.loads((out / "result.json").read_text())
    assert saved["epochs"] == 30 and saved["epochs_run"] == 2
    assert saved["stop_reason"].startswith("early stopping")
    assert len(read_csv(out / "history.csv")) == 2


def test_the_shipped_early_stopping_variant_is_a_variant():
    exp = find_experiment("pulsar-std-early")
    assert "alzza variant" in exp.title and exp.train["early_stopping"]["patience"] == 3


@pytest.mark.parametrize("train, message", [
    (", lr_schedule: {type: linear}", "train.lr_schedule.type"),
    (", early_stopping: {patience: 2, metirc: val_loss}", "metirc"),
    (", validate: most", "train.validate"),
])
def test_training_option_typos_fail_when_the_file_is_read(tmp_path, train, message):
    with pytest.raises(AlzzaError, match=message):
        load_experiment_file(write_experiment(tmp_path, "typo", train))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_equals_an_uninterrupted_run(tabular_data_dir, tmp_path, optimizer):
    from alzza.saving.model_files import load_model

    path = write_experiment(tmp_path, "resumable", ", checkpoint_every: 1, validate: 3", optimizer)
    whole, part = tmp_path / "whole", tmp_path / "part"
    run_experiment(path, data_dir=tabular_data_dir, out=whole, **QUIET)
    run_experiment(path, epochs=2, data_dir=tabular_data_dir, out=part, **QUIET)  # "interrupted" after epoch 2
    assert json.loads((part / "checkpoint.json").read_text())["epoch"] == 2
    lines = []
    result = run_experiment(path, resume=part, epochs=4, data_dir=tabular_data_dir, printer=lines.append)  # W2: raised
    assert any(line.startswith("Resuming from") for line in lines)
    assert result["epochs_run"] == 4
    a, b = load_model(whole / "model.npz"), load_model(part / "model.npz")
    for x, y in zip(a.slots, b.slots, strict=False):
        assert np.array_equal(x.value, y.value), x.name
    assert a.optimizer.state_arrays().keys() == b.optimizer.state_arrays().keys()
    for key, value in a.optimizer.state_arrays().items():
        assert np.array_equal(value, b.optimizer.state_arrays()[key]), key
    rows_a, rows_b = read_csv(whole / "history.csv"), read_csv(part / "history.csv")
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b]
    assert [r["val_accuracy"] for r in rows_a] == [r["val_accuracy"] for r in rows_b]


def test_resume_refuses_a_folder_without_a_checkpoint(tabular_data_dir, tmp_path):
    path = write_experiment(tmp_path, "plain", "")
    run_experiment(path, data_dir=tabular_data_dir, out=tmp_path / "run", **QUIET)
    with pytest.raises(AlzzaError, match="checkpoint_every"):
        run_experiment(path, resume=tmp_path / "run", data_dir=tabular_data_dir, **QUIET)


def test_resume_refuses_another_experiments_checkpoint(tabular_data_dir, tmp_path):
    run_experiment(write_experiment(tmp_path, "one", ", checkpoint_every: 2"), data_dir=tabular_data_dir,
                   out=tmp_path / "run", **QUIET)
    with pytest.raises(AlzzaError, match="'one', not 'two'"):
        run_experiment(write_experiment(tmp_path, "two", ""), resume=tmp_path / "run", data_dir=tabular_data_dir,
                       **QUIET)


def test_cli_checkpoint_and_resume(tabular_data_dir, tmp_path, capsys):
    from alzza.cli import main

    path = write_experiment(tmp_path, "cli", "")
    out = tmp_path / "run"
    assert main(["run", str(path), "--epochs", "2", "--checkpoint-every", "1", "--out", str(out), "--data-dir",
                 str(tabular_data_dir), "--no-progress"]) == 0
    assert main(["run", str(path), "--epochs", "3", "--resume", str(out), "--data-dir", str(tabular_data_dir),
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Resuming from" in text and "checkpoint.json" in text
    assert [r["epoch"] for r in read_csv(out / "history.csv")] == ["1", "2", "3"]
    assert not math.isnan(float(read_csv(out / "history.csv")[-1]["val_loss"]))


def test_the_book_api_takes_the_same_options(tabular_data_dir, monkeypatch):
    import alzza.book as book

    monkeypatch.setenv("ALZZA_DATA", str(tabular_data_dir))
    lines = []
    model = book.MlpModel("pulsar_early", book.PulsarDataset(), [4], printer=lines.append)
    history = model.train(epoch_count=20, batch_size=4, report=1, validate="full",
                          early_stopping={"patience": 1, "min_delta": 100.0},
                          lr_schedule={"type": "exponential", "gamma": 0.5})
    assert history.epochs_run == 2 and history.learning_rate == [0.001, 0.0005]
    assert any("stopped after epoch 2 of 20: early stopping" in line for line in lines)
    # the book's exec_all returns nothing (no Out[] dict in a notebook); the metrics stay on the model
    assert model.exec_all(epoch_count=2, batch_size=4, show_cnt=0, lr_schedule="cosine") is None
    assert model.history.learning_rate == [0.001, 0.0005] and type(model.test_metrics["accuracy"]) is float


# --- summary and repr ------------------------------------------------------------------------
def test_summary_prints_once_in_scripts_and_shows_itself_once_interactively(monkeypatch):
    import builtins

    printed = []
    model = Model(layers=[8], input_shape=(4,), output_shape=(3,), mode="select", seed=1, printer=printed.append)
    shown = model.summary()
    assert printed == [shown] and repr(shown) == str(shown)  # the table itself, not a quoted string
    assert "<pre>" in shown._repr_html_() and "Total parameters: 67" in shown._repr_html_()
    monkeypatch.setattr(builtins, "__IPYTHON__", True, raising=False)
    again = model.summary()
    assert len(printed) == 1 and again == shown  # Jupyter displays the returned value: once


def test_repr_says_what_the_model_is():
    model = select_model(optimizer="adam")
    assert repr(model) == "<Model model: network (4) → (3), select, 67 parameters, adam, untrained>"
    x, labels = blobs(40, 0)
    model.fit(x, labels, epochs=2)
    assert repr(model).endswith("trained 2 epochs>")


# --- notebooks ------------------------------------------------------------------------------------
def test_importing_alzza_raises_no_tqdm_warning():
    import subprocess
    import sys

    code = ("import warnings, sys; warnings.simplefilter('error'); sys.modules['ipykernel'] = type(sys)('ipykernel');"
            "import alzza, alzza.training.loop, alzza.experiments; print('tqdm.notebook' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_train_time_line_shows_ours_beside_the_books():
    from alzza.experiments.runner import comparison_lines

    lines = comparison_lines({"accuracy": 0.9}, {"accuracy": 0.902, "train_seconds": 218}, 40.3)
    assert lines[-1] == "  train time: ours 40 s, book 218 s"
    assert comparison_lines({"accuracy": 0.9}, {}, 0.44)[-1] == "  train time: ours 0.4 s, book —"


def test_wrote_line_lists_every_file_of_the_run(tabular_data_dir, tmp_path):
    lines = []
    out = tmp_path / "run"
    run_experiment(write_experiment(tmp_path, "w", ", checkpoint_every: 2"), data_dir=tabular_data_dir, out=out,
                   printer=lines.append)
    wrote = next(line for line in lines if line.startswith("Wrote "))
    for path in out.iterdir():
        assert path.name in wrote, path.name
    # and the dataset line names its splits in the order it gives them
    data_line = next(line for line in lines if line.startswith("dataset "))
    assert re.search(r"\d+ train / \d+ validate / \d+ test", data_line)


def test_a_model_class_names_its_report_printer():
    class Dots(ReportPrinter):
        def epoch_line(self, run, logs, since_last):
            return "." * logs["epoch"]

    class DottedModel(Model):
        report_printer = Dots

    lines = []
    model = DottedModel(layers=[8], input_shape=(4,), output_shape=(3,), mode="select", seed=1,
                        printer=lines.append)
    x, labels = blobs(60, 0)
    model.fit(x, labels, epochs=2, report=1)
    assert lines[1:3] == [".", ".."]  # after fit's optimiser line


def test_history_json_is_strict_without_validation_examples():
    x, labels = blobs(40, 0)
    history = select_model().fit(x, labels, epochs=2)  # no validation_data: no validation figures
    text = json.dumps(history.to_dict(), allow_nan=False)
    assert json.loads(text)["validate_loss"] == [None, None]
    from alzza.training.loop import history_csv

    assert history_csv([history]).splitlines()[1].count(",,") >= 1  # empty cells, not 'nan'
