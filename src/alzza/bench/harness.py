"""The benchmark suite: alzza's training step against PyTorch's on the CPU (issue 7).

Each row times one full training step — forward, loss, backward, optimiser update —
per example, for alzza and for the same model in PyTorch, in the same process, on the
same number of threads, after warm-up, as the median (and min–max) of repeated timing
blocks that alternate between the two sides. The ratio alzza/torch is what we track;
absolute times on a shared machine are noise.

This module is NumPy only. PyTorch is the *reference*, never part of alzza's math: its
models live in ``benchmarks/torch_models.py`` (a spec → torch translator) and are
imported only inside :func:`run_suite`, by file path, when torch is installed.

Run it as ``python benchmarks/run.py`` or ``alzza bench`` (same code); ``--quick`` is
the short form for CI. Thread counts are fixed with ``OPENBLAS_NUM_THREADS`` /
``OMP_NUM_THREADS`` (threadpoolctl is not a dependency), which OpenBLAS only reads when
it is loaded — so when they don't already say ``--threads``, the suite re-runs itself
in a child process with them set. ``--unset-openblas-env`` does the same with
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed, for that command alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..saving.atomic import write_text_atomic
from .measure import _ratio, compare, gemm_profile, machine_info, peak_memory
from .rows import LEARNING_RATE, ROWS, BareMLP, build_alzza, make_batch, row_available

#: the variables ``--unset-openblas-env`` removes
UNSET_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: set in the child process so it does not re-run itself again
CHILD_FLAG = "ALZZA_BENCH_CHILD"


def find_torch_reference(path=None):
    """The file of PyTorch reference models: ``path``, $ALZZA_BENCH_TORCH, or benchmarks/ of the source tree."""
    candidates = [path, os.environ.get("ALZZA_BENCH_TORCH"),
                  Path(__file__).resolve().parents[3] / "benchmarks" / "torch_models.py",
                  Path.cwd() / "benchmarks" / "torch_models.py"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def load_torch_reference(path=None):
    """(module, None) with the torch reference models loaded, or (None, why not)."""
    try:
        # torch is the reference we compare against, never used by alzza's own math
        importlib.import_module("torch")
    except ImportError:
        return None, "PyTorch is not installed (pip install torch): only alzza's own times are shown"
    file = find_torch_reference(path)
    if file is None:
        return None, ("benchmarks/torch_models.py not found (run from the source tree, or pass --torch-models "
                      "PATH / set ALZZA_BENCH_TORCH): only alzza's own times are shown")
    spec = importlib.util.spec_from_file_location("alzza_bench_torch_models", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, None


# ----------------------------------------------------------------------------- the suite
def run_row(row, batch, reference, *, repeats, target, profile=True, ops=False, log=print):
    """Time one row at one batch size; returns the result dict (training, inference, profile, memory;
    with ``ops`` the split of the step by layer method and window op, :func:`~alzza.bench.opsplit.op_split`)."""
    rng = np.random.default_rng(0)
    model = build_alzza(row)
    x, y, labels = make_batch(row, batch, rng)
    result = {"row": row.name, "batch": batch, "input_shape": list(row.input_shape), "resized": row.resized_from,
              "parameters": model.parameter_count()}

    def alzza_step():
        model.train_step(x, y, LEARNING_RATE)

    sides = {"alzza": alzza_step}
    if row.kind == "mlp":
        bare = BareMLP([row.input_shape[0]] + list(row.layers) + [row.outputs], row.mode, rng)
        sides["bare"] = lambda: bare.step(x, y, LEARNING_RATE)
    tmodel = None
    if reference is not None:
        twin = reference.GanTwin if row.mode == "gan" else reference.TorchTwin
        tmodel = twin(model, row.mode, LEARNING_RATE, x, y, labels)
        result["torch_parameters"] = tmodel.parameter_count()
        if row.kind == "transformer" and result["torch_parameters"] != result["parameters"]:
            from ..errors import AlzzaError

            # the twin must be the same model, or the ratio compares two different amounts of work
            raise AlzzaError(f"{row.name}: the torch twin has {result['torch_parameters']} parameters, alzza's "
                             f"model {result['parameters']}; benchmarks/torch_models.py translates a layer wrongly")
        sides["torch"] = tmodel.train_step
    times = compare(sides, batch, repeats, target)
    result["train"] = times
    if "torch" in times:
        result["train_ratio"] = _ratio(times["alzza"], times["torch"])
    if "bare" in times:
        result["bare_ratio"] = _ratio(times["alzza"], times["bare"])
    if row.infer:
        isides = {"alzza": lambda: model.forward(x)}
        if tmodel is not None:
            isides["torch"] = tmodel.infer
        itimes = compare(isides, batch, repeats, target)
        result["infer"] = itimes
        if "torch" in itimes:
            result["infer_ratio"] = _ratio(itimes["alzza"], itimes["torch"])
    if profile:
        try:
            result["gemm"] = gemm_profile(model, x, y, times["alzza"]["median"] * batch)
        except Exception as exc:  # noqa: BLE001 — a layer the wrapper can't follow: report, don't fail the suite
            result["gemm"] = {"error": f"{type(exc).__name__}: {exc}"}
        result["peak_bytes"] = peak_memory(alzza_step)
    if ops:
        from .opsplit import op_split, split_lines

        result["ops"] = op_split(model, x, y, LEARNING_RATE)
        for line in split_lines(result["ops"], name=f"{row.name} batch {batch} (CPU time of one thread)"):
            log(line)
    return result


def _fmt_us(stats):
    return f"{stats['median'] * 1e6:9.1f} ({stats['min'] * 1e6:.1f}–{stats['max'] * 1e6:.1f})"


def _fmt_ratio(r):
    return f"{r['median']:5.2f} ({r['min']:.2f}–{r['max']:.2f})"


def table_lines(results):
    """The printed table: µs per example (median, min–max) and the ratios."""
    header = (f"{'row':<22}{'batch':>5}  {'alzza µs/ex':>24}  {'torch µs/ex':>24}  {'alzza/torch':>18}"
              f"  {'alzza/bare':>18}  {'GEMM %':>6}  {'peak MB':>7}")
    lines = [header]
    for res in results:
        if "skipped" in res:
            lines.append(f"{res['row']:<22}  skipped: {res['skipped']}")
            continue
        for part in ("train", "infer"):
            if part not in res:
                continue
            times = res[part]
            torch_t = _fmt_us(times["torch"]) if "torch" in times else "—"
            ratio = _fmt_ratio(res[f"{part}_ratio"]) if f"{part}_ratio" in res else "—"
            bare = _fmt_ratio(res["bare_ratio"]) if part == "train" and "bare_ratio" in res else ""
            gemm = res.get("gemm", {}).get("share") if part == "train" else None
            gemm_t = f"{gemm * 100:5.1f}" if gemm is not None else ""
            peak = f"{res['peak_bytes'] / 2**20:7.2f}" if part == "train" and "peak_bytes" in res else ""
            name = res["row"] + (f"@{'x'.join(map(str, res['input_shape'][:-1]))}" if res.get("resized") else "") \
                + (" (infer)" if part == "infer" else "")
            lines.append(f"{name:<22}{res['batch']:>5}  {_fmt_us(times['alzza']):>24}  {torch_t:>24}  "
                         f"{ratio:>18}  {bare:>18}  {gemm_t:>6}  {peak:>7}")
    return lines


def run_suite(args, log=print):
    """Run the rows selected by ``args``; print the table; return the results dict (and write it)."""
    threads = args.threads
    reference, why = (None, "--no-torch") if args.no_torch else load_torch_reference(args.torch_models)
    if reference is not None:
        reference.set_threads(threads)
    elif why:
        log(f"torch reference: none ({why})")
    quick = args.quick
    repeats = args.repeats or (3 if quick else 9)
    target = args.target or (0.02 if quick else 0.15)
    batches = args.batch or ([10] if quick else [10, 64])
    selected = [r for r in ROWS if not args.rows or r.name in args.rows]
    check_options(args)
    selected = [row.resized(args.size, args.steps) for row in selected]
    info = machine_info()
    info["threads"] = threads
    busy = load_warning(info, threads)
    if busy:
        log(busy)
    if reference is not None:
        info["torch"] = reference.torch_info()
    log(f"alzza benchmark: {threads} thread(s); numpy {np.__version__}; "
        f"OPENBLAS_CORETYPE={info['env']['OPENBLAS_CORETYPE']} OPENBLAS_L2_SIZE={info['env']['OPENBLAS_L2_SIZE']}")
    results = []
    for row in selected:
        reason = row_available(row)
        if reason:
            log(f"{row.name}: skipped — {reason}")
            results.append({"row": row.name, "skipped": reason})
            continue
        for batch in batches:
            res = run_row(row, batch, reference, repeats=repeats, target=target, profile=not args.no_profile,
                          ops=getattr(args, "ops", False), log=log)
            results.append(res)
            log(table_lines([res])[1])  # the training line of this row, as soon as it is measured
    info["loadavg_after"] = _loadavg()
    busy = load_warning({"loadavg": info["loadavg_after"], "cpus": info["cpus"]}, threads)
    if busy:
        log(busy.replace("is loaded", "was loaded at the end"))
    out = {"suite": "alzza-bench", "version": 1, "quick": quick, "repeats": repeats, "machine": info,
           "size": args.size, "steps": args.steps,
           "torch_reference": why or "benchmarks/torch_models.py", "results": results,
           "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    log("")
    for line in table_lines(results):
        log(line)
    path = _json_path(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(out, indent=2, default=_jsonable))
    log(f"results written to {path}")
    return out


def _json_path(args) -> Path:
    return Path(args.json) if args.json else \
        Path(args.out or "runs/bench") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"


def check_options(args) -> None:
    """Refuse unknown rows and a results file that can't be written, before anything is measured."""
    from ..errors import AlzzaError
    from ..saving.atomic import target_problem

    unknown = sorted(set(args.rows or ()) - {r.name for r in ROWS})
    if unknown:
        raise AlzzaError(f"--rows: unknown rows {unknown}; known: {', '.join(r.name for r in ROWS)}")
    path = _json_path(args)
    flag = "--json" if args.json else "--out"
    problem = target_problem(path)
    if problem:
        raise AlzzaError(f"{flag} {path}: {problem}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise AlzzaError(f"{flag} {path}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise AlzzaError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:  # not on this platform
        return None


def load_warning(info, threads) -> str | None:
    """A warning line when the 1-minute load average leaves fewer free cores than ``threads``."""
    load, cpus = info.get("loadavg"), info.get("cpus") or 1
    if not load or load[0] + threads <= cpus:
        return None
    return (f"warning: the machine is loaded (load average {load[0]:.1f} on {cpus} cores, {threads} thread(s) "
            f"wanted): times are inflated and noisy; compare the same-run alzza/torch ratios only")


def _jsonable(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# ------------------------------------------------------------------------ command line
def _at_least_one(kind):
    """An argparse type: a number of ``kind`` that is > 0 (a bad value is one usage line, not a traceback)."""
    def convert(text):
        value = kind(text)
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
        return value
    convert.__name__ = kind.__name__
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..device import add_device_option

    add_device_option(parser)  # --device cuda: alzza on CuPy against the PyTorch CUDA twins
    parser.add_argument("--quick", action="store_true", help="short form (CI): batch 10 only, few repeats")
    parser.add_argument("--threads", type=_at_least_one(int), default=2,
                        help="threads for both NumPy's BLAS and torch (default 2)")
    parser.add_argument("--rows", nargs="+", metavar="ROW", help=f"only these rows ({', '.join(r.name for r in ROWS)})")
    parser.add_argument("--batch", type=_at_least_one(int), nargs="+", help="batch sizes (default 10 64; --quick: 10)")
    parser.add_argument("--repeats", type=_at_least_one(int), help="timing blocks per side (default 9; --quick: 3)")
    parser.add_argument("--target", type=_at_least_one(float),
                        help="seconds per timing block (default 0.15; --quick: 0.02)")
    parser.add_argument("--json", help="where to write the results JSON (default: --out/bench-<time>.json)")
    parser.add_argument("--out", help="run folder for the JSON when --json is not given (default runs/bench)")
    parser.add_argument("--size", type=_at_least_one(int), help="image side in pixels for the cnn rows (e.g. 192)")
    parser.add_argument("--steps", type=_at_least_one(int), help="sequence length for the rnn rows (e.g. 80)")
    parser.add_argument("--no-torch", action="store_true", help="alzza's times only")
    parser.add_argument("--no-profile", action="store_true", help="skip the GEMM profile and peak memory")
    parser.add_argument("--ops", action="store_true",
                        help="also print where alzza's step goes: CPU share per layer method, window op and GEMM "
                             "(read it at --threads 1)")
    parser.add_argument("--torch-models", help="path of the torch reference file (default benchmarks/torch_models.py)")
    parser.add_argument("--unset-openblas-env", action="store_true",
                        help="run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed (in a child process)")


def _child_env(args):
    """The environment the suite must run in, or None when this process already has it."""
    env = dict(os.environ)
    wanted = {"OPENBLAS_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads),
              "MKL_NUM_THREADS": str(args.threads)}
    env.update(wanted)
    if args.unset_openblas_env:
        for name in UNSET_ENV:
            env.pop(name, None)
    needs_child = any(os.environ.get(k) != v for k, v in wanted.items()) or (
        args.unset_openblas_env and any(name in os.environ for name in UNSET_ENV))
    if os.environ.get(CHILD_FLAG) or not needs_child:
        return None
    env[CHILD_FLAG] = "1"
    return env


def main(argv=None, log=print) -> int:
    parser = argparse.ArgumentParser(prog="alzza bench", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args, argv, log)


def run(args, argv, log=print) -> int:
    """Run the suite here, or in a child process when the BLAS environment must change first."""
    check_options(args)  # here too: a child process would only print a traceback
    env = _child_env(args)
    if env is not None:
        argv = list(sys.argv[1:] if argv is None else argv)
        unset = ", OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset" if args.unset_openblas_env else ""
        log(f"(re-running in a child process with OPENBLAS_NUM_THREADS={args.threads}{unset})")
        return subprocess.call([sys.executable, "-m", "alzza.bench.harness", *argv], env=env)
    from ..device import use_command_line_device

    use_command_line_device(getattr(args, "device", None))  # the models of the suite are built there
    run_suite(args, log)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
