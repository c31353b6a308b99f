"""Hostile input, round 2 (issue 23): resuming from a checkpoint.json that was tampered with.

W1: a checkpoint's every field is checked (types, ranges, consistency) before a resumed
run uses it — epoch −5, 0, 1e30, 2.5, ``true``, a list as stop_reason; T1: malformed
epochs, histories and random states are one clear error naming checkpoint.json and the
field, not a traceback; T7: ``"seed": "abc"`` blames the checkpoint, not the experiment.
Plus the planted bug the suite missed: a resumed run keeps the rate a plateau schedule
lowered."""

from __future__ import annotations

import json

import pytest

from _hostile import STEEL, assert_one_error, run_cli, write_experiment

EXPERIMENT = "name: resumable\n" + STEEL.replace("epochs: 1", "epochs: 3") + \
    "model: {layers: [4]}\n"


@pytest.fixture(autouse=True)
def _in_work(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def checkpointed(tmp_path, tabular_data_dir, capsys):
    """(experiment file, run folder) of a run that stopped after epoch 2 of 3 with a checkpoint."""
    spec = write_experiment(tmp_path, EXPERIMENT)
    out = tmp_path / "run"
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--out", out, "--epochs", "2",
                            "--checkpoint-every", "1", "--max-batches", "2", "--no-progress"], capsys)
    assert code == 0, err
    return spec, out


def _tamper(folder, change):
    path = folder / "checkpoint.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _set(field, value):
    def change(record):
        target = record
        *above, last = field.split(".")
        for key in above:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return change


_DELETE = object()

CASES = {
    # W1: silently wrong epochs and stops
    "epoch -5": ("epoch", -5, "epoch"),
    "epoch 0": ("epoch", 0, "epoch"),
    "epoch 1e30": ("epoch", 1e30, "epoch"),
    "epoch 2.5": ("epoch", 2.5, "epoch"),
    "epoch true": ("epoch", True, "epoch"),
    "stop_reason list": ("stop_reason", ["x"], "stop_reason"),
    # T1: tracebacks
    "epoch abc": ("epoch", "abc", "epoch"),
    "epoch null": ("epoch", None, "epoch"),
    "epoch [1]": ("epoch", [1], "epoch"),
    "epoch beyond the run": ("epoch", 7, "epochs"),
    "history an epoch short": ("history.epoch", [1], "history.epoch"),
    "history missing": ("history", _DELETE, "history"),
    "history a list": ("history", [1, 2], "history"),
    "history uneven": ("history.loss", [1.0], "history.loss"),
    "history string losses": ("history.loss", ["a", "b"], "history.loss"),
    "rng garbage": ("rng", {"bit_generator": "PCG64", "state": "garbage"}, "rng"),
    "rng of another generator": ("rng", {"bit_generator": "MT19937", "state": {"key": [0] * 624, "pos": 0}}, "rng"),
    "rng not a mapping": ("rng", [1, 2, 3], "rng"),
    "learning rate text": ("learning_rate", "fast", "learning_rate"),
    "callbacks text": ("callbacks", "x", "callbacks"),
    # T7: blame the checkpoint, not the experiment
    "seed abc": ("seed", "abc", "seed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_W1_T1_a_tampered_checkpoint_is_one_error_naming_the_field(case, checkpointed, tabular_data_dir, capsys):
    spec, out = checkpointed
    field, value, named = CASES[case]
    _tamper(out, _set(field, value))
    before = (out / "result.json").read_bytes()
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--resume", out, "--max-batches", "2",
                            "--no-progress"], capsys)
    assert_one_error(code, err, "checkpoint.json", repr(named))
    assert "resumable.yaml" not in err and "exp.yaml" not in err  # the checkpoint is blamed, not the experiment
    assert (out / "result.json").read_bytes() == before  # nothing was trained or rewritten


