"""``alzza gradcheck NAME --device cpu|cuda|standin``: the gradient check on the chosen device.

The stand-in computes with NumPy inside, so its table must equal the CPU's number for number;
``--device cuda`` without CuPy is the one clear error ``run`` gives too.
"""

from __future__ import annotations

import pytest

from alzza import device as device_module
from alzza.cli import main


@pytest.fixture
def fresh_device(monkeypatch):
    """--device sets the process's default device and $ALZZA_DEVICE: put both back afterwards."""
    monkeypatch.setenv(device_module.DEVICE_ENV, "cpu")  # recorded, so unset again afterwards
    monkeypatch.setattr(device_module, "DEFAULT_DEVICE", "cpu")
    monkeypatch.setattr(device_module, "COMMAND_LINE_DEVICE", None)


def _table(text):
    return [line for line in text.splitlines() if line.endswith(" ok") or line.endswith(" FAIL")]


def test_gradcheck_on_the_standin_equals_the_cpu(fresh_device, tabular_data_dir, capsys):
    tables = {}
    for name in ("cpu", "standin"):
        assert main(["gradcheck", "abalone-slp", "--data-dir", str(tabular_data_dir), "--device", name]) == 0
        out = capsys.readouterr().out
        assert f"Gradient check of abalone-slp on {name}:" in out
        tables[name] = _table(out)
    assert tables["cpu"] and tables["cpu"] == tables["standin"]


def test_gradcheck_device_cuda_without_cupy_is_one_clear_error(fresh_device, monkeypatch, capsys, tabular_data_dir):
    def no_cupy():
        raise device_module.DeviceError("device 'cuda' needs CuPy, which is not installed: "
                                        f"{device_module.GPU_EXTRA}")

    monkeypatch.setattr(device_module, "_cuda", no_cupy)
    code = main(["gradcheck", "abalone-slp", "--data-dir", str(tabular_data_dir), "--device", "cuda"])
    err = capsys.readouterr().err
    assert code != 0 and "needs CuPy" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_gradcheck_refuses_an_unknown_device(fresh_device, capsys):
    with pytest.raises(SystemExit):
        main(["gradcheck", "abalone-slp", "--device", "tpu"])
    assert "invalid choice" in capsys.readouterr().err


# --- the device a row ran on (reproduce's fingerprint and ledger) ---------------------------

def test_a_cpu_run_keeps_its_digest_and_a_device_run_gets_another(fresh_device, monkeypatch):
    from alzza.experiments import find_experiment
    from alzza.experiments.fingerprint import fingerprint

    exp = find_experiment("abalone-slp")
    cpu = fingerprint(exp, exp.train, 1)
    assert cpu["device"] == "cpu"
    monkeypatch.setattr(device_module, "COMMAND_LINE_DEVICE", "standin")
    standin = fingerprint(exp, exp.train, 1)
    assert standin["device"] == "standin" and standin["digest"] != cpu["digest"]
    monkeypatch.setattr(device_module, "COMMAND_LINE_DEVICE", None)
    assert fingerprint(exp, exp.train, 1)["digest"] == cpu["digest"]  # no device field in a CPU digest


def test_the_ledger_records_the_device_and_a_missing_one_means_cpu(tmp_path):
    import json

    from alzza.errors import AlzzaError
    from alzza.experiments import find_experiment
    from alzza.reproduce.ledger import run_record, check_ledger

    exp = find_experiment("abalone-slp")
    folder = tmp_path / "run"
    folder.mkdir()
    result = {"seed": 1, "metrics": {"accuracy": 0.5}, "fingerprint": {"code": "0" * 16, "device": "cuda"}}
    (folder / "result.json").write_text(json.dumps(result))
    assert run_record(exp, folder, "a" * 40)["device"] == "cuda"
    del result["fingerprint"]["device"]
    (folder / "result.json").write_text(json.dumps(result))
    record = run_record(exp, folder, "a" * 40)
    assert record["device"] == "cpu"

    run = {k: record[k] for k in ("seed", "metrics", "settings", "code", "commit")}
    ledger = {"format": "alzza-reproduction/1", "sessions": [], "rows": {"abalone-slp": {"runs": [run]}}}
    check_ledger(ledger)  # an old row without a device is fine
    run["device"] = "tpu"
    with pytest.raises(AlzzaError, match="device"):
        check_ledger(ledger)
