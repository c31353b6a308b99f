"""How many threads the BLAS library under NumPy uses: ``alzza run --threads N``.

A matrix product split over more threads adds its partial sums in another order, and in
float32 that moves a training run the way another seed does (flowers-cnn-dropout at seed
1234: 0.396 on one thread, 0.512 on two). So a figure is exactly reproducible only with the
thread count it was made with: docs/reproduction.md's runs used one (``alzza reproduce
--threads 1``), and ``alzza run NAME --threads 1`` gives them back on the same kind of
machine. result.json records the count a run used (``blas_threads``).

threadpoolctl sets the count at run time (the environment variables OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS only act before NumPy is first imported).
"""

from __future__ import annotations

from contextlib import nullcontext


def blas_threads(count: int | None):
    """A context in which the BLAS library uses ``count`` threads (None: as it is)."""
    if count is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=count, user_api="blas")


def current_blas_threads() -> int | None:
    """The threads the BLAS library uses now (the largest over its libraries), or None when
    threadpoolctl finds none."""
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return max(counts) if counts else None
