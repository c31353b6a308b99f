"""``alzza summary``: a model's structure from declared shapes — no data file read, no weights drawn."""

from __future__ import annotations

from ..user_code import add_import_option


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "summary", help="print a model's structure",
        description="The structure dump: nested layers, input -> output shapes, parameter counts, total.")
    p.add_argument("experiment", metavar="NAME-or-FILE", help="a name from 'alzza list' or an experiment .yaml file")
    p.add_argument("--data-dir", help="folder holding the data files (else $ALZZA_DATA, else the per-user cache)")
    p.add_argument("--lang", choices=("en", "ko"), default="en",
                   help="en: alzza's summary; ko: the book's numbered structure dump (chapter 9's form)")
    add_import_option(p)


def run(args, out=print) -> int:
    """Declared shapes, no weights drawn: no data file is read, VGG-19's 143 M weights are never allocated."""
    from ..data import describe_dataset
    from ..experiments import find_experiment
    from ..experiments.runner import build_model

    exp = find_experiment(args.experiment)
    dataset = describe_dataset(exp.dataset, data_dir=args.data_dir, seed=exp.seed or 0)
    model = build_model(exp, dataset, seed=0, printer=out, allocate=False)
    if getattr(args, "lang", "en") == "ko":
        from ..book.structure import dump_structure

        dump_structure(model, out)
    else:
        model.summary(print_it=True)
    return 0

