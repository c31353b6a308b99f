"""``alzza bench``: time training steps against PyTorch, per example (the benchmark suite)."""

from __future__ import annotations

from ..bench.harness import add_arguments


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="time training steps against PyTorch (the benchmark suite)",
        description="Time one training step per example, alzza against the same model in PyTorch (CPU), "
                    "and print the ratio per row; results go to a JSON file. Same code as benchmarks/run.py.")
    add_arguments(p)


def run(args, out=print) -> int:
    from ..bench.harness import run as run_bench

    return run_bench(args, bench_argv(args), out)


def bench_argv(args) -> list[str]:
    """The bench options of ``args`` as command-line words (for the child process that sets the BLAS env)."""
    words = []
    for flag in ("quick", "no_torch", "no_profile", "ops", "unset_openblas_env"):
        if getattr(args, flag):
            words.append("--" + flag.replace("_", "-"))
    for key in ("threads", "repeats", "target", "json", "torch_models", "out", "size", "steps"):
        value = getattr(args, key)
        if value is not None:
            words += ["--" + key.replace("_", "-"), str(value)]
    for key in ("rows", "batch"):
        values = getattr(args, key)
        if values:
            words += ["--" + key, *map(str, values)]
    return words