def test_W1_a_sound_checkpoint_still_resumes(checkpointed, tabular_data_dir, capsys):
    spec, out = checkpointed
    code, _, err = run_cli(["run", spec, "--data-dir", tabular_data_dir, "--resume", out, "--epochs", "3",
                            "--max-batches", "2", "--no-progress"], capsys)
    assert code == 0, err
    result = json.loads((out / "result.json").read_text())
    assert result["history"]["epoch"] == [1, 2, 3]


# ------------------------------------------------------------------ the plateau's lowered rate survives
PLATEAU = ("name: plateau\n" + STEEL.replace("epochs: 1", "epochs: 6") +
           "model: {layers: [4]}\n")


def test_a_resumed_run_keeps_the_rate_the_plateau_schedule_lowered(tmp_path, tabular_data_dir, capsys):
    """Training with a plateau schedule that lowers the rate after every epoch without
    improvement; stopped after 3 epochs, resumed to 6. The resumed epochs must start from
    the lowered rate (the planted bug: the base rate 0.1 again instead of 0.025)."""
    # min_delta-free plateau on the *training accuracy* in max mode with patience 1 and a
    # metric that can't improve at lr so small: val_loss with mode 'max' (a lower loss is
    # 'no improvement'), so the rate halves after every epoch but the first
    body = PLATEAU.replace("batch_size: 5}", "batch_size: 5, learning_rate: 0.1, "
                           "lr_schedule: {type: plateau, metric: val_loss, mode: max, patience: 1, factor: 0.5}}")
    spec = write_experiment(tmp_path, body)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["--data-dir", tabular_data_dir, "--max-batches", "2", "--no-progress", "--checkpoint-every", "1"]
    assert run_cli(["run", spec, "--out", whole, *common], capsys)[0] == 0
    assert run_cli(["run", spec, "--out", parts, "--epochs", "3", *common], capsys)[0] == 0
    saved = json.loads((parts / "checkpoint.json").read_text())
    code, _, err = run_cli(["run", spec, "--resume", parts, "--epochs", "6", *common], capsys)
    assert code == 0, err
    rates = json.loads((parts / "result.json").read_text())["history"]["learning_rate"]
    expected = json.loads((whole / "result.json").read_text())["history"]["learning_rate"]
    assert rates == expected
    assert rates[3] < 0.1 and rates[3] <= saved["history"]["learning_rate"][-1]


# ------------------------------------------------------------------ reproduce --resume sees a new rate
@pytest.mark.parametrize("key, other", [("learning_rate", 0.5), ("batch_size", 7), ("epochs", 99),
                                        ("optimizer", "adam"), ("l2_decay", 0.01)])
def test_the_fingerprint_changes_with_every_outcome_setting(key, other):
    """The planted bug: a fingerprint blind to the learning rate makes ``reproduce --resume``
    skip a run with a new rate. Same experiment object, only the setting differs."""
    from alzza.experiments import find_experiment
    from alzza.experiments.fingerprint import fingerprint

    exp = find_experiment("abalone-slp")
    settings = dict(exp.train)
    assert settings.get(key) != other
    changed = {**settings, key: other}
    assert fingerprint(exp, settings, 1)["digest"] != fingerprint(exp, changed, 1)["digest"]
    assert fingerprint(exp, settings, 1)["digest"] == fingerprint(exp, dict(settings), 1)["digest"]


def test_reproduce_resume_reruns_an_experiment_whose_rate_changed(tmp_path):
    import dataclasses

    from alzza.experiments import find_experiment
    from alzza.reproduce.session import expected_fingerprint

    exp = find_experiment("abalone-slp")
    faster = dataclasses.replace(exp, train={**exp.train, "learning_rate": exp.train["learning_rate"] * 4})
    assert expected_fingerprint(exp)["digest"] != expected_fingerprint(faster)["digest"]
    assert expected_fingerprint(exp)["settings"]["learning_rate"] == exp.train["learning_rate"]
