"""The Transformer rows with another feed-forward activation: how much of the gap is the exact GELU.

    python benchmarks/transformer_act.py [--acts gelu gelu_tanh relu] [--batch 32] [--repeats 5]

The bench's ``transformer-encoder`` / ``transformer-decoder`` rows (alzza.bench.rows) use the
exact GELU, y = z·Φ(z), whose Φ alzza computes with its own erf (alzza.ops.erf, a 17-term
Chebyshev series in NumPy) in forward and again in backward. This script times the same rows
with each activation in ``--acts`` against their torch twins (``nn.GELU()``,
``nn.GELU(approximate='tanh')``, ``nn.ReLU``), 1 thread, seed 0, through the harness's own
:func:`~alzza.bench.harness.run_row`, and prints alzza / torch per example.
"""

from __future__ import annotations

import argparse
import os
import sys

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def main(argv=None):
    from alzza.bench.harness import load_torch_reference, run_row
    from alzza.bench.rows import Row, transformer_layers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--acts", nargs="+", default=["gelu", "gelu_tanh", "relu"])
    parser.add_argument("--blocks", nargs="+", default=["encoder_pre", "decoder_pre"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", type=float, default=0.3, help="seconds per timing block")
    args = parser.parse_args(argv)
    reference, why = load_torch_reference()
    if reference is None:
        raise SystemExit(why)
    reference.set_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; batch {args.batch}, 1 thread, median (min–max) of "
          f"{args.repeats} alternating blocks")
    for block in args.blocks:
        for act in args.acts:
            layers = transformer_layers(block)
            for spec in layers:
                if spec[0] == "custom":
                    spec[1]["args"]["#act"] = act
            row = Row(f"{block}-{act}", "transformer", (64,), "seqselect", 64, layers, steps=64)
            res = run_row(row, args.batch, reference, repeats=args.repeats, target=args.target, profile=False,
                          log=lambda *a: None)
            a, t, r = res["train"]["alzza"], res["train"]["torch"], res["train_ratio"]
            print(f"{row.name:<24} alzza {a['median'] * 1e6:8.0f} µs/ex  torch {t['median'] * 1e6:8.0f} µs/ex  "
                  f"alzza/torch {r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
