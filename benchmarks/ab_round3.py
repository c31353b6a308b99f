"""Interleaved A/B measurements behind the issue-18 round-3 changes (docs/performance.md).

    python benchmarks/ab_round3.py            # every experiment
    python benchmarks/ab_round3.py bn relu    # only these (channelwise bn bias dk relu dcols lstm torchops dropped)

Each experiment times two or more ways of computing the same numbers on the same
arrays, alternating between them call by call, and prints the median (and the min) of
the CPU time of this thread (``time.thread_time``: it holds on a loaded machine, where
wall-clock time does not) with the ratio to the first way. One BLAS thread: run it with
``OPENBLAS_NUM_THREADS=1`` (it re-runs itself so otherwise). Seed 0 everywhere.

``lstm`` alone runs each side in its own processes, alternating: the cost it measures
(fresh multi-MB arrays faulting their pages in) depends on the allocator's state, which
one process shares between both sides.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

if os.environ.get("OPENBLAS_NUM_THREADS") != "1":  # the BLAS reads it when it loads
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    sys.exit(subprocess.call([sys.executable, *sys.argv], env=env))

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from alzza.ops.channelwise import per_channel  # noqa: E402
from alzza.ops.windows import channel_sum  # noqa: E402


def ab(ways: dict, repeats=31, inner=1) -> str:
    """Median (min) CPU seconds per call of each way, alternating; ratios to the first."""
    names = list(ways)
    times = {name: [] for name in names}
    for fn in ways.values():
        fn()
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.thread_time()
            for _ in range(inner):
                ways[name]()
            times[name].append((time.thread_time() - start) / inner)
    med = {n: float(np.median(times[n])) for n in names}
    low = {n: float(np.min(times[n])) for n in names}
    first = names[0]
    return "  ".join(
        f"{n} {med[n] * 1e3:.3f} ms ({med[n] / med[first]:.2f}; min {low[n] / low[first]:.2f})" for n in names
    )


RNG = np.random.default_rng(0)


def channelwise():
    """(M, C) ∘ (C,): plain broadcast against the widened rows of ops/channelwise."""
    for m, c in [(65536, 16), (16384, 16), (4096, 32), (1024, 64), (589824, 6)]:
        a = RNG.standard_normal((m, c), dtype=np.float32)
        v = RNG.standard_normal(c, dtype=np.float32)
        out = np.empty_like(a)
        print(
            f"  ({m}, {c})",
            ab(
                {
                    "broadcast": lambda: np.multiply(a, v, out=out),
                    "widened": lambda: per_channel(np.multiply, a, v, out=out),
                },
                inner=5,
            ),
        )


class _PreviousBatchNorm:
    """The batch norm (rescale false) as it was before this round: fresh temporaries, plain broadcasts."""

    def __init__(self, channels, eps=1e-3, ratio=1e-3):
        self.eps, self.ratio = np.float32(eps), np.float32(ratio)
        self.mean, self.var = np.zeros(channels, np.float32), np.ones(channels, np.float32)

    def forward(self, x2):
        inv_m = np.float32(1.0 / x2.shape[0])
        mean = channel_sum(x2) * inv_m
        xc = x2 - mean
        var = channel_sum(xc * xc) * inv_m
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.xhat = np.multiply(xc, self.inv_std, out=xc)
        self.mean += self.ratio * (mean - self.mean)
        self.var += self.ratio * (var - self.var)
        return self.xhat

    def backward(self, dy2):
        inv_m = np.float32(1.0 / dy2.shape[0])
        mean_d = channel_sum(dy2) * inv_m
        mean_dx = channel_sum(dy2 * self.xhat) * inv_m
        dx = self.xhat * mean_dx
        np.subtract(dy2, dx, out=dx)
        dx -= mean_d
        dx *= self.inv_std
        return dx


def bn():
    """Batch norm forward + backward (training) on the residual network's shapes, batch 64."""
    from alzza.layers.initializers import Initializer
    from alzza.layers import BuildContext
    from alzza.layers.norm import BatchNorm

    for shape in [(64, 32, 32, 16), (64, 16, 16, 16), (64, 8, 8, 32), (64, 4, 4, 64)]:
        x = np.maximum(RNG.standard_normal(shape, dtype=np.float32), 0)
        dy = RNG.standard_normal(shape, dtype=np.float32)
        old = _PreviousBatchNorm(shape[-1])
        new = BatchNorm(rescale=False)
        new.build(shape[1:], BuildContext(np.random.default_rng(0), np.dtype(np.float32), Initializer("glorot")))
        x2, dy2 = x.reshape(-1, shape[-1]), dy.reshape(-1, shape[-1])
        np.testing.assert_allclose(new.forward(x, training=True).reshape(x2.shape), old.forward(x2), atol=1e-5)
        print(
            f"  {shape}",
            ab(
                {
                    "previous": lambda: (old.forward(x.reshape(-1, shape[-1])), old.backward(dy2)),
                    "now": lambda: (new.forward(x, training=True), new.backward(dy)),
                }
            ),
        )


