"""Hostile experiment files and specs (issue 16, cases A, C, D and L): deep nesting,
exponential expansion, nonsense values — each one clear error, fast, before training."""

from __future__ import annotations

import pytest

from _hostile import STEEL, assert_one_error, deadline, run_cli, write_experiment
from alzza import Model
from alzza.errors import SpecError
from alzza.spec import parse_layers


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a run that should have been refused must not write into the repository


def run_spec(tmp_path, body, capsys, *extra, seconds=60):
    path = write_experiment(tmp_path, body)
    return run_cli(["run", path, "--data-dir", tmp_path / "data", "--out", tmp_path / "out",
                    "--max-batches", "1", "--no-progress", *extra], capsys, seconds)


# ------------------------------------------------------------------ A: deep nesting
def test_A_500_nested_serials(tmp_path, tabular_data_dir, capsys):
    deep = "[serial, " * 500 + "4" + "]" * 500
    code, _, err = run_spec(tmp_path, f"name: deep\n{STEEL}model:\n  layers: [{deep}]\n", capsys)
    assert_one_error(code, err, "deeper than", "ALZZA_MAX_SPEC_DEPTH")


def test_A_deeply_nested_yaml_mappings(tmp_path, tabular_data_dir, capsys):
    deep = "{a: " * 3000 + "1" + "}" * 3000
    code, _, err = run_spec(tmp_path, f"name: deep\n{STEEL}model:\n  layers: [4]\n  head: {deep}\n", capsys)
    assert_one_error(code, err, "nest", "ALZZA_MAX_SPEC_DEPTH")


