"""Every shipped experiment's architecture, exported to ONNX and run in onnxruntime.

Each experiment's model is built as ``alzza run`` builds it (the catalogue's layers,
macros, head and family kind) for its data set, with random weights (no training), and
every graph it exports (see :mod:`alzza.export.plans`) must pass ``onnx.checker`` and
equal its alzza reference (``predict``, ``encode``, ``generate`` ...) within 1e-4 on
random float32 inputs; sequence inputs get random lengths (variable-length batches).

The data sets are built from small files this module writes in the real formats (the
same writers as the smoke tests), so the shapes are those of the shipped experiments
without reading the real data: image sizes come from the experiments' own
``resolution`` options, MNIST is 28×28, the tabular sets have their real columns. The
five ImageNet-sized chapter 9 models (vgg-19, plain-34, residual-34, bottleneck-152,
inception-v3) are built on a reduced input (``REDUCED``) — the same layers and
options, smaller images, with ``stride_rule: ceil`` (TensorFlow's ⌈H / s⌉, under which
those sizes fit every layer; the book's H // s needs their full 224 / 299) — so that
building and running them stays quick.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from _family_data import tiny_data_dir  # noqa: E402
from _image_data import write_flowers  # noqa: E402
from conftest import TabularFiles  # noqa: E402
from test_audio import write_fsdd  # noqa: E402
from test_video import TINY as TINY_VIDEO  # noqa: E402

from alzza.data import make_dataset  # noqa: E402
from alzza.experiments.catalogue import list_experiments  # noqa: E402
from alzza.experiments.runner import build_model  # noqa: E402
from alzza.export import graph_names, to_onnx  # noqa: E402
from alzza.export.plans import plans_of  # noqa: E402
from alzza.export.verify import compare  # noqa: E402

TOL = 1e-4
#: input shapes of the ImageNet-sized chapter 9 models here (their smallest sizes that every layer fits)
REDUCED = {"vgg-19": [32, 32, 3], "plain-34": [32, 32, 3], "residual-34": [32, 32, 3],
           "bottleneck-152": [32, 32, 3], "inception-v3": [75, 75, 3]}
EXPERIMENTS = list_experiments()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx-data")
    files = TabularFiles()
    files.abalone(root)
    files.pulsar(root)
    files.faults(root)
    write_flowers(root)
    tiny_data_dir(root)
    write_fsdd(root, per=2, offset=5)   # ≥ 100 ms: one 100 ms window at least
    return root


@pytest.fixture(scope="module")
def datasets(data_dir, tmp_path_factory):
    """Data sets by their spec (built once each), from the small files."""
    cache: dict = {}
    mp = pytest.MonkeyPatch()
    mp.setenv("ALZZA_CACHE", str(tmp_path_factory.mktemp("onnx-cache")))
    mp.delenv("ALZZA_DATA", raising=False)

    def get(spec):
        key = json.dumps(spec, sort_keys=True)
        if key not in cache:
            cache[key] = make_dataset(spec, data_dir=data_dir, seed=0)
        return cache[key]

    yield get
    mp.undo()


def with_ceil_rule(spec):
    """``spec`` with ``stride_rule: ceil`` on every conv and pool (TensorFlow's ⌈H / s⌉)."""
    if isinstance(spec, list):
        out = [with_ceil_rule(item) for item in spec]
        if out and out[0] in ("conv", "max", "avg"):
            options = dict(out[1]) if len(out) > 1 and isinstance(out[1], dict) else {}
            out = [out[0], {**options, "stride_rule": "ceil"}] + [x for x in out[1:] if not isinstance(x, dict)]
        return out
    if isinstance(spec, dict):
        return {key: with_ceil_rule(value) for key, value in spec.items()}
    return spec


def dataset_spec(exp):
    spec = exp.dataset if isinstance(exp.dataset, dict) else {"name": exp.dataset}
    if exp.name in REDUCED:
        spec = {**spec, "input_shape": REDUCED[exp.name]}
    if spec["name"].startswith("videoshot"):
        spec = {**spec, **TINY_VIDEO}   # a short stand-in movie: same frames and steps, fewer shots
    return spec


def randomise(model, seed=0):
    """Random weights ~ N(0, 1/fan_in) (deep nets' activations stay finite), biases ~ N(0, 0.1),
    γ ~ 1 + N(0, 0.1), batch-norm means ~ N(0, 0.1) and variances in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    for layer in model.network.walk():
        for key, value in layer.params.items():
            if value.ndim > 1:
                std = np.float32(1.0 / np.sqrt(np.prod(value.shape[:-1])))
                value[...] = rng.standard_normal(value.shape, dtype=np.float32) * std
            else:
                value[...] = (1.0 if key == "gamma" else 0.0) + rng.normal(0.0, 0.1, value.shape)
        for key, value in layer.state.items():
            value[...] = rng.uniform(0.5, 1.5, value.shape) if key == "var" else rng.normal(0.0, 0.1, value.shape)


def informative_logits(model, plan, rng):
    """Rescale a plain network's output layer so that its logits have std 1 on random inputs:
    a softmax neither uniform nor one-hot, so the comparison sees every logit."""
    from alzza.export.verify import random_inputs
    from alzza.sequences import seq_data

    output = model.layers[-1]
    dense = output.layers[0] if hasattr(output, "layers") else output
    x, _ = random_inputs(plan, 4, rng)
    std = float(np.std(seq_data(model.forward(x))))
    if np.isfinite(std) and std > 0:
        for value in dense.params.values():
            value *= np.float32(1.0 / std)


def test_every_shipped_experiment_is_covered():
    assert len(EXPERIMENTS) >= 97
    assert set(REDUCED) <= {e.name for e in EXPERIMENTS}


# the Transformer rows read token ids: the verifier draws ids for a network that starts with embed
@pytest.mark.parametrize("exp", EXPERIMENTS, ids=[e.name for e in EXPERIMENTS])
def test_shipped_architecture_exports_and_matches_predict(exp, datasets):
    exp = dataclasses.replace(exp, show=0)
    if exp.name in REDUCED:  # their reduced sizes fit under the ceil rule (the book's needs 224 / 299)
        exp = dataclasses.replace(exp, layers=with_ceil_rule(exp.layers), macros=with_ceil_rule(exp.macros))
    dataset = datasets(dataset_spec(exp))
    model = build_model(exp, dataset, seed=0, printer=lambda *_: None)
    randomise(model)
    names = graph_names(model)
    # the default graph: a GAN's generator, a translator's encoder (its decoder loop is not exported)
    assert names[0] == {"gan": "generator", "translator": "encoder"}.get(exp.kind, "predict")
    if exp.kind == "network":
        informative_logits(model, plans_of(model)["predict"], np.random.default_rng(1))
    big = exp.name in REDUCED
    for part in names:
        proto = to_onnx(model, part=part, check=False)
        onnx.checker.check_model(proto, full_check=True)
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["experiment"] == exp.name and meta["graph"] == part
        plan = plans_of(model)[part]
        # the big models: onnxruntime without its graph optimisations (quicker to start, same numbers)
        diff, got, want = compare(model, proto, plan, count=3 if big else 5, optimize=not big)
        assert got.shape == want.shape and np.isfinite(got).all()
        assert diff <= TOL, f"{exp.name} ({part}): onnxruntime differs from alzza by {diff}"