def bias():
    """Channels-first conv GEMMs with the bias added after / inside (a row of ones), chapter 7 CNN."""
    for k, m, f in [(27, 589824, 6), (54, 147456, 12)]:
        cols = RNG.standard_normal((k + 1, m), dtype=np.float32)
        cols[k] = 1
        plain_cols = np.ascontiguousarray(cols[:k])
        k2, b = RNG.standard_normal((k, f), dtype=np.float32), RNG.standard_normal(f, dtype=np.float32)
        dz = RNG.standard_normal((m, f), dtype=np.float32)

        def after():
            z = plain_cols.T @ k2
            z += b
            return z

        print(
            f"  forward ({k}, {m}, {f})",
            ab({"GEMM, z += b": after, "ones row": lambda: cols.T @ np.concatenate([k2, b[None]])}, 21),
        )
        print(
            f"  backward ({k}, {m}, {f})",
            ab({"dK GEMM + Σ dz": lambda: (plain_cols @ dz, channel_sum(dz)), "ones row": lambda: cols @ dz}, 21),
        )


def dk():
    """Channels-last dK = colsᵀ·dz against (dzᵀ·cols)ᵀ, (M, K, F) of the residual and CNN layers."""
    for m, k, f in [(65536, 147, 16), (16384, 144, 16), (36864, 108, 24), (4096, 288, 32), (1024, 576, 64)]:
        cols = RNG.standard_normal((m, k), dtype=np.float32)
        dz = RNG.standard_normal((m, f), dtype=np.float32)
        print(
            f"  ({m}, {k}, {f})", ab({"colsT @ dz": lambda: cols.T @ dz, "(dzT @ cols)T": lambda: (dz.T @ cols).T}, 21)
        )


def relu():
    """ReLU forward + backward on the chapter 7 CNN's conv outputs: y > 0 in backward, a mask kept
    from forward, np.where (lost)."""
    for m, f in [(589824, 6), (147456, 12), (36864, 24)]:
        z = RNG.standard_normal((m, f), dtype=np.float32)
        dy = RNG.standard_normal((m, f), dtype=np.float32)
        y, mask = np.empty_like(z), np.empty(z.shape, bool)

        def output():
            np.maximum(z, 0, out=y)
            return dy * (y > 0)

        def kept_mask():
            np.greater(z, 0, out=mask)
            np.maximum(z, 0, out=y)
            return np.multiply(dy, mask)

        def where():
            np.maximum(z, 0, out=y)
            return np.where(y > 0, dy, np.float32(0))

        print(f"  ({m}, {f})", ab({"dy·[y > 0]": output, "kept mask": kept_mask, "np.where": where}))


def dcols():
    """The channels-first dcols = K·dzᵀ fresh against into a kept buffer (with other allocations between)."""
    for k, m, f in [(54, 147456, 12), (27, 589824, 6)]:
        k2, dz = RNG.standard_normal((k, f), dtype=np.float32), RNG.standard_normal((m, f), dtype=np.float32)
        buf = np.empty((k, m), np.float32)

        def run(out):
            d = np.matmul(k2, dz.T, out=out)
            np.empty(3 * m, np.float32)[::1024] = 1  # another array of the step in between
            return d

        print(
            f"  ({k}, {m}) {k * m * 4 / 2**20:.0f} MB", ab({"fresh": lambda: run(None), "kept": lambda: run(buf)}, 21)
        )


