"""Is training bit-identical between two versions of alzza?

Runs the same short experiments with two versions of the package and compares what they
wrote: ``result.json`` (every metric and count; timings left out) and every array of
``model.npz``, bit for bit (dtype, shape and bytes).

A side is a git revision (``03f24ff``, ``main``, ``HEAD``), a working tree holding
``src/alzza`` (``.`` for the tree you are in, uncommitted changes included), or a folder
written by ``--record`` earlier (a saved "before")::

    python tools/bit_identity.py --before 03f24ff --after .
    python tools/bit_identity.py --record /tmp/before --side 03f24ff     # save a before once
    python tools/bit_identity.py --before /tmp/before --after .          # compare with it later

Each experiment runs as ``alzza run NAME --epochs 1 --max-batches 3 --seed 7`` in its own
process, with ``$ALZZA_DATA`` (default /work/shared/data) and a cache folder of its own
per side. Exit status 0 when every experiment matches, 1 otherwise; the table names the
first differing metric or array of each experiment that differs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# At least one experiment per family: plain networks (regression, binary, select; SGD,
# Adam, layer norm, early stopping), CNNs (batch norm, dropout, residual), recurrent
# networks (RNN, LSTM, GRU, over audio and generated text), seqwrap over video stand-ins,
# autoencoders (with supervised stage and semantic hashing), encoder-decoders, GANs.
EXPERIMENTS = (
    "abalone-mlp-4",
    "pulsar-slp-f1",
    "steel-std",
    "steel-mlp-12-6-4-layernorm",
    "pulsar-std-early",
    "flowers-cnn-batchnorm",
    "flowers-cnn-dropout",
    "residual-flower",
    "automata-rnn-64-dropout",
    "automata-lstm-64",
    "automata-gru-64",
    "urban-lstm-20-100ms",
    "videoshot-lstm-5",
    "mnist-autoencoder",
    "mnist-semantic-hash",
    "mnist-eng-3steps",
    "mnist-kor-2",
    "gan-mnist-8-adam",
    "gan-gogh",
)
RUN_ARGS = ("--epochs", "1", "--max-batches", "3", "--seed", "7", "--no-progress")
# result.json keys that measure time or place, not training: left out of the comparison.
IGNORED_KEYS = {"seconds", "elapsed", "time", "timings", "duration", "started", "finished",
                "wall_seconds", "fingerprint", "out", "run_dir", "host", "python", "platform",
                "alzza_version", "version"}
REPO = Path(__file__).resolve().parent.parent

_LOADER = (
    "import sys; sys.path.insert(0, sys.argv[1]); import alzza; "
    "assert alzza.__file__.startswith(sys.argv[1]), alzza.__file__; "
    "alzza.load(sys.argv[2], printer=lambda *a: None).save(sys.argv[3])"
)
_RUNNER = (
    "import sys; sys.path.insert(0, sys.argv[1]); import alzza; "
    "assert alzza.__file__.startswith(sys.argv[1]), alzza.__file__; "
    "from alzza.cli import main; sys.exit(main(sys.argv[2:]))"
)


def _is_recorded(side: str) -> bool:
    return (Path(side) / "bit-identity.json").is_file()


def _source_tree(side: str, scratch: Path) -> Path:
    """The folder holding ``src/alzza`` for a side: the tree itself, or a checkout of a revision."""
    if (Path(side) / "src" / "alzza").is_dir():
        return Path(side).resolve()
    checkout = scratch / f"tree-{side.replace('/', '_')}"
    if not checkout.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout), side],
                       check=True, capture_output=True)
    return checkout


def record(side: str, out: Path, experiments, scratch: Path) -> Path:
    """Run every experiment with one side's code; write each run folder under ``out``."""
    if _is_recorded(side):
        return Path(side)
    tree = _source_tree(side, scratch)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MPLBACKEND="Agg", ALZZA_CACHE=str(out / "cache"))
    env.setdefault("ALZZA_DATA", "/work/shared/data")
    status = {}
    for name in experiments:
        run_dir = out / name
        shutil.rmtree(run_dir, ignore_errors=True)
        cmd = [sys.executable, "-c", _RUNNER, str(tree / "src"), "run", name, *RUN_ARGS, "--out", str(run_dir)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=scratch)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "log.txt").write_text(done.stdout + done.stderr)
        status[name] = done.returncode
        print(f"  {side}: {name} exit {done.returncode}", flush=True)
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    (out / "bit-identity.json").write_text(json.dumps(
        {"side": side, "commit": commit.stdout.strip(), "args": RUN_ARGS, "exit": status}, indent=1))
    return out


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()
                if k not in IGNORED_KEYS and not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _first_difference(a, b, path="result"):
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only on one side"
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def compare_run(before: Path, after: Path) -> tuple[str, str]:
    """('same' | 'DIFFERS' | 'FAILED', detail) for one experiment's two run folders."""
    for side in (before, after):
        if not (side / "result.json").is_file():
            tail = (side / "log.txt").read_text()[-300:] if (side / "log.txt").is_file() else ""
            return "FAILED", f"{side}: no result.json. {tail.strip()}"
    found = _first_difference(_strip(json.loads((before / "result.json").read_text())),
                              _strip(json.loads((after / "result.json").read_text())))
    if found:
        return "DIFFERS", found
    npz_a, npz_b = before / "model.npz", after / "model.npz"
    if npz_a.is_file() != npz_b.is_file():
        return "DIFFERS", "model.npz written on one side only"
    if not npz_a.is_file():
        return "same", "result.json (no model.npz)"
    with np.load(npz_a, allow_pickle=False) as a, np.load(npz_b, allow_pickle=False) as b:
        if sorted(a.files) != sorted(b.files):
            return "DIFFERS", f"model.npz arrays {sorted(set(a.files) ^ set(b.files))} on one side only"
        for key in a.files:
            x, y = a[key], b[key]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return "DIFFERS", f"model.npz[{key!r}] differs"
        return "same", f"result.json + {len(a.files)} arrays"


