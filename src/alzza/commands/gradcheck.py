"""``alzza gradcheck NAME-or-FILE``: check every gradient of an experiment's model on real examples.

The model is built as ``alzza run`` builds it, but in float64. Every model is parts and
chains through them (:mod:`alzza.models.parts`): a plain network has one chain, a family
one per training path (the autoencoder's reconstruction and supervised paths, the
encoder-decoder's both / encoder / decoder modes, the GAN's discriminator and generator
steps). Each chain is fed a few training examples as it sees them in training
(:meth:`~alzza.models.family.FamilyModel.gradient_checks`: the GAN's discriminator real
and generated examples, its generator seeds); each top-level layer on it is checked on
the activations the chain feeds it (dL/dx and its parameters, against central
differences at its own weights), and then the whole chain — head, decay terms and all —
through ``loss_and_backward``, for the weights that chain trains. One table per chain. The
relative error is ‖a − n‖ / (‖a‖ + ‖n‖) (see :mod:`alzza.testing`), the smallest over
central-difference steps 1e-6…1e-2 (unscaled inputs make small steps round-off noise); a
correct float64 backward gives ~1e-9, a wrong formula ~0.1–1. Layers that draw random
numbers while training draw the same ones at every evaluation. Exit status 1 when any error is not below ``--tol``.
"""

from __future__ import annotations

import copy

import numpy as np

from ..device import add_device_option, to_host
from ..errors import AlzzaError
from ..user_code import add_import_option
from .argtypes import positive_finite_float

#: a correct float64 backward is ~1e-9; a wrong formula ~0.1–1
DEFAULT_TOL = 1e-6
#: central-difference steps tried per array; the best one counts (see alzza.testing._compare)
#: (small steps cross fewer ReLU kinks in a big first layer; big ones beat round-off on unscaled inputs)
STEPS = (1e-6, 1e-7, 1e-8, 1e-5, 1e-4, 1e-3, 1e-2)
#: the per-layer checks see their real input plus noise of this share of its spread: exact ties
#: (ReLU zeros in one max-pool window) have no derivative at all
JITTER = 1e-3


def add_parser(subparsers):
    p = subparsers.add_parser(
        "gradcheck", help="check an experiment's gradients numerically (float64)",
        description="Build the experiment's model in float64 and compare every layer's and the whole model's "
                    "gradients with central differences on a few real training examples. Prints a table "
                    "(check, parameter, relative error, verdict) — for a family (autoencoder, encoder-decoder, "
                    "GAN) one per training chain; exits 1 when any error is not below --tol.")
    p.add_argument("experiment", metavar="NAME-or-FILE", help="a name from 'alzza list' or an experiment .yaml file")
    p.add_argument("--data-dir", help="folder holding the data files (else $ALZZA_DATA, else the per-user cache)")
    p.add_argument("--examples", type=int, default=3, help="training examples fed to the checks (default 3)")
    p.add_argument("--entries", type=int, default=10,
                   help="entries checked per array, chosen at random (default 10; 0 = all)")
    p.add_argument("--tol", type=positive_finite_float, default=DEFAULT_TOL,
                   help=f"tolerance on the relative error, a positive number (default {DEFAULT_TOL:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and of the sampled entries (default 0)")
    add_device_option(p)
    add_import_option(p)
    return p


def gradient_rows(chain, x, y, *, entries=None, seed: int = 0, whole: str = "model",
                  problems: list | None = None) -> list[tuple[str, str, float]]:
    """(check, parameter, relative error) for every top-level layer of every part on
    ``chain`` (a :class:`~alzza.models.parts.Chain`, or a Model: its chain) on the
    activations it receives from ``x``, then, labelled ``whole``, for every weight the
    chain trains through the whole chain.

    A layer whose forward or backward breaks the contract (a wrong shape, None, not an
    array) or raises is a row with error ``inf`` (a FAIL) and a line in ``problems``
    naming the layer and what is wrong; the layers after it are not checked (their input
    would be wrong), and the whole-chain check says it can't run."""
    from ..models.parts import _to_shape
    from ..testing import check_built_layer_gradients, check_model_gradients

    problems = [] if problems is None else problems
    chain = getattr(chain, "chain", chain)
    rows = []
    rng = np.random.default_rng(seed)
    activation = chain.runtime.cast(x)
    # a chain whose parts do not feed each other in a line (the translator's decoder reads the
    # targets, and the encoder's output as a memory) says what enters each part
    entering = chain.part_inputs(x, y) if hasattr(chain, "part_inputs") else None
    broken = False
    for i, part in enumerate(chain.route):
        if broken:
            break
        activation = entering[i] if entering is not None else _to_shape(activation, part.input_shape)
        for layer in part.network.layers:
            probe = copy.deepcopy(layer)  # checked at the model's weights, without touching them
            # token ids (an embedding's input) are data, not a point to jitter
            given = activation if layer.type_name == "embed" else _jittered(activation, rng)
            try:
                errors = check_built_layer_gradients(probe, given,
                                                     rng=np.random.default_rng(seed), entries=entries, eps=STEPS,
                                                     training=True)
                for name, error in errors.items():
                    if error is not None:
                        rows.append((layer.path, "dL/dx" if name == "x" else name, error))
                activation = layer.forward(activation, training=False)
            except Exception as exc:  # noqa: BLE001 — the layer's own code (a user's): report it, don't crash
                rows.append((layer.path, "contract", float("inf")))
                problems.append(_problem(layer, exc))
                broken = True
                break
    if broken:
        rows.append((whole, "(not checked: a layer above is broken)", float("inf")))
        return rows
    try:
        errors = check_model_gradients(chain, x, y, entries=entries, eps=STEPS, rng=np.random.default_rng(seed))
    except Exception as exc:  # noqa: BLE001
        rows.append((whole, "contract", float("inf")))
        problems.append(f"{whole}: the whole-chain check failed: {type(exc).__name__}: {exc}")
        return rows
    rows += [(whole, name, error) for name, error in errors.items()]
    return rows