def dropped():
    """Ideas measured and not kept (same numbers, other ways)."""
    from alzza.ops.windows import im2col_channels_last, pad_channels_last

    # the variance's square: in a kept buffer (kept) or summed by einsum
    for m, c in [(65536, 16), (16384, 16)]:
        xc = RNG.standard_normal((m, c), dtype=np.float32)
        buf = np.empty_like(xc)
        print(
            f"  variance ({m}, {c})",
            ab(
                {
                    "square in a buffer": lambda: channel_sum(np.multiply(xc, xc, out=buf)),
                    "einsum": lambda: np.einsum("ij,ij->j", xc, xc),
                }
            ),
        )
    # the residual network's first layer: keep its 38 MB columns for dK, or rebuild them in
    # cache-sized blocks in backward
    x = RNG.standard_normal((64, 64, 64, 3), dtype=np.float32)
    xp = pad_channels_last(x, (3, 2, 3, 2))
    cols = im2col_channels_last(xp, 7, 7, 2, 2, 32, 32)
    dz = RNG.standard_normal((cols.shape[0], 16), dtype=np.float32)
    block = np.empty((4 * 32 * 32, cols.shape[1]), np.float32)

    def rebuilt():
        dk = np.zeros((cols.shape[1], 16), np.float32)
        for i in range(0, 64, 4):
            part = im2col_channels_last(xp[i : i + 4], 7, 7, 2, 2, 32, 32, out=block)
            dk += part.T @ dz[i * 1024 : (i + 4) * 1024]
        return dk

    def row_blocks():
        dk = np.zeros((cols.shape[1], 16), np.float32)
        for start in range(0, cols.shape[0], 4096):
            dk += cols[start : start + 4096].T @ dz[start : start + 4096]
        return dk

    def rebuilt_transposed():
        dkt = np.zeros((16, cols.shape[1]), np.float32)
        for i in range(0, 64, 4):
            part = im2col_channels_last(xp[i : i + 4], 7, 7, 2, 2, 32, 32, out=block)
            dkt += dz[i * 1024 : (i + 4) * 1024].T @ part
        return dkt.T

    print(
        "  first-layer dK",
        ab(
            {
                "kept, (dzT @ cols)T (used)": lambda: (dz.T @ cols).T,
                "rebuilt, transposed": rebuilt_transposed,
                "kept columns": lambda: cols.T @ dz,
                "rebuilt in blocks": rebuilt,
                "row blocks summed": row_blocks,
                "dzT made contiguous": lambda: (np.ascontiguousarray(dz.T) @ cols).T,
            },
            15,
        ),
    )
    # the channels-first dK the other way round
    for k, m, f in [(28, 589824, 6), (55, 147456, 12)]:
        cf_cols = RNG.standard_normal((k, m), dtype=np.float32)
        dzf = RNG.standard_normal((m, f), dtype=np.float32)
        print(
            f"  channels-first dK ({k}, {m}, {f})",
            ab({"cols @ dz": lambda: cf_cols @ dzf, "(dzT @ colsT)T": lambda: (dzf.T @ cf_cols.T).T}, 15),
        )
    # the channels-last products with few output columns (forward z = cols·K, the stride-1
    # dx = dcols·K_flipped) the other way round, (Kᵀ·colsᵀ)ᵀ made NHWC again
    for m, k, f in [(16384, 144, 16), (4096, 288, 32), (65536, 147, 16)]:
        a, b = RNG.standard_normal((m, k), dtype=np.float32), RNG.standard_normal((k, f), dtype=np.float32)
        bt, out = np.ascontiguousarray(b.T), np.empty((m, f), np.float32)
        print(
            f"  cols·K ({m}, {k}, {f})",
            ab(
                {"cols @ K": lambda: np.matmul(a, b, out=out), "(KT @ colsT)T": lambda: np.copyto(out, (bt @ a.T).T)},
                21,
            ),
        )
    # the LSTM backward's per-step products: one broadcast or four
    gf = RNG.random((64, 4, 64), dtype=np.float32)
    dc, dh = RNG.random((64, 64), dtype=np.float32), RNG.random((64, 64), dtype=np.float32)
    da = np.empty((64, 4, 64), np.float32)

    def broadcast():
        np.multiply(dc[:, None, :], gf, out=da)
        np.multiply(dh, gf[:, 2], out=da[:, 2])

    def four():
        for j, g in ((0, dc), (1, dc), (2, dh), (3, dc)):
            np.multiply(g, gf[:, j], out=da[:, j])

    print("  LSTM step products", ab({"broadcast": broadcast, "four": four}, inner=50))


