"""``alzza generate NAME-or-RUN``: print sequences written by a trained decoder-only model.

NAME is an experiment run with ``alzza run`` (its folder ``runs/NAME``), RUN a run folder
or a ``model.npz``. The symbols come from the run's data set (result.json beside the
model); for ``expressions`` the grammar (:func:`~alzza.data.generators.expression_grammar.is_sentence`)
then says which samples are valid expressions, and the share is printed last. The
sampling (temperature, top-k, seed) is :mod:`alzza.models.generation`'s.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import AlzzaError

#: the longest printed sample list (all are still counted)
PRINT_LIMIT = 50


def add_parser(subparsers):
    p = subparsers.add_parser(
        "generate", help="print sequences written by a trained decoder-only model",
        description="Sample new sequences from a trained next-symbol model (e.g. expressions-lstm-lm): start "
                    "from the end mark, draw each next symbol from softmax(scores / temperature) over the top-k, "
                    "stop at the end mark. For the expressions data set the share the grammar accepts is printed.")
    p.add_argument("source", metavar="NAME-or-RUN", help="an experiment name (runs/NAME), a run folder or a model.npz")
    p.add_argument("--count", type=int, default=10, help="sequences to write (default 10)")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature; 0 = always the top symbol "
                                                                  "(default 1)")
    p.add_argument("--top-k", type=int, default=None, help="draw only among the k best symbols (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    return p


def model_file(source: str) -> Path:
    """The model.npz that ``source`` names (see the module docstring), or an AlzzaError."""
    path = Path(source)
    candidates = [path] if path.suffix == ".npz" else [path / "model.npz", Path("runs") / source / "model.npz"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AlzzaError(f"generate: no trained model at {' or '.join(map(str, candidates))}; train one with "
                     f"'alzza run NAME' first (it writes runs/NAME/model.npz)")


def symbols_of(folder: Path, vocabulary: int):
    """(symbols, data set name) from the run's result.json; numbered symbols when it is not there."""
    try:
        record = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        spec = record.get("dataset_spec")
        name = spec if isinstance(spec, str) else spec.get("name") if isinstance(spec, dict) else None
    except (OSError, ValueError, AttributeError):
        name = None
    if name == "expressions":
        from ..data.sets.expression_text import SYMBOLS

        if len(SYMBOLS) == vocabulary:
            return SYMBOLS, name
    return tuple(f"<{k}>" for k in range(vocabulary)), name


def run(args, out=print) -> int:
    import numpy as np

    from ..models.generation import check_decoder_only, generate
    from ..saving.model_files import load_model

    if args.count < 1 or args.temperature < 0 or not np.isfinite(args.temperature) \
            or (args.top_k is not None and args.top_k < 1) or args.seed < 0:
        raise AlzzaError("generate: --count and --top-k must be at least 1, --temperature a finite number >= 0, "
                         "--seed >= 0")
    path = model_file(args.source)
    model = load_model(path, printer=lambda *a: None)
    _, vocabulary = check_decoder_only(model)
    symbols, dataset = symbols_of(path.parent, vocabulary)
    rng = np.random.default_rng(args.seed)
    samples = generate(model, args.count, rng, temperature=args.temperature, top_k=args.top_k)
    texts = ["".join(symbols[k] for k in ids) for ids in samples]
    for text in texts[:PRINT_LIMIT]:
        out(text)
    if len(texts) > PRINT_LIMIT:
        out(f"... ({len(texts) - PRINT_LIMIT} more)")
    settings = f"seed {args.seed}, temperature {args.temperature:g}, top-k {args.top_k or 'all'}"
    if dataset == "expressions":
        from ..data.generators.expression_grammar import is_sentence

        valid = sum(is_sentence(text) for text in texts)
        out(f"{valid} of {len(texts)} samples ({100 * valid / len(texts):.1f}%) are valid expressions "
            f"(expression_grammar.is_sentence; {settings})")
    else:
        out(f"{len(texts)} samples ({settings})")
    return 0
