"""Run the benchmark suite: ``python benchmarks/run.py [--quick] [--rows ...]``.

The same code as ``alzza bench`` (see :mod:`alzza.bench.harness`). The BLAS thread
variables are set before NumPy loads when they are not given, so no child process is
needed in the common case.
"""

import os
import sys


def _threads(argv):
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "2"


if __name__ == "__main__":
    n = _threads(sys.argv[1:])
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, n)
    from alzza.bench.harness import main

    sys.exit(main(sys.argv[1:]))