_LSTM_SIDE = """
import sys, time
import numpy as np
sys.path.insert(0, {src!r})
from alzza.bench.rows import ROWS, build_alzza, make_batch
from alzza.layers import recurrent
if {fresh}:  # every workspace a new array, as before this round
    def fresh(self, name, shape, dtype, zero=False):
        return (np.zeros if zero else np.empty)(shape, dtype=dtype)
    recurrent.RecurrentBase._workspace = fresh
row = [r for r in ROWS if r.name == "lstm-automata"][0]
model = build_alzza(row)
x, y, _ = make_batch(row, {batch}, np.random.default_rng(0))
for _ in range(3):
    model.train_step(x, y, 0.001)
times = []
for _ in range(41):
    start = time.thread_time()
    model.train_step(x, y, 0.001)
    times.append(time.thread_time() - start)
print(np.median(times))
"""


#: glibc told to keep freed memory (no trimming, no per-allocation maps below 32 MB): the
#: old code's page faults then go away too, which shows where the workspaces' gain comes from
KEEP_FREED_MEMORY = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"


def lstm(rounds=4):
    """lstm-automata training step, fresh per-batch arrays against reused workspaces (own processes),
    and fresh arrays with an allocator that keeps freed memory (GLIBC_TUNABLES)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    for batch in (10, 64):
        results = {"fresh arrays": [], "workspaces": [], "fresh arrays, memory kept": []}
        keep = dict(os.environ, GLIBC_TUNABLES=KEEP_FREED_MEMORY)
        for _ in range(rounds):
            for side, fresh, env in (
                ("fresh arrays", True, None),
                ("workspaces", False, None),
                ("fresh arrays, memory kept", True, keep),
            ):
                out = subprocess.run(
                    [sys.executable, "-c", _LSTM_SIDE.format(src=src, fresh=fresh, batch=batch)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                ).stdout
                results[side].append(float(out.split()[-1]))
        first = np.median(results["fresh arrays"])
        print(
            f"  batch {batch}",
            "  ".join(
                f"{side} {np.median(v) * 1e3:.2f} ms ({np.median(v) / first:.2f})" for side, v in results.items()
            ),
            f"(medians of {rounds} processes each)",
        )


def torchops(rows=("cnn-flowers96", "residual-flower64", "lstm-automata"), batch=64, steps=5):
    """torch's side: self CPU time per ATen op of the same training steps (torch.profiler, 1 thread)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from alzza.bench.harness import load_torch_reference
    from alzza.bench.rows import LEARNING_RATE, ROWS, build_alzza, make_batch

    torch.set_num_threads(1)
    reference, why = load_torch_reference(str(Path(__file__).resolve().parent / "torch_models.py"))
    if reference is None:
        print(f"  skipped: {why}")
        return
    for name in rows:
        row = next(r for r in ROWS if r.name == name)
        model = build_alzza(row)
        x, y, labels = make_batch(row, batch, np.random.default_rng(0))
        twin = reference.TorchTwin(model, row.mode, LEARNING_RATE, x, y, labels)
        for _ in range(3):
            twin.train_step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                twin.train_step()
        events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
        total = sum(e.self_cpu_time_total for e in events)
        print(f"  {name} batch {batch}: {total / steps / 1e3:.1f} ms self CPU per step (profiled)")
        for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]:
            print(f"      {e.key:<44} {e.self_cpu_time_total / total * 100:5.1f} %")


EXPERIMENTS = {
    "channelwise": channelwise,
    "bn": bn,
    "bias": bias,
    "dk": dk,
    "relu": relu,
    "dcols": dcols,
    "lstm": lstm,
    "torchops": torchops,
    "dropped": dropped,
}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(EXPERIMENTS)
    unknown = [name for name in chosen if name not in EXPERIMENTS]
    if unknown:
        sys.exit(f"unknown experiments {unknown}; known: {', '.join(EXPERIMENTS)}")
    for name in chosen:
        print(f"{name}: {EXPERIMENTS[name].__doc__.splitlines()[0]}")
        EXPERIMENTS[name]()