def test_A_deeply_nested_block_yaml(tmp_path, tabular_data_dir, capsys):
    lines = "".join(" " * i + "a:\n" for i in range(2500))
    code, _, err = run_spec(tmp_path, f"name: deep\n{STEEL}model:\n  layers: [4]\nnotes:\n{lines}", capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_A_self_referencing_anchor(tmp_path, tabular_data_dir, capsys):
    code, _, err = run_spec(tmp_path, f"name: loopy\n{STEEL}model:\n  layers: &l [4, *l]\n", capsys)
    assert_one_error(code, err, "contains itself", "anchor")


def test_A_recursive_macro_inside_nesting(tmp_path, tabular_data_dir, capsys):
    # each expansion adds 30 levels, so 32 expansions (the old macro-depth guard) nest 960 deep
    inner = "[serial, " * 30 + "[custom, {name: m}]" + "]" * 30
    body = f"name: rec\n{STEEL}macros: {{m: {inner}}}\nmodel:\n  layers: [[custom, {{name: m}}]]\n"
    code, _, err = run_spec(tmp_path, body, capsys)
    assert_one_error(code, err, "nest deeper than")


def test_A_python_spec_nesting_is_bounded_too():
    spec = 4
    for _ in range(2000):
        spec = ["serial", spec]
    with pytest.raises(SpecError, match="deeper than"):
        parse_layers([spec])


# ------------------------------------------------------------------ C: hangs
def test_C_loop_repeat_a_million(tmp_path, tabular_data_dir, capsys):
    code, _, err = run_spec(tmp_path, f"name: loop\n{STEEL}model:\n  layers: [[loop, {{repeat: 1000000}}, 4]]\n",
                            capsys, seconds=30)
    assert_one_error(code, err, "more than 20,000 layers", "ALZZA_MAX_LAYERS")


def test_C_nested_loops_multiply(tmp_path, tabular_data_dir, capsys):
    body = f"name: loop2\n{STEEL}model:\n  layers: [[loop, {{repeat: 1000}}, [loop, {{repeat: 1000}}, 4]]]\n"
    code, _, err = run_spec(tmp_path, body, capsys, seconds=30)
    assert_one_error(code, err, "ALZZA_MAX_LAYERS")


def test_C_exponential_macros(tmp_path, tabular_data_dir, capsys):
    macros = "macros:\n  m0: [serial, 4, 4]\n" + "".join(
        f"  m{i}: [serial, [custom, {{name: m{i - 1}}}], [custom, {{name: m{i - 1}}}]]\n" for i in range(1, 23))
    body = f"name: expo\n{STEEL}{macros}model:\n  layers: [[custom, {{name: m22}}]]\n"
    assert len(body) < 3000  # a small file...
    code, _, err = run_spec(tmp_path, body, capsys, seconds=30)  # ...that stood for 2^22 layers
    assert_one_error(code, err, "ALZZA_MAX_")


def test_C_yaml_alias_bomb(tmp_path, tabular_data_dir, capsys):
    rows = ["a: &a [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]"]
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        rows.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    body = f"name: bomb\n{STEEL}macros:\n" + "".join(f"  {r}\n" for r in rows) + "model:\n  layers: *i\n"
    code, _, err = run_spec(tmp_path, body, capsys, seconds=30)
    assert_one_error(code, err, "alias", "ALZZA_MAX_SPEC_NODES")


def test_C_ten_megabyte_spec(tmp_path, tabular_data_dir, capsys):
    layers = ", ".join(["4"] * 1_600_000)
    code, _, err = run_spec(tmp_path, f"name: huge\n{STEEL}model:\n  layers: [{layers}]\n", capsys, seconds=30)
    assert_one_error(code, err, "larger than", "ALZZA_MAX_SPEC_BYTES")


def test_C_many_layers_under_the_size_limit(tmp_path, tabular_data_dir, capsys):
    layers = ", ".join(["4"] * 30_000)
    code, _, err = run_spec(tmp_path, f"name: many\n{STEEL}model:\n  layers: [{layers}]\n", capsys, seconds=30)
    assert_one_error(code, err, "ALZZA_MAX_LAYERS")


def test_C_limits_are_settings(tmp_path, tabular_data_dir, capsys, monkeypatch):
    monkeypatch.setenv("ALZZA_MAX_LAYERS", "3")
    code, _, err = run_spec(tmp_path, f"name: four\n{STEEL}model:\n  layers: [4, 4, 4, 4]\n", capsys)
    assert_one_error(code, err, "more than 3 layers")
    monkeypatch.setenv("ALZZA_MAX_LAYERS", "lots")
    code, _, err = run_spec(tmp_path, f"name: four\n{STEEL}model:\n  layers: [4]\n", capsys)
    assert_one_error(code, err, "ALZZA_MAX_LAYERS='lots'")


# ------------------------------------------------------------------ D and L: values checked up front
BAD_VALUES = [
    ("seed: -1\n" + STEEL + "model: {layers: [4]}\n", "seed: must be at least 0"),
    ("dataset: abalone\ntrain: {epochs: 1, batch_size: 5}\nmodel:\n  layers: [4]\n  head: {bogus: 1}\n",
     "takes only metric"),
    (STEEL + "model:\n  layers: [4]\n  head: {bogus: 1}\n", "takes only label_smoothing"),
    (STEEL + "model: {layers: [4]}\nbook: {accuracy: high}\n", "book.accuracy"),
    (STEEL + "model: {layers: [4]}\nbook: {train_seconds: [1]}\n", "book.train_seconds"),
    ("dataset: steel\ntrain: {l2_decay: -1}\nmodel: {layers: [4]}\n", "train.l2_decay"),
    ("dataset: steel\ntrain: {l1_decay: .nan}\nmodel: {layers: [4]}\n", "train.l1_decay"),
    ("dataset: steel\ntrain: {report: -1}\nmodel: {layers: [4]}\n", "train.report"),
    ("dataset: steel\ntrain: {epochs: 0}\nmodel: {layers: [4]}\n", "train.epochs"),
    ("dataset: steel\ntrain: {learning_rate: .inf}\nmodel: {layers: [4]}\n", "train.learning_rate"),
    ("dataset: steel\ntrain: {optimizer: {name: adam, beta1: 2}}\nmodel: {layers: [4]}\n", "beta1"),
    ("show: -1\n" + STEEL + "model: {layers: [4]}\n", "show: must be at least 0"),
    (STEEL + "model:\n  kind: autoencoder\n", "encoder"),
    (STEEL + "model:\n  kind: autoencoder\n  encoder: []\n", "encoder"),
    (STEEL + "model: {layers: [4, [batch_normal, {epsilon: .inf}]]}\n", "epsilon"),
    (STEEL + "model: {layers: [4, [batch_normal, {epsilon: 0.0}]]}\n", "epsilon"),
    (STEEL + "model: {layers: [4, [dropout, {keep_prob: .nan}]]}\n", "keep_prob"),
    (STEEL + "model: {layers: [4, [noise, {mean: -.inf}]]}\n", "mean"),
]


@pytest.mark.parametrize("body, fragment", BAD_VALUES, ids=[f[1] for f in BAD_VALUES])
def test_DL_nonsense_values_are_refused_before_training(body, fragment, tmp_path, tabular_data_dir, capsys):
    code, out, err = run_spec(tmp_path, "name: bad\n" + body, capsys)
    assert_one_error(code, err, fragment)
    assert "Epoch" not in out and "train ended" not in out  # refused before training, not after
    assert not (tmp_path / "out" / "model.npz").exists()


def test_L_python_api_refuses_negative_decay(tabular_data_dir):
    from alzza.data import make_dataset

    data = make_dataset("steel", data_dir=tabular_data_dir, seed=1)
    with pytest.raises(SpecError, match="l2_decay"):
        Model(data, [4], l2_decay=-1)


def test_D_adamx_error_quotes_what_the_user_wrote(tmp_path, tabular_data_dir, capsys):
    body = "name: w\ndataset: steel\ntrain: {optimizer: adamx}\nmodel: {layers: [4]}\n"
    code, _, err = run_spec(tmp_path, body, capsys)
    assert_one_error(code, err, "train.optimizer", "'adamx'")
    assert "{'name'" not in err  # not a dict the user never wrote


def test_deadline_helper_catches_a_hang():
    from _hostile import Deadline

    with pytest.raises(Deadline), deadline(0.2):
        while True:
            pass
