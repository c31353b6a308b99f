"""The task of a shapes-only experiment: build the model, count its parameters.

The chapter 9 experiments on the ``dummy`` data set (Inception v3, VGG-19, ResNet-34,
ResNet-152) have no examples to train on; the book's figure for them is a parameter
count. ``python -m alzza.reproduce.count NAME --out DIR`` builds the model, writes the
structure dump to the log and a result.json whose ``metrics`` hold ``parameters``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..version import __version__
from ..errors import AlzzaError
from ..experiments.fingerprint import fingerprint


def count_parameters(experiment, out, data_dir=None, printer=print) -> dict:
    """Build ``experiment``'s model and write its parameter count to ``<out>/result.json``."""
    from ..data import make_dataset
    from ..experiments import find_experiment
    from ..experiments.runner import DEFAULT_SEED, _plain, write_json_atomic
    from ..experiments.runner import build_model

    exp = find_experiment(experiment)
    seed = exp.seed if exp.seed is not None else DEFAULT_SEED
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    dataset = make_dataset(exp.dataset, data_dir=data_dir, seed=seed)
    model = build_model(exp, dataset, seed, printer)
    printer(model.summary(print_it=False))
    parameters = model.parameter_count()
    record = {
        "experiment": exp.name, "chapter": exp.chapter, "title": exp.title, "kind": exp.kind,
        "dataset": str(dataset), "dataset_spec": exp.dataset, "metrics": {"parameters": parameters},
        "book": _plain(exp.book), "epochs": 0, "train_seconds": None, "seed": seed, "version": __version__,
        "fingerprint": fingerprint(exp, exp.train, seed, None), "data_source": getattr(dataset, "source", ""),
        "parameters": parameters, "pictures": {}, "build_seconds": round(time.perf_counter() - start, 3),
    }
    write_json_atomic(out_dir / "result.json", record)
    printer(f"{exp.name}: {parameters:,} parameters (book: {exp.book.get('parameters', '—')})")
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alzza.reproduce.count",
                                     description="Build an experiment's model and record its parameter count.")
    parser.add_argument("experiment", metavar="NAME-or-FILE")
    parser.add_argument("--out", required=True, help="the run folder (result.json goes there)")
    parser.add_argument("--data-dir", help="folder holding the data files")
    args = parser.parse_args(argv)
    try:
        count_parameters(args.experiment, args.out, args.data_dir)
    except AlzzaError as exc:
        print(f"alzza: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
