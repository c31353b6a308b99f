"""The benchmark suite runs in its short form and writes its JSON.

It fails only when the suite cannot run — never on the times it measures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from alzza.bench.harness import ROWS, add_arguments, run_suite


def _args(*words):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(words))


def test_quick_suite_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    lines = []
    args = _args("--quick", "--repeats", "1", "--target", "0.0005", "--batch", "4", "--json", str(out))
    run_suite(args, log=lines.append)
    data = json.loads(out.read_text())
    assert data["machine"]["numpy"] and "OPENBLAS_CORETYPE" in data["machine"]["env"]
    names = {r["row"] for r in data["results"]}
    assert names == {row.name for row in ROWS}
    for res in data["results"]:
        if "skipped" in res:
            continue
        assert res["train"]["alzza"]["median"] > 0
        assert res["peak_bytes"] >= 0 and "gemm" in res
    assert any(line.startswith("row") for line in lines)  # the table was printed


def test_alzza_bench_command_runs(tmp_path):
    """`alzza bench` (through the child process that sets the BLAS threads) writes the JSON too."""
    out = tmp_path / "cli.json"
    proc = subprocess.run([sys.executable, "-m", "alzza.cli", "bench", "--quick", "--rows", "mlp-pulsar",
                           "--repeats", "1", "--target", "0.0005", "--no-profile", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["results"][0]["row"] == "mlp-pulsar"
    assert data["machine"]["env"]["OPENBLAS_NUM_THREADS"] == "2"
