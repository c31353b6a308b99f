"""Generation with the key/value cache: the cost of token t, cached and over the full prefix (issue 24).

    python benchmarks/generation_cache.py [--steps 128] [--batch 1] [--repeats 5] [--out DIR]

The model is the bench's ``transformer-decoder`` (alzza.bench.rows: embed, posenc, two pre-norm
causal blocks, d_model 128, 4 heads, FFN 512, GELU, a 64-symbol vocabulary), built with a
positional table of ``--steps`` rows, seed 0. For every position t = 0 … steps−1 it times
producing the scores of token t for ``--batch`` sequences:

- cached: one ``NetworkStepper.step`` (alzza.models.stepping) — one step of every layer and
  attention over the t + 1 cached keys and values;
- full prefix: ``model.forward`` over the t + 1 tokens so far (what generation costs without
  the cache: every earlier step is computed again).

Each cost is the minimum over ``--repeats`` runs (a fresh stepper replayed up to t for each
run; only step t is timed). The cached scores are checked against the full forward's last step
before anything is timed. Writes ``generation-cache-b<batch>.json`` and ``.png`` (log
scale) to ``--out`` and prints a table of every 8th position. Set one BLAS thread
(OPENBLAS_NUM_THREADS=1) before starting; the script sets it when it is not set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402 — after the BLAS thread variables, which it reads when it loads


def build(steps):
    from alzza.bench.rows import Row, build_alzza, transformer_layers

    row = Row("transformer-decoder", "transformer", (steps,), "seqselect", 64, transformer_layers("decoder_pre"),
              steps=steps)
    return build_alzza(row, seed=0)


def cached_costs(model, ids, repeats):
    """Seconds of step t (min over ``repeats`` replays), and the scores of every step."""
    from alzza.models.stepping import stepper_for

    steps = ids.shape[1]
    best = np.full(steps, np.inf)
    scores = None
    for _ in range(repeats):
        stepper = stepper_for(model)
        if stepper is None:
            raise SystemExit("the decoder is not steppable: alzza.models.stepping refused it")
        outs = []
        for t in range(steps):
            start = time.perf_counter()
            outs.append(stepper.step(ids[:, t]))
            best[t] = min(best[t], time.perf_counter() - start)
        scores = np.stack(outs, axis=1)
    return best, scores


def full_costs(model, ids, repeats):
    """Seconds of a forward over the first t + 1 tokens, for every t (min over ``repeats``)."""
    from alzza.sequences import Sequences

    n, steps = ids.shape
    best = np.full(steps, np.inf)
    for _ in range(repeats):
        for t in range(steps):
            prefix = Sequences(ids[:, :t + 1], np.full(n, t + 1, dtype=np.int64))
            start = time.perf_counter()
            model.forward(prefix)
            best[t] = min(best[t], time.perf_counter() - start)
    return best


def picture(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(1, len(result["cached_ms"]) + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(t, result["full_prefix_ms"], label="full prefix (no cache)")
    ax.plot(t, result["cached_ms"], label="key/value cache")
    ax.set_yscale("log")
    ax.set_xlabel("position of the generated token t")
    ax.set_ylabel("ms for token t (min of repeats)")
    ax.set_title(f"transformer-decoder, batch {result['batch']}, 1 thread, seed 0")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=128, help="positions to generate (default 128)")
    parser.add_argument("--batch", type=int, default=1, help="sequences generated together (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per cost; the minimum is kept (default 5)")
    parser.add_argument("--out", default="benchmarks/results", help="folder for the JSON and the picture")
    args = parser.parse_args(argv)
    if min(args.steps, args.batch, args.repeats) < 1:
        parser.error("--steps, --batch and --repeats must be at least 1")
    model = build(args.steps)
    ids = np.random.default_rng(0).integers(0, 64, (args.batch, args.steps)).astype(np.float32)
    full_out = model.forward(ids)
    cached, scores = cached_costs(model, ids, 1)
    gap = float(np.max(np.abs(scores - np.asarray(getattr(full_out, "data", full_out)))))
    if gap > 1e-3:
        raise SystemExit(f"the cached steps differ from the full forward by {gap}: not timing a wrong answer")
    cached, _ = cached_costs(model, ids, args.repeats)
    full = full_costs(model, ids, args.repeats)
    result = {"model": "transformer-decoder (alzza.bench.rows)", "steps": args.steps, "batch": args.batch,
              "repeats": args.repeats, "seed": 0, "threads": os.environ.get("OPENBLAS_NUM_THREADS"),
              "max_abs_gap_cached_vs_full": gap, "loadavg_start_end": None,
              "cached_ms": (cached * 1e3).tolist(), "full_prefix_ms": (full * 1e3).tolist(),
              "numpy": np.__version__, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    os.makedirs(args.out, exist_ok=True)
    print(f"{'t':>4}  {'cached ms':>10}  {'full prefix ms':>15}  {'full/cached':>11}")
    for t in list(range(0, args.steps, 8)) + ([args.steps - 1] if (args.steps - 1) % 8 else []):
        print(f"{t + 1:>4}  {cached[t] * 1e3:10.3f}  {full[t] * 1e3:15.3f}  {full[t] / cached[t]:11.1f}")
    half = args.steps // 2
    if half:
        early, late = np.median(cached[:half]), np.median(cached[half:])
        print(f"cached, median of the first half / second half of the positions: {early * 1e3:.3f} / "
              f"{late * 1e3:.3f} ms (ratio {late / early:.2f})")
        result["cached_median_halves_ms"] = [early * 1e3, late * 1e3]
    return result, args.out


if __name__ == "__main__":
    load = os.getloadavg()
    res, out = main(sys.argv[1:])
    res["loadavg_start_end"] = [list(load), list(os.getloadavg())]
    name = os.path.join(out, f"generation-cache-b{res['batch']}")
    with open(name + ".json", "w") as f:
        json.dump(res, f, indent=1)
    picture(res, name + ".png")
    print(f"load average at start {load[0]:.1f}, at end {res['loadavg_start_end'][1][0]:.1f}; wrote {name}.json, .png")
