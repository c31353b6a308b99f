"""AdamW, gradient clipping by global norm and the warmup schedules: against their plain
rules written out here, and against torch (torch.optim.AdamW, clip_grad_norm_)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alzza.errors import ExperimentError, SpecError, TrainingError
from alzza.training.optimizers import SGD, Adam, AdamW, Slot, make_optimizer
from alzza.training.schedules import WarmupCosine, WarmupInverseSqrt, make_schedule

torch = pytest.importorskip("torch")

SIZES = [(7,), (SGD.SMALL + 1,), (30, 40)]


def _slots(rng, dtype=np.float64, decayed=(True, True, False)):
    # a slot reaches its array through its owner's params (one owner per parameter)
    return [Slot(f"layer{i}/w", {"w": rng.standard_normal(size).astype(dtype)}, {"w": np.zeros(size, dtype)}, "w",
                 dec) for i, (size, dec) in enumerate(zip(SIZES, decayed, strict=True))]


def _grads(rng, steps):
    return [[rng.standard_normal(size) for size in SIZES] for _ in range(steps)]


def test_adamw_follows_the_decoupled_rule_and_leaves_biases_undecayed():
    rng = np.random.default_rng(0)
    slots = _slots(rng)
    lr, wd, b1, b2, eps = 0.01, 0.1, 0.9, 0.999, 1e-8
    state = [(s.value.copy(), np.zeros(s.value.shape), np.zeros(s.value.shape), s.decayed) for s in slots]
    opt = AdamW(weight_decay=wd)
    for t, grads in enumerate(_grads(rng, 4), start=1):
        for s, g, (w, m, v, decayed) in zip(slots, grads, state, strict=True):
            s.grads["w"] = g.copy()
            if decayed:
                w *= 1 - lr * wd                       # w ← w − η·λ·w  (decoupled: not in m or v)
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g * g
            w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        opt.step(slots, lr)
    for s, (w, _, _, _) in zip(slots, state, strict=True):
        np.testing.assert_allclose(s.value, w, rtol=1e-12, atol=1e-13)


def test_adamw_without_decay_is_adam():
    rng = np.random.default_rng(1)
    a, b = _slots(rng), None
    b = [Slot(s.name, {"w": s.value.copy()}, {"w": np.zeros_like(s.value)}, "w", s.decayed) for s in a]
    adam, adamw = Adam(), AdamW(weight_decay=0.0)
    for grads in _grads(rng, 3):
        for sa, sb, g in zip(a, b, grads, strict=True):
            sa.grads["w"], sb.grads["w"] = g.copy(), g.copy()
        adam.step(a, 0.01)
        adamw.step(b, 0.01)
    for sa, sb in zip(a, b, strict=True):
        np.testing.assert_array_equal(sa.value, sb.value)


@pytest.mark.parametrize("clip", [None, 0.5])
def test_adamw_and_clipping_match_torch(clip):
    """Five steps of AdamW (with global-norm clipping) against torch.optim.AdamW and
    torch.nn.utils.clip_grad_norm_ on the same weights and gradients, float64."""
    rng = np.random.default_rng(2)
    slots = _slots(rng)
    params = [torch.nn.Parameter(torch.tensor(s.value.copy())) for s in slots]
    groups = [{"params": [p], "weight_decay": 0.05 if s.decayed else 0.0} for p, s in zip(params, slots, strict=True)]
    reference = torch.optim.AdamW(groups, lr=0.02, betas=(0.9, 0.98), eps=1e-9)
    opt = make_optimizer({"name": "adamw", "weight_decay": 0.05, "beta2": 0.98, "epsilon": 1e-9, "clip_norm": clip})
    norms = []
    for grads in _grads(rng, 5):
        for s, p, g in zip(slots, params, grads, strict=True):
            s.grads["w"] = g.copy()
            p.grad = torch.tensor(g.copy())
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip)))
        reference.step()
        opt.step(slots, 0.02)
        if clip is not None:
            assert opt.last_grad_norm == pytest.approx(norms[-1], rel=1e-12)
            for s, p in zip(slots, params, strict=True):  # the same clipped gradients
                np.testing.assert_allclose(s.grad, p.grad.numpy(), rtol=1e-12, atol=1e-14)
    if clip is not None:
        assert max(norms) > clip  # the clipping really happened
    for s, p in zip(slots, params, strict=True):
        np.testing.assert_allclose(s.value, p.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_clipping_against_the_plain_rule_and_below_the_threshold():
    rng = np.random.default_rng(3)
    slots = _slots(rng)
    grads = _grads(rng, 1)[0]
    for s, g in zip(slots, grads, strict=True):
        s.grads["w"] = g.copy()
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    before = [s.value.copy() for s in slots]
    SGD(clip_norm=norm / 4).step(slots, 0.1)
    for s, g, w in zip(slots, grads, before, strict=True):
        np.testing.assert_allclose(s.value, w - 0.1 * g * (norm / 4) / (norm + 1e-6), rtol=1e-12)
    # a norm below the bound: the gradients are left exactly as they were
    for s, g in zip(slots, grads, strict=True):
        s.grads["w"] = g.copy()
    SGD(clip_norm=norm * 2).step(slots, 0.1)
    for s, g in zip(slots, grads, strict=True):
        np.testing.assert_array_equal(s.grad, g)


def test_bad_optimizer_options_are_refused_with_their_path():
    with pytest.raises(SpecError, match="weight_decay"):
        make_optimizer({"name": "adamw", "weight_decay": -1})
    with pytest.raises(SpecError, match="clip_norm"):
        make_optimizer({"name": "sgd", "clip_norm": 0})
    with pytest.raises(SpecError, match="clip_norm"):
        make_optimizer({"name": "adam", "clip_norm": True})
    spec = make_optimizer({"name": "adamw", "weight_decay": 0.1, "clip_norm": 1.0}).to_spec()
    assert spec["weight_decay"] == 0.1 and spec["clip_norm"] == 1.0
    assert make_optimizer(spec).to_spec() == spec  # round trip through the saved spec


def test_experiment_clip_norm_becomes_the_optimizers():
    from alzza.experiments.catalogue import parse_experiment

    exp = parse_experiment({"name": "x", "dataset": "abalone", "model": {"layers": []},
                            "train": {"optimizer": "adamw", "clip_norm": 2.0}}, "test")
    assert exp.train["optimizer"] == {"name": "adamw", "clip_norm": 2.0}
    with pytest.raises(ExperimentError, match="clip_norm"):
        parse_experiment({"name": "x", "dataset": "abalone", "model": {"layers": []},
                          "train": {"optimizer": "adamw", "clip_norm": -2.0}}, "test")


# --- schedules --------------------------------------------------------------------------
def test_warmup_cosine_follows_its_formula_and_torchs_cosine():
    base, warmup, total, low = 0.1, 5, 40, 0.001
    schedule = WarmupCosine(warmup=warmup, min_lr=low)
    rates = [schedule.rate(base, s, total) for s in range(1, total + 1)]
    for s, rate in enumerate(rates, start=1):
        want = (base * s / warmup if s <= warmup else
                low + (base - low) * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))) / 2)
        assert rate == pytest.approx(want, rel=1e-12)
    assert rates[warmup - 1] == pytest.approx(base) and rates[-1] == pytest.approx(low)
    # torch: LinearLR for the warmup steps, then CosineAnnealingLR over the rest
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / warmup, total_iters=warmup - 1)
    theirs = []
    for _ in range(warmup):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        warm.step()
    opt.param_groups[0]["lr"] = base
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=low)
    for _ in range(total - warmup):
        cosine.step()
        theirs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(rates, theirs, rtol=1e-9)


def test_warmup_inverse_sqrt_follows_the_transformer_formula():
    # Vaswani et al. §5.3: d^-0.5·min(s^-0.5, s·W^-1.5) peaks at s = W; ours peaks at η₀
    warmup, base = 8, 0.01
    schedule = WarmupInverseSqrt(warmup=warmup)
    peak = min(warmup ** -0.5, warmup * warmup ** -1.5)
    for s in range(1, 60):
        paper = min(s ** -0.5, s * warmup ** -1.5)
        assert schedule.rate(base, s, 60) == pytest.approx(base * paper / peak, rel=1e-12)


def test_step_schedules_set_the_rate_of_every_step_in_fit():
    """fit asks a warmup schedule before every step: the rates a model sees are the formula's."""
    from alzza.training.loop import fit

    seen = []

    class Recorder:
        name, dtype = "recorder", np.float64

        def train_step(self, x, y, lr):
            seen.append(lr)
            return 1.0, 0.5

        def evaluate(self, x, y):
            return {"loss": 1.0, "accuracy": 0.5}

    class Data:
        train_count, validate_count = 12, 0

        def batches_per_epoch(self, batch_size):
            return self.train_count // batch_size

        def train_batches(self, batch_size, rng):
            for _ in range(self.batches_per_epoch(batch_size)):
                yield np.zeros((batch_size, 1)), np.zeros((batch_size, 1))

        def validate_sample(self, count, rng):
            return np.zeros((0, 1)), np.zeros((0, 1))

    import alzza.training.loop as training

    original = training.check_training
    training.check_training = lambda model, batch_size: None
    try:
        fit(Recorder(), Data(), epochs=3, batch_size=4, learning_rate=0.2, report=0,
            rng=np.random.default_rng(0), printer=lambda *a: None, progress=False,
            lr_schedule={"type": "warmup_cosine", "warmup": 4})
    finally:
        training.check_training = original
    want = [WarmupCosine(warmup=4).rate(0.2, s, 9) for s in range(1, 10)]
    np.testing.assert_allclose(seen, want, rtol=1e-12)


def test_bad_schedule_options():
    with pytest.raises(TrainingError, match="warmup"):
        make_schedule({"type": "warmup_rsqrt", "warmup": 0})
    with pytest.raises(TrainingError, match="min_lr"):
        make_schedule({"type": "warmup_cosine", "min_lr": -1})
