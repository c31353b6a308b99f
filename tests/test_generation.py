"""Sampling (temperature, top-k), generation from a decoder-only model, ``alzza generate``,
and the two rows beyond the book (korean-numbers-lstm, expressions-lstm-lm) as smoke runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alzza.cli import main
from alzza.errors import AlzzaError
from alzza.experiments import find_experiment, list_experiments, run_experiment
from alzza.models.generation import check_decoder_only, generate, sample_ids

torch = pytest.importorskip("torch")


def test_sampling_follows_softmax_over_the_top_k():
    logits = np.array([[2.0, 1.0, 0.5, -1.0, 0.0]])
    rows = np.repeat(logits, 40000, axis=0)
    for temperature, k in ((1.0, None), (0.5, None), (1.5, 3)):
        ids = sample_ids(rows, np.random.default_rng(0), temperature, k)
        z = torch.tensor(logits[0]) / temperature
        if k is not None:  # torch.topk's k best, the rest never drawn
            keep = torch.zeros_like(z, dtype=torch.bool)
            keep[torch.topk(z, k).indices] = True
            z = torch.where(keep, z, torch.tensor(-float("inf"), dtype=z.dtype))
        want = torch.softmax(z, 0).numpy()
        seen = np.bincount(ids, minlength=5) / len(ids)
        np.testing.assert_allclose(seen, want, atol=0.01)  # 40,000 draws: sd ≤ 0.0025
        if k is not None:
            assert set(np.unique(ids)) <= set(np.argsort(-logits[0])[:k])
    # temperature 0 and top-1 are the argmax
    x = np.random.default_rng(1).standard_normal((50, 7))
    np.testing.assert_array_equal(sample_ids(x, np.random.default_rng(2), 0.0), x.argmax(1))
    np.testing.assert_array_equal(sample_ids(x, np.random.default_rng(2), 1.0, 1), x.argmax(1))
    with pytest.raises(ValueError, match="temperature"):
        sample_ids(x, np.random.default_rng(0), -1.0)


@pytest.fixture(scope="module")
def trained_lm(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    result = run_experiment("expressions-lstm-lm", epochs=1, max_batches=3, out=out, seed=5, printer=lambda *a: None)
    return out, result


def test_the_language_model_row_runs_and_generate_counts_valid_expressions(trained_lm, capsys):
    out, result = trained_lm
    assert result["dataset_spec"] == "expressions" and np.isfinite(result["metrics"]["loss"])
    exp = find_experiment("expressions-lstm-lm")
    assert exp.beyond and exp.chapter == 16
    capsys.readouterr()
    assert main(["generate", str(out), "--count", "12", "--seed", "4", "--top-k", "5", "--temperature", "0.7"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 13 and "of 12 samples" in lines[-1] and "valid expressions" in lines[-1]
    from alzza.data.generators.expression_grammar import is_sentence

    valid = sum(is_sentence(text) for text in lines[:12])
    assert lines[-1].startswith(f"{valid} of 12 samples")
    # the same seed writes the same samples
    assert main(["generate", str(out), "--count", "12", "--seed", "4", "--top-k", "5", "--temperature", "0.7"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == lines


def test_generation_is_greedy_at_temperature_zero_and_stops_at_the_end_mark(trained_lm):
    from alzza.saving.model_files import load_model
    from alzza.sequences import Sequences

    model = load_model(trained_lm[0] / "model.npz", printer=lambda *a: None)
    steps, vocabulary = check_decoder_only(model)
    [ids] = generate(model, 1, np.random.default_rng(0), temperature=0.0)
    # rebuild it by hand: one whole forward over the prefix, the argmax of the last step
    tokens = [0]
    while len(tokens) < steps:
        x = np.zeros((1, steps, vocabulary), dtype=model.dtype)
        x[0, np.arange(len(tokens)), tokens] = 1
        out = model.forward(Sequences(x, np.array([len(tokens)])))
        nxt = int(out.data[0, len(tokens) - 1].argmax())
        if nxt == 0:
            break
        tokens.append(nxt)
    assert ids == tokens[1:]


def test_generate_refuses_what_it_cannot_use(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "nothing")]) == 2
    assert "no trained model" in capsys.readouterr().err
    out = tmp_path / "kor"
    run_experiment("korean-numbers-lstm", epochs=1, max_batches=2, out=out, printer=lambda *a: None)
    with pytest.raises(AlzzaError, match="decoder-only"):
        from alzza.saving.model_files import load_model

        check_decoder_only(load_model(out / "model.npz", printer=lambda *a: None))
    assert main(["generate", str(out)]) == 2
    assert main(["generate", str(tmp_path / "nothing"), "--temperature", "-1"]) == 2


def test_the_translation_row_runs_and_reports_whole_reading_accuracy(tmp_path):
    result = run_experiment("korean-numbers-lstm", epochs=1, max_batches=3, out=tmp_path, printer=lambda *a: None)
    assert "sequence_accuracy" in result["metrics"]
    record = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert record["optimizer"]["name"] == "adamw" and record["optimizer"]["clip_norm"] == 1.0


def test_rows_beyond_the_book_are_listed_as_such(capsys):
    beyond = [e.name for e in list_experiments() if e.beyond]
    assert {"korean-numbers-lstm", "expressions-lstm-lm"} <= set(beyond)
    assert main(["list", "--chapter", "16"]) == 0
    listed = capsys.readouterr().out
    for name in beyond:
        assert any(line.startswith(name) and "beyond the book" in line for line in listed.splitlines())


@pytest.mark.parametrize("name", ["korean-numbers-lstm", "expressions-lstm-lm"])
def test_gradcheck_passes_on_the_rows_beyond_the_book(name, capsys):
    assert main(["gradcheck", name, "--examples", "2", "--entries", "4"]) == 0, capsys.readouterr().out


def test_stepping_a_causal_transformer_with_its_cache_gives_the_full_forwards_outputs(tmp_path):
    """Generation with the key/value cache == generation re-running the whole prefix, and
    every stepped output equals the full causal forward's at that step (float64)."""
    from alzza.data import make_dataset
    from alzza.experiments.runner import build_model
    from alzza.models.stepping import stepper_for
    exp = find_experiment("expressions-transformer-lm")
    data = make_dataset({"name": "expressions", "validate_count": 4, "test_count": 4})
    model = build_model(exp, data, seed=3, printer=lambda *a: None, dtype="float64")
    x, _ = data.validate_data()
    stepper = stepper_for(model)
    assert stepper is not None
    full = model.forward(x).data
    steps = int(x.lengths.min())
    for t in range(steps):
        np.testing.assert_allclose(stepper.step(x.data[:, t]), full[:, t], rtol=1e-9, atol=1e-11)
    cached = generate(model, 6, np.random.default_rng(8), temperature=1.0, top_k=10)
    plain = generate(model, 6, np.random.default_rng(8), temperature=1.0, top_k=10, cache=False)
    assert cached == plain and any(len(ids) > 5 for ids in cached)
    # a recurrent network is not stepped: generation runs the prefix
    assert stepper_for(build_model(find_experiment("expressions-lstm-lm"), data, seed=0,
                                   printer=lambda *a: None)) is None


@pytest.mark.parametrize("name", ["automata-transformer", "expressions-transformer-lm"])
def test_the_transformer_rows_run_and_pass_gradcheck(name, tmp_path, capsys):
    result = run_experiment(name, epochs=1, max_batches=2, out=tmp_path, printer=lambda *a: None)
    assert np.isfinite(result["metrics"]["loss"])
    assert main(["gradcheck", name, "--examples", "2", "--entries", "4"]) == 0, capsys.readouterr().out
