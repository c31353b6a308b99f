"""SGD and Adam against their plain textbook rules, on small arrays and on arrays above the
fast path's size threshold (SGD.SMALL), with and without weight decay."""

from __future__ import annotations

import numpy as np
import pytest

from alzza import reference
from alzza.training.optimizers import SGD, Adam, Slot


def _slots(rng, sizes, dtype):
    slots = []
    for i, size in enumerate(sizes):
        value = rng.standard_normal(size).astype(dtype)
        grads = {"w": rng.standard_normal(size).astype(dtype)}
        slots.append(Slot(f"layer{i}/w", {"w": value}, grads, "w", decayed=True))
    return slots


SIZES = [(7,), (SGD.SMALL + 1,), (80, 90)]  # below and above the threshold


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("l2, l1", [(0.0, 0.0), (0.01, 0.0), (0.0, 0.003), (0.02, 0.001)])
def test_sgd_follows_the_plain_rule_on_every_size(dtype, l2, l1):
    rng = np.random.default_rng(0)
    slots = _slots(rng, SIZES, dtype)
    assert any(s.value.size > SGD.SMALL for s in slots) and any(s.value.size <= SGD.SMALL for s in slots)
    lr = 0.1
    expected = []
    for s in slots:
        w, g = s.value.astype(np.float64), s.grad.astype(np.float64)
        expected.append(w - lr * (g + l2 * w + l1 * np.sign(w)))  # w ← w − η·g'
    identity = [id(s.value) for s in slots]
    grads_before = [s.grad.copy() for s in slots]
    SGD(l2_decay=l2, l1_decay=l1).step(slots, lr)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    for s, want, before in zip(slots, expected, grads_before, strict=False):
        assert s.value.dtype == dtype
        np.testing.assert_allclose(s.value, want, rtol=tol, atol=tol)
        np.testing.assert_array_equal(s.grad, before)  # the gradient is never modified
    assert [id(s.value) for s in slots] == identity  # updated in place


def test_sgd_second_step_through_reused_buffers():
    rng = np.random.default_rng(1)
    slots = _slots(rng, SIZES, np.float32)
    opt = SGD(l2_decay=0.01)
    w = [s.value.astype(np.float64) for s in slots]
    for _ in range(3):
        for s, wi in zip(slots, w, strict=False):
            s.grads["w"] = rng.standard_normal(s.value.shape).astype(np.float32)
            wi -= 0.05 * (s.grad.astype(np.float64) + 0.01 * wi)
        opt.step(slots, 0.05)
    for s, wi in zip(slots, w, strict=False):
        np.testing.assert_allclose(s.value, wi, rtol=1e-5, atol=1e-6)


def test_adam_follows_the_textbook_rule_above_and_below_the_threshold():
    rng = np.random.default_rng(2)
    slots = _slots(rng, SIZES, np.float64)
    opt = Adam(l2_decay=0.01)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    state = [(s.value.copy(), np.zeros(s.value.shape), np.zeros(s.value.shape)) for s in slots]
    for t in range(1, 4):
        for s, (w, m, v) in zip(slots, state, strict=False):
            s.grads["w"] = rng.standard_normal(s.value.shape)
            g = s.grad + 0.01 * w
            w[...], m[...], v[...] = reference.adam_step(w, g, m, v, t, lr, b1, b2, eps)
        opt.step(slots, lr)
        for s, (w, _, _) in zip(slots, state, strict=False):
            np.testing.assert_allclose(s.value, w, rtol=1e-10, atol=1e-12)


def test_optimisers_and_schedules_declare_their_options_and_check_them():
    import pytest

    from alzza.errors import SpecError, TrainingError
    from alzza.training.optimizers import Adam, make_optimizer
    from alzza.registries import Registry
    from alzza.training.schedules import SCHEDULES, ReduceOnPlateau, make_schedule

    assert set(Adam.OPTIONS) == {"beta1", "beta2", "epsilon", "l2_decay", "l1_decay", "clip_norm"}
    with pytest.raises(SpecError, match=r"optimizer: beta1 must be a number in \[0, 1\), got 1"):
        Adam(beta1=1)
    with pytest.raises(SpecError, match="epsilon must be a number, got True"):
        make_optimizer({"name": "adam", "epsilon": True})
    with pytest.raises(SpecError, match="l2_decay must be a non-negative number, got -0.1"):
        make_optimizer("sgd", l2_decay=-0.1)
    assert isinstance(SCHEDULES, Registry) and SCHEDULES["plateau"] is ReduceOnPlateau
    assert {"step", "exponential", "cosine", "plateau"} <= set(SCHEDULES)
    with pytest.raises(TrainingError, match=r"lr_schedule.factor must be a number in \(0, 1\), got 1.5"):
        make_schedule({"type": "plateau", "factor": 1.5})
    with pytest.raises(TrainingError, match="lr_schedule.step_size must be a positive integer, got 0"):
        make_schedule({"type": "step", "step_size": 0})
    assert make_schedule({"type": "step", "gamma": 1}).gamma == 1.0
