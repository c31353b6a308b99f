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
import copy
import importlib.util
import itertools
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
import numpy as np

from .gemmtime import _GemmTimed, time_layer_inputs

#: environment variables recorded with every result (the BLAS reads them at load time)
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS")
#: the variables ``--unset-openblas-env`` removes
UNSET_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
LEARNING_RATE = 0.001
#: set in the child process so it does not re-run itself again
CHILD_FLAG = "ALZZA_BENCH_CHILD"


# ------------------------------------------------------------------------------ the rows
class Row:
    """One model of the table: how to build it on the alzza side, its data shapes."""

    def __init__(self, name, kind, input_shape, mode, classes, layers, *, infer=False, experiment=None,
                 needs=None, steps=None):
        self.name, self.kind = name, kind
        self.input_shape, self.mode, self.classes = tuple(input_shape), mode, classes
        self.layers, self.infer, self.experiment, self.needs = layers, infer, experiment, needs
        #: per-step targets: T steps (seqselect / seqbinary rows)
        self.steps = steps
        #: the row's own input shape when --size / --steps changed it
        self.resized_from = None

    def resized(self, size=None, steps=None):
        """This row with ``size``×``size`` images (cnn rows) or ``steps`` time steps (rnn rows)."""
        row = copy.copy(self)
        row.resized_from = None
        if (size is not None and self.kind == "cnn") or (steps is not None and self.kind == "rnn"):
            row.resized_from = list(self.input_shape)
        if size is not None and self.kind == "cnn":
            row.input_shape = (size, size) + self.input_shape[2:]
        if steps is not None and self.kind == "rnn":
            row.input_shape = (steps,) + self.input_shape[1:]
        return row

    @property
    def outputs(self):
        return 1 if self.mode == "binary" else self.classes


FLOWERS_CNN = [["conv", {"ksize": 3, "chn": 6}], ["max", {"stride": 2}],
               ["conv", {"ksize": 3, "chn": 12}], ["max", {"stride": 2}],
               ["conv", {"ksize": 3, "chn": 24}], ["avg", {"stride": 3}]]

ROWS = [
    Row("mlp-pulsar", "mlp", (8,), "binary", 2, [4]),
    Row("mlp-mnist", "mlp", (784,), "select", 10, [256, 128]),
    Row("cnn-flowers96", "cnn", (96, 96, 3), "select", 5, FLOWERS_CNN, infer=True),
    Row("residual-flower64", "cnn", (64, 64, 3), "select", 5, None, infer=True, experiment="residual-flower"),
    Row("lstm-automata", "rnn", (40, 45), "binary", 2,
        [["lstm", {"recur_size": 64, "outseq": False}]], needs="lstm"),
    # chapter 12: seqwrap(avg, conv, full) + lstm on 5 video frames, a target per step
    Row("seqwrap-videoshot", "family", (5, 90, 120, 3), "seqbinary", 2, None, experiment="videoshot-lstm-5",
        steps=5),
    # chapter 14: the mnist-eng encoder (batch norm, dense) and LSTM decoder, trained end to end
    Row("encdec-mnist-eng", "family", (784,), "seqselect", 27, None, experiment="mnist-eng-2steps", steps=6),
    # chapter 15: one discriminator step and one generator step
    Row("gan-mnist", "family", (784,), "gan", 1, None, experiment="gan-mnist-8"),
]


def row_available(row) -> str | None:
    """None when the row can run, else the reason it can't (a layer type not written yet)."""
    if row.needs is None:
        return None
    from ..layers.registry import LAYER_TYPES

    if row.needs not in LAYER_TYPES:
        return f"layer type {row.needs!r} is not in alzza yet (src/alzza/layers/recurrent.py)"
    return None


def build_alzza(row, seed=0):
    """The alzza Model of ``row`` (float32, plain SGD)."""
    from ..models import Model

    if row.kind == "family":  # the book experiment's own model, on its data set's declared shapes
        from ..data import describe_dataset
        from ..experiments import find_experiment
        from ..experiments.runner import build_model

        exp = find_experiment(row.experiment)
        dataset = describe_dataset(exp.dataset, declared_only=True)
        return build_model(exp, dataset, seed, printer=lambda *a: None)
    if row.experiment is not None:
        from ..data import make_dataset
        from ..experiments import find_experiment

        exp = find_experiment(row.experiment)
        dataset = make_dataset({"name": "dummy", "input_shape": list(row.input_shape), "classes": row.classes})
        return Model(dataset, exp.layers, name=row.name, optimizer="sgd", init=exp.init, seed=seed,
                     macros=exp.macros, head=exp.head, printer=lambda *a: None)
    return Model(None, row.layers, name=row.name, optimizer="sgd", seed=seed, input_shape=row.input_shape,
                 output_shape=(row.outputs,), mode=row.mode, printer=lambda *a: None)


def make_batch(row, batch, rng):
    """Random float32 inputs and targets (one-hot for select, 0/1 for binary, per step for seq*)."""
    if row.mode == "gan":  # real examples in the generator's range (−1, 1); no targets
        return rng.uniform(-1, 1, (batch,) + row.input_shape).astype(np.float32), None, None
    x = rng.standard_normal((batch,) + row.input_shape, dtype=np.float32)
    if row.mode == "seqbinary":
        labels = rng.integers(0, 2, (batch, row.steps))
        y = labels.astype(np.float32)[..., None]
    elif row.mode == "seqselect":
        labels = rng.integers(0, row.classes, (batch, row.steps))
        y = np.eye(row.classes, dtype=np.float32)[labels]
    elif row.mode == "binary":
        labels = rng.integers(0, 2, batch)
        y = labels.astype(np.float32).reshape(batch, 1)
    else:
        labels = rng.integers(0, row.classes, batch)
        y = np.eye(row.classes, dtype=np.float32)[labels]
    return x, y, labels


