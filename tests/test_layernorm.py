"""layer_normal: gradient checks (rows, images, sequences with mixed lengths), what it computes,
padding isolation, the spec, float32, the steel experiment, and parity with torch.nn.LayerNorm."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.device import get_device, to_host
from alzza.errors import SpecError
from alzza.layers.initializers import Initializer
from alzza.layers import BuildContext
from alzza.layers.layernorm import LayerNorm
from alzza.sequences import SeqShape, Sequences
from alzza.spec import parse_layer
from alzza.testing import check_layer_gradients

LENGTHS = np.array([5, 2, 4, 1])
T, D = 5, 6
TOL = 1e-6


def build(layer, shape, dtype=np.float64, seed=0):
    layer.build(shape, BuildContext(np.random.default_rng(seed), np.dtype(dtype), Initializer("glorot")))
    return layer


def _scramble(layer, seed=1):
    """γ, β away from 1, 0 so that their gradients and dx̂ = γ·dy are tested."""
    rng = np.random.default_rng(seed)
    for value in layer.params.values():
        value += rng.standard_normal(value.shape) * 0.5
    return layer


def _assert_small(errors):
    bad = {k: v for k, v in errors.items() if v is not None and not v < TOL}
    assert not bad, bad


@pytest.mark.parametrize("shape", [(D,), (3, 3, D)], ids=["rows", "images"])
@pytest.mark.parametrize("rescale", [True, False])
def test_gradients(shape, rescale):
    layer = LayerNorm(rescale=rescale)
    errors = check_layer_gradients(layer, shape, batch=4, rng=2)
    assert set(errors) == ({"x", "layer_normal#0/gamma", "layer_normal#0/beta"} if rescale else {"x"})
    _assert_small(errors)
    if rescale:   # and once more with γ, β that are not the identity (x from another seed than R)
        x = np.random.default_rng(30).standard_normal((4,) + shape)
        errors = check_layer_gradients(_ScrambledLayerNorm(), shape, x=x, rng=3)
        _assert_small(errors)


class _ScrambledLayerNorm(LayerNorm):
    def build(self, input_shape, ctx):
        shape = super().build(input_shape, ctx)
        _scramble(self)
        return shape


def test_gradients_on_sequences_with_mixed_lengths():
    # x and the loss weights R from different seeds (R = x makes dL/dx nearly vanish)
    x = Sequences(np.random.default_rng(40).standard_normal((4, T, D)), LENGTHS)
    layer = LayerNorm()
    _assert_small(check_layer_gradients(layer, SeqShape((T, D)), x=x, rng=4))
    assert layer.output_shape == SeqShape((T, D))
    on = get_device()  # where check_layer_gradients left the layer (the default device)
    y = layer.forward(Sequences(on.asarray(x.data), x.lengths))
    dx = to_host(layer.backward(on.xp.ones_like(y.data)))
    y = to_host(y)
    assert list(y.lengths) == list(LENGTHS)
    for n, length in enumerate(LENGTHS):
        assert not np.any(y.data[n, length:]) and not np.any(dx[n, length:])


def test_sequences_of_images_normalise_every_pixel_of_every_real_step():
    rng = np.random.default_rng(41)
    layer = build(_ScrambledLayerNorm(), SeqShape((T, 2, 3, D)))
    x = rng.standard_normal((4, T, 2, 3, D))
    y = layer.forward(Sequences(x, LENGTHS))
    plain = build(LayerNorm(), (2, 3, D))
    plain.params["gamma"][...], plain.params["beta"][...] = layer.params["gamma"], layer.params["beta"]
    for n, length in enumerate(LENGTHS):
        np.testing.assert_allclose(y.data[n, :length], plain.forward(x[n, :length]), rtol=1e-12, atol=1e-14)
        assert not np.any(y.data[n, length:])
    _assert_small(check_layer_gradients(_ScrambledLayerNorm(), SeqShape((T, 2, 3, D)), rng=42,
                                        x=Sequences(rng.standard_normal((4, T, 2, 3, D)), LENGTHS)))


def test_each_row_is_normalised_and_training_changes_nothing():
    rng = np.random.default_rng(5)
    layer = build(LayerNorm(rescale=False, epsilon=1e-12), (D,))
    x = rng.standard_normal((7, D)) * 50 + 30
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-9)
    np.testing.assert_array_equal(layer.forward(x, training=False), y)   # no batch statistics, no state
    assert not layer.state
    # per row: one example alone gives what it gets in the batch
    np.testing.assert_allclose(layer.forward(x[2:3])[0], y[2], rtol=1e-12)
    scaled = build(_scramble(LayerNorm()), (D,))
    gamma, beta = scaled.params["gamma"], scaled.params["beta"]
    np.testing.assert_allclose(scaled.forward(x), y * gamma + beta, rtol=1e-6)


def test_epsilon_is_added_to_the_variance():
    x = np.array([[1.0, -1.0, 1.0, -1.0]])    # mean 0, variance 1
    y = build(LayerNorm(rescale=False, epsilon=3.0), (4,)).forward(x)
    np.testing.assert_allclose(y, x / 2.0)


def test_padding_changes_nothing():
    rng = np.random.default_rng(6)
    layer = build(_scramble(LayerNorm()), SeqShape((T, D)))
    x = rng.standard_normal((4, T, D))
    y1 = layer.forward(Sequences(x.copy(), LENGTHS))
    noisy = x.copy()
    noisy[1, 2:] = 1e6
    noisy[3, 4] = np.nan
    y2 = layer.forward(Sequences(noisy, LENGTHS))
    np.testing.assert_array_equal(y1.data, y2.data)
    dy = rng.standard_normal(x.shape)
    dy[1, 3] = np.nan            # whatever arrives at a padded step is ignored
    dx = layer.backward(dy)
    assert np.isfinite(dx).all() and all(np.isfinite(g).all() for g in layer.grads.values())


def test_float32_stays_float32_and_dy_untouched():
    rng = np.random.default_rng(7)
    layer = build(LayerNorm(), SeqShape((T, D)), dtype=np.float32)
    x = Sequences(rng.standard_normal((4, T, D)).astype(np.float32), LENGTHS)
    y = layer.forward(x, True)
    assert y.data.dtype == np.float32
    dy = rng.standard_normal(y.data.shape).astype(np.float32)
    dy0 = dy.copy()
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dy, dy0)
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())


def test_no_input_grad_for_first_layer():
    layer = build(LayerNorm(), (D,))
    layer.needs_input_grad = False
    layer.forward(np.ones((2, D)) + np.arange(D))
    assert layer.backward(np.ones((2, D))) is None
    assert set(layer.grads) == {"gamma", "beta"}


def test_spec_options_and_errors():
    layer = parse_layer(["layer_normal", {"epsilon": 0.001}], "layers[1]")
    assert isinstance(layer, LayerNorm) and layer.epsilon == 0.001 and layer.rescale
    assert parse_layer(["layer_normal", {}], "layers[1]").epsilon == 1e-5
    with pytest.raises(SpecError, match="epsilon"):
        parse_layer(["layer_normal", {"epsilon": -1.0}], "layers[1]")
    with pytest.raises(SpecError, match="unknown option 'exp_ratio'"):
        parse_layer(["layer_normal", {"exp_ratio": 0.1}], "layers[1]")
    with pytest.raises(SpecError, match="last axis"):
        build(parse_layer(["layer_normal", {}], "layers[1]"), ())


@pytest.mark.parametrize("spec", [["layer_normal"], ["layer_normal", {"rescale": False, "epsilon": 0.001}]])
def test_spec_is_read_back_from_the_declaration(spec):
    layer = parse_layer(spec, "layers[0]")
    assert layer.to_spec() == spec
    assert parse_layer(layer.to_spec(), "layers[0]").describe() == layer.describe()


def test_python_built_layer_norm_checks_its_options():
    assert LayerNorm().describe() == "layer_normal"
    assert LayerNorm(epsilon=0.01).describe() == "layer_normal(epsilon=0.01)"
    with pytest.raises(SpecError, match="epsilon"):
        LayerNorm(epsilon=0.0)
    with pytest.raises(SpecError, match="rescale"):
        LayerNorm(rescale="yes")


def test_in_a_sequence_model_and_inside_seqwrap():
    import alzza
    from alzza.data import make_dataset

    data = make_dataset({"name": "automata", "train_count": 40, "test_count": 10, "validate_count": 4}, seed=1)
    layers = [["rnn", {"recur_size": 6, "actfunc": "tanh"}], ["layer_normal", {}],
              ["seqwrap", {}, ["layer_normal", {"rescale": False}]],
              ["gru", {"recur_size": 5, "outseq": False}], ["layer_normal", {}]]
    model = alzza.Model(data, layers, optimizer="adam", seed=1, dtype="float64")
    x, y = data.test_data()
    assert isinstance(x, Sequences)
    errors = alzza.testing.check_model_gradients(model, Sequences(x.data[:3], x.lengths[:3]), y[:3])
    assert max(errors.values()) < TOL, errors


def test_steel_layernorm_experiment_is_a_marked_variant():
    from alzza.experiments import find_experiment

    exp = find_experiment("steel-mlp-12-6-4-layernorm")
    book = find_experiment("steel-mlp-12-6-4")
    assert "alzza variant" in exp.title and "Not in the book" in exp.notes
    assert [spec for spec in exp.layers if isinstance(spec, int)] == book.layers
    assert sum(1 for spec in exp.layers if isinstance(spec, list) and spec[0] == "layer_normal") == 3
    assert exp.train == book.train and exp.book == book.book
    # its smoke run is in tests/test_experiments_cli.py (every tabular experiment)


# --- PyTorch parity -------------------------------------------------------------------------
torch = pytest.importorskip("torch", reason="torch not installed: parity tests need it")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("epsilon", [1e-5, 0.1])
def test_matches_torch_layernorm(dtype, epsilon):
    rng = np.random.default_rng(8)
    layer = build(_scramble(LayerNorm(epsilon=epsilon)), (4, 4, D), dtype=dtype)
    x = (rng.standard_normal((3, 4, 4, D)) * 3 + 1).astype(dtype)
    r = rng.standard_normal(x.shape).astype(dtype)
    y = layer.forward(x.copy())
    dx = layer.backward(r.copy())

    tdt = torch.float64 if dtype == np.float64 else torch.float32
    ref = torch.nn.LayerNorm(D, eps=epsilon).to(tdt)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.params["gamma"], dtype=tdt))
        ref.bias.copy_(torch.tensor(layer.params["beta"], dtype=tdt))
    tx = torch.tensor(x, dtype=tdt, requires_grad=True)
    out = ref(tx)
    (out * torch.tensor(r, dtype=tdt)).sum().backward()
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    assert y.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(y, out.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["gamma"], ref.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["beta"], ref.bias.grad.numpy(), **tol)


def test_matches_torch_layernorm_on_the_real_steps_of_sequences():
    rng = np.random.default_rng(9)
    layer = build(_scramble(LayerNorm()), SeqShape((T, D)))
    x = rng.standard_normal((4, T, D))
    r = rng.standard_normal(x.shape)
    y = layer.forward(Sequences(x, LENGTHS))
    dx = layer.backward(r.copy())
    real = Sequences(x, LENGTHS).mask(bool)
    ref = torch.nn.LayerNorm(D).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.params["gamma"]))
        ref.bias.copy_(torch.tensor(layer.params["beta"]))
    tx = torch.tensor(x[real], requires_grad=True)     # torch sees the real steps only
    out = ref(tx)
    (out * torch.tensor(r[real])).sum().backward()
    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y.data[real], out.detach().numpy(), **tol)
    np.testing.assert_allclose(dx[real], tx.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["gamma"], ref.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["beta"], ref.bias.grad.numpy(), **tol)
