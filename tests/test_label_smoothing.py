"""Label smoothing of select and seqselect: the loss and its gradient against torch's
CrossEntropyLoss(label_smoothing=ε) and against the plain rule y' = (1 − ε)·y + ε/K."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.errors import SpecError
from alzza.heads import make_head
from alzza.sequences import Sequences

torch = pytest.importorskip("torch")


def _one_hot(labels, k):
    return np.eye(k)[labels]


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_select_smoothing_matches_torch(epsilon):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((9, 6)) * 3
    labels = rng.integers(0, 6, 9)
    head = make_head("select", label_smoothing=epsilon)
    loss = head.loss(logits, _one_hot(labels, 6))
    grad = head.backward()
    t = torch.tensor(logits, requires_grad=True)
    want = torch.nn.CrossEntropyLoss(label_smoothing=epsilon)(t, torch.tensor(labels))
    want.backward()
    assert loss == pytest.approx(float(want.detach()), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
    # accuracy still reads the true labels
    assert head.accuracy(logits, _one_hot(labels, 6)) == np.mean(logits.argmax(1) == labels)


def test_select_smoothing_plain_rule():
    rng = np.random.default_rng(1)
    logits, labels, eps = rng.standard_normal((5, 4)), rng.integers(0, 4, 5), 0.2
    y = _one_hot(labels, 4)
    head = make_head("select", label_smoothing=eps)
    loss = head.loss(logits, y)
    target = (1 - eps) * y + eps / 4
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(float(np.mean(-(target * np.log(p)).sum(1))), rel=1e-12)
    np.testing.assert_allclose(head.backward(), (p - target) / 5, rtol=1e-12)


def test_seqselect_smoothing_matches_torch_on_real_steps_only():
    rng = np.random.default_rng(2)
    n, steps, k, eps = 4, 7, 5, 0.15
    lengths = np.array([7, 3, 5, 1])
    logits = rng.standard_normal((n, steps, k)) * 2
    labels = rng.integers(0, k, (n, steps))
    head = make_head("seqselect", label_smoothing=eps)
    loss = head.loss(Sequences(logits, lengths), _one_hot(labels, k))
    grad = head.backward()
    real = np.arange(steps)[None, :] < lengths[:, None]
    t = torch.tensor(logits, requires_grad=True)
    target = torch.tensor(np.where(real, labels, -100))  # torch's ignore_index marks the padding
    want = torch.nn.CrossEntropyLoss(label_smoothing=eps, ignore_index=-100)(t.reshape(-1, k), target.reshape(-1))
    want.backward()
    assert loss == pytest.approx(float(want.detach()), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert not np.any(grad[~real])  # nothing flows from padded steps


def test_smoothing_is_checked_and_saved():
    for bad in (1.0, -0.1, True, "0.1"):
        with pytest.raises(SpecError, match="label_smoothing"):
            make_head("select", label_smoothing=bad)
    assert make_head("seqselect", label_smoothing=0.1).to_spec() == {"mode": "seqselect", "label_smoothing": 0.1}
    assert make_head("select").to_spec() == {"mode": "select"}