def check_loads(before: Path, tree: Path, scratch: Path) -> tuple[str, str]:
    """Load a model.npz written by the "before" side with ``tree``'s code, save it again, and
    compare every array (the description aside) with the original, bit for bit."""
    original = before / "model.npz"
    if not original.is_file():
        return "same", "no model.npz"
    again = scratch / "loaded" / before.name / "model.npz"
    again.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", _LOADER, str(tree / "src"), str(original), str(again)],
                          capture_output=True, text=True, cwd=scratch)
    if done.returncode:
        return "FAILED", (done.stdout + done.stderr).strip()[-300:]
    with np.load(original, allow_pickle=False) as a, np.load(again, allow_pickle=False) as b:
        keys = [k for k in a.files if not k.startswith("__")]
        if sorted(keys) != sorted(k for k in b.files if not k.startswith("__")):
            return "DIFFERS", "the reloaded model has other arrays"
        for key in keys:
            if a[key].dtype != b[key].dtype or a[key].tobytes() != b[key].tobytes():
                return "DIFFERS", f"{key!r} changed on load"
        return "same", f"loads; {len(keys)} arrays round-trip"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="revision, tree or recorded folder")
    parser.add_argument("--after", default=".", help="revision, tree or recorded folder (default: this tree)")
    parser.add_argument("--record", type=Path, help="only run --side and keep its folders here")
    parser.add_argument("--side", help="with --record: the revision or tree to record")
    parser.add_argument("--work", type=Path, help="folder for runs and checkouts (default: a temporary one)")
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS))
    args = parser.parse_args(argv)
    scratch = Path(args.work or tempfile.mkdtemp(prefix="bit-identity-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    if args.record:
        record(args.side or ".", args.record.resolve(), args.experiments, scratch)
        return 0
    if not args.before:
        parser.error("--before is required (or --record)")
    before = record(args.before, scratch / "before", args.experiments, scratch)
    after = record(args.after, scratch / "after", args.experiments, scratch)
    differing = set()
    print(f"\n{'experiment':<28} {'outcome':<8} detail")
    for name in args.experiments:
        outcome, detail = compare_run(before / name, after / name)
        if outcome != "same":
            differing.add(name)
        print(f"{name:<28} {outcome:<8} {detail}")
    if not _is_recorded(args.after):
        tree = _source_tree(args.after, scratch)
        print(f"\nold model files: each 'before' model.npz loaded and saved again by {args.after}")
        for name in args.experiments:
            outcome, detail = check_loads(before / name, tree, scratch)
            if outcome != "same":
                differing.add(name)
            print(f"{name:<28} {outcome:<8} {detail}")
    same = len(args.experiments) - len(differing)
    loads = "" if _is_recorded(args.after) else ", old model files loading"
    print(f"\n{same} of {len(args.experiments)} experiments bit-identical{loads} "
          f"({args.before} vs {args.after}; {' '.join(RUN_ARGS)})")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