# --------------------------------------------------------------------- bare NumPy MLP
class BareMLP:
    """The same MLP's training step in a dozen lines of NumPy (relu hidden layers, SGD).

    The floor the framework is measured against on small networks: forward, the loss,
    backward and w ← w − η·g with nothing around them.
    """

    def __init__(self, sizes, mode, rng):
        self.mode = mode
        self.ws = [(rng.standard_normal((a, b)) * np.sqrt(2 / (a + b))).astype(np.float32)
                   for a, b in itertools.pairwise(sizes)]
        self.bs = [np.zeros(b, np.float32) for b in sizes[1:]]

    def step(self, x, y, lr):
        acts = [x]
        for w, b in zip(self.ws[:-1], self.bs[:-1]):            # h = relu(h·W + b)
            z = acts[-1] @ w
            z += b
            acts.append(np.maximum(z, 0, out=z))
        o = acts[-1] @ self.ws[-1]
        o += self.bs[-1]
        if self.mode == "binary":                                # sigmoid cross-entropy, dL/do = σ(o) − y
            loss = np.mean(np.maximum(o, 0) - o * y + np.log1p(np.exp(-np.abs(o))))
            g = (0.5 + 0.5 * np.tanh(0.5 * o) - y) / len(o)
        else:                                                    # softmax cross-entropy, dL/do = p − y
            e = np.exp(o - o.max(axis=1, keepdims=True))
            e /= e.sum(axis=1, keepdims=True)
            loss = -np.mean(np.log(e[y.astype(bool)]))
            g = (e - y) / len(o)
        for i in reversed(range(len(self.ws))):                  # backward and SGD, last layer first
            gw, gb = acts[i].T @ g, g.sum(axis=0)
            if i:
                g = (g @ self.ws[i].T) * (acts[i] > 0)
            self.ws[i] -= lr * gw
            self.bs[i] -= lr * gb
        return float(loss)


# ------------------------------------------------------------------------------ timing
def _calibrate(fn, target):
    """Calls per timing block so that a block lasts about ``target`` seconds."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(target / once))


def compare(sides: dict, batch, repeats, target, warmup=2):
    """Per-example seconds of each side: median, min, max over ``repeats`` blocks.

    Blocks alternate between the sides (and the order rotates every repeat), so the
    load of a shared machine falls on all of them alike.
    """
    names = list(sides)
    for name in names:
        for _ in range(warmup):
            sides[name]()
    calls = {name: _calibrate(sides[name], target) for name in names}
    samples = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn, k = sides[name], calls[name]
            start = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - start) / (k * batch))
    return {name: _stats(values) for name, values in samples.items()}


def _stats(values):
    values = sorted(values)
    return {"median": float(np.median(values)), "min": values[0], "max": values[-1], "n": len(values)}


def _ratio(a, b):
    """alzza/torch: median over median, and the range from the blocks' extremes."""
    return {"median": a["median"] / b["median"], "min": a["min"] / b["max"], "max": a["max"] / b["min"]}


# ------------------------------------------------------------------ profile and memory
def gemm_profile(model, x, y, step_seconds, steps=3):
    """Seconds per training step spent in matrix products, and their share of ``step_seconds``.

    Runs on a deep copy whose parameters are :class:`_GemmTimed` views (the wrapper's own
    overhead is outside the timed calls, so the GEMM seconds are real; the share divides
    them by the untraced step time measured in the table).
    """
    twin = copy.deepcopy(model)
    for layer in twin.network.walk():
        for key, value in list(layer.params.items()):
            layer.params[key] = value.view(_GemmTimed)
    time_layer_inputs(twin)
    xt = x.view(_GemmTimed)
    twin.train_step(xt, y, LEARNING_RATE)  # warm-up
    _GemmTimed.seconds, _GemmTimed.calls = 0.0, 0
    for _ in range(steps):
        twin.train_step(xt, y, LEARNING_RATE)
    gemm = _GemmTimed.seconds / steps
    return {"gemm_seconds_per_step": gemm, "gemm_calls_per_step": _GemmTimed.calls // steps,
            "share": min(1.0, gemm / step_seconds) if step_seconds > 0 else None}


def peak_memory(step):
    """Peak bytes newly allocated (tracemalloc: NumPy reports its buffers) during one step."""
    step()  # warm-up: buffers a layer keeps from step to step are not counted
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- environment records
def blas_info():
    """NumPy's build configuration (BLAS name and version) as a dict."""
    try:
        config = np.show_config(mode="dicts")
        deps = config.get("Build Dependencies", {})
        return {"blas": deps.get("blas"), "lapack": deps.get("lapack"),
                "simd": config.get("SIMD Extensions")}
    except Exception as exc:  # noqa: BLE001 — older NumPy: no mode="dicts"
        return {"error": f"np.show_config(mode='dicts') failed: {exc}"}


def machine_info():
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "numpy": np.__version__, "blas": blas_info(),
            "env": {name: os.environ.get(name) for name in BLAS_ENV}}
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------- torch reference
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
    if args.rows:
        unknown = set(args.rows) - {r.name for r in ROWS}
        if unknown:
            raise SystemExit(f"unknown rows {sorted(unknown)}; known: {', '.join(r.name for r in ROWS)}")
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
    path = Path(args.json) if args.json else Path(args.out or "runs/bench") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=_jsonable), encoding="utf-8")
    log(f"results written to {path}")
    return out


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
    parser.add_argument("--target", type=_at_least_one(float), help="seconds per timing block (default 0.15; --quick: 0.02)")
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