def _problem(layer, exc) -> str:
    """One line: the layer and what its code did wrong."""
    from ..errors import AlzzaError

    text = str(exc)
    where = layer.path or layer.type_name
    if isinstance(exc, AlzzaError):
        return text if text.startswith(where) else f"{where}: {text}"
    return f"{where}: its forward or backward raised {type(exc).__name__}: {text}"


def _jittered(x, rng):
    """A float64 copy of ``x`` (array or Sequences) with noise of JITTER times its spread added."""
    from ..sequences import Sequences

    data = x.data if isinstance(x, Sequences) else x
    data = np.array(to_host(data), dtype=np.float64)  # drawn on the host; the check moves it to the device
    data += rng.standard_normal(data.shape) * (JITTER * (float(data.std()) or 1.0))
    return Sequences(data, x.lengths) if isinstance(x, Sequences) else data


def run(args, out=print) -> int:
    from ..data import make_dataset
    from ..experiments import find_experiment
    from ..experiments.runner import build_model

    exp = find_experiment(args.experiment)
    if args.examples < 1 or args.entries < 0:
        raise AlzzaError("--examples must be at least 1 and --entries at least 0")
    dataset = make_dataset(exp.dataset, data_dir=args.data_dir, seed=exp.seed or 0)
    model = build_model(exp, dataset, args.seed, out, dtype="float64")
    checks = model.gradient_checks(args.examples)
    if any(len(x) == 0 for _, x, _ in checks):
        raise AlzzaError(f"{exp.name}: the data set has no training examples to check on")
    family = exp.kind != "network"
    whole = "chain" if family else "model"
    problems: list[str] = []
    tables = [(chain, len(x), gradient_rows(chain, x, y, entries=args.entries or None, seed=args.seed, whole=whole,
                                            problems=problems))
              for chain, x, y in checks]

    entries = f"up to {args.entries} entries per array" if args.entries else "every entry"
    examples = (f"{exp.kind}, {len(tables)} chains, up to {args.examples} training examples each as the chain "
                "sees them" if family else f"{tables[0][1]} training examples")
    out(f"Gradient check of {exp.name} on {model.device.name}: float64, {examples}, {entries}, tolerance {args.tol:g}")
    headers = ("check", "parameter", "relative error", "verdict")
    failed, total = [], 0
    for chain, n, rows in tables:
        if family:
            parts = " → ".join(part.name for part in chain.route)
            trained = ", ".join(part.name for part in chain.trained)
            out(f"chain {chain.name}: {parts} (trains {trained}; {n} examples)")
        table = [(check, name, f"{error:.2e}", "ok" if error < args.tol else "FAIL") for check, name, error in rows]
        widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
        out("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip())
        for row in table:
            out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
        failed += [row for row in table if row[3] == "FAIL"]
        total += len(table)
    if not failed:
        out(f"all {total} gradients agree with central differences (relative error < {args.tol:g})")
        return 0
    for problem in dict.fromkeys(problems):
        out(f"FAIL {problem}")
    layers = list(dict.fromkeys(r[0] for r in failed if r[0] != whole))
    where = f"; the backward of {', '.join(layers)} disagrees with its forward" if layers else ""
    out(f"{len(failed)} of {total} gradients differ from central differences "
        f"(relative error >= {args.tol:g}){where}")
    return 1
