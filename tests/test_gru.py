"""gru: float64 gradient checks with non-zero biases, both forms (reset after / before), the
spec, float32, save/load, the automata-gru-64 experiment, and parity with torch.nn.GRU on
packed sequences. Padding isolation and each-example-alone checks run for gru with rnn and
lstm in tests/test_recurrent.py; the layer against its textbook step in tests/test_cells.py."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.device import get_device, to_host
from alzza.errors import SpecError
from alzza.layers.initializers import Initializer
from alzza.layers import BuildContext
from alzza.layers.gru import GRU
from alzza.sequences import SeqShape, Sequences
from alzza.spec import parse_layer
from alzza.testing import check_layer_gradients

LENGTHS = np.array([5, 2, 4, 1])
T, F, H = 5, 3, 4
TOL = 1e-6


def build(layer, shape, dtype=np.float64, seed=0):
    layer.build(shape, BuildContext(np.random.default_rng(seed), np.dtype(dtype), Initializer("glorot")))
    return layer


def _with_biases(layer, seed=1):
    rng = np.random.default_rng(seed)
    for key in ("b", "b_hn"):
        if key in layer.params:
            layer.params[key][...] = rng.standard_normal(layer.params[key].shape) * 0.3
    return layer


FORMS = [True, False]   # reset_after: torch's form, the paper's


def _assert_small(errors):
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, bad


class _BiasedGRU(GRU):
    """Biases away from zero after build: b_hn sits inside the reset product, check it there."""

    def build(self, input_shape, ctx):
        shape = super().build(input_shape, ctx)
        _with_biases(self)
        return shape


@pytest.mark.parametrize("reset_after", FORMS)
@pytest.mark.parametrize("outseq", [True, False])
def test_gradients_mixed_lengths(outseq, reset_after):
    x = Sequences(np.random.default_rng(2).standard_normal((4, T, F)), LENGTHS)
    layer = _BiasedGRU(H, outseq=outseq, reset_after=reset_after)
    errors = check_layer_gradients(layer, SeqShape((T, F)), x=x)
    assert set(errors) == {"x", "gru#0/w", "gru#0/b"} | ({"gru#0/b_hn"} if reset_after else set())
    _assert_small(errors)
    on = get_device()  # where check_layer_gradients left the layer (the default device)
    y = layer.forward(Sequences(on.asarray(x.data), x.lengths))
    r = np.random.default_rng(3).standard_normal(y.data.shape if outseq else y.shape)
    dx = to_host(layer.backward(on.asarray(r)))
    for n, length in enumerate(LENGTHS):   # no gradient leaves a padded step
        assert not np.any(dx[n, length:])


@pytest.mark.parametrize("reset_after", FORMS)
@pytest.mark.parametrize("outseq", [True, False])
def test_gradients_vector_fed_every_step(outseq, reset_after):
    layer = _BiasedGRU(H, outseq=outseq, inseq=False, timesteps=4, reset_after=reset_after)
    _assert_small(check_layer_gradients(layer, (F,), batch=3, rng=4))
    assert layer.output_shape == ((4, H) if outseq else (H,))


@pytest.mark.parametrize("reset_after", FORMS)
def test_gradients_image_steps_keep_input_shape(reset_after):
    layer = GRU(H, reset_after=reset_after)
    _assert_small(check_layer_gradients(layer, SeqShape((3, 2, 2)), batch=2, rng=5))
    x = np.random.default_rng(5).standard_normal((2, 3, 2, 2))
    on = get_device()  # where check_layer_gradients left the layer (the default device)
    layer.forward(on.asarray(x))
    assert layer.backward(on.asarray(np.ones((2, 3, H)))).shape == x.shape


# padding isolation, each example computed alone, float32: tests/test_recurrent.py (with rnn, lstm)


def test_parameters_and_shapes():
    layer = build(GRU(H), SeqShape((T, F)))
    assert layer.params["w"].shape == (F + H, 3 * H)
    assert layer.params["b"].shape == (3 * H,) and layer.params["b_hn"].shape == (H,)
    assert not layer.params["b"].any() and not layer.params["b_hn"].any()
    assert layer.decayed == ("w",)
    assert layer.parameter_count() == (F + H) * 3 * H + 3 * H + H
    assert layer.output_shape == SeqShape((T, H))
    paper = build(GRU(H, reset_after=False), SeqShape((T, F)))
    assert set(paper.params) == {"w", "b"} and paper.parameter_count() == (F + H) * 3 * H + 3 * H


def test_no_input_grad_for_first_layer_and_dy_untouched():
    layer = build(GRU(H), SeqShape((T, F)))
    layer.needs_input_grad = False
    y = layer.forward(Sequences(np.ones((4, T, F)), LENGTHS))
    dy = np.random.default_rng(9).standard_normal(y.data.shape)
    dy0 = dy.copy()
    assert layer.backward(dy) is None
    np.testing.assert_array_equal(dy, dy0)
    assert set(layer.grads) == {"w", "b", "b_hn"}


def test_empty_batch():
    layer = build(GRU(H), SeqShape((T, F)))
    y = layer.forward(Sequences(np.zeros((0, T, F)), np.zeros(0, np.int64)))
    assert y.data.shape == (0, T, H)
    assert layer.backward(y.data).shape == (0, T, F)
    assert set(layer.grads) == {"w", "b", "b_hn"}


def test_spec_options_and_errors():
    layer = parse_layer(["gru", {"recur_size": 8, "outseq": False}], "layers[0]")
    assert isinstance(layer, GRU) and layer.inseq and not layer.outseq and layer.reset_after
    assert not parse_layer(["gru", {"recur_size": 8, "reset_after": False}], "layers[0]").reset_after
    with pytest.raises(SpecError, match="reset_after"):
        parse_layer(["gru", {"recur_size": 4, "reset_after": "no"}], "layers[0]")
    assert build(layer, SeqShape((T, F))).output_shape == (8,)
    with pytest.raises(SpecError, match="needs 'recur_size'"):
        parse_layer(["gru", {}], "layers[0]")
    with pytest.raises(SpecError, match="use_state"):
        parse_layer(["gru", {"recur_size": 4, "use_state": True}], "layers[0]")
    with pytest.raises(SpecError, match="timesteps"):
        build(parse_layer(["gru", {"recur_size": 4, "inseq": False}], "layers[0]"), (F,))
    with pytest.raises(SpecError, match="inseq: false"):
        build(parse_layer(["gru", {"recur_size": 4}], "layers[0]"), (F,))


@pytest.mark.parametrize("spec", [
    ["gru", {"recur_size": 4}],
    ["gru", {"recur_size": 4, "outseq": False, "reset_after": False}],
    ["gru", {"recur_size": 3, "inseq": False, "timesteps": 2}],
])
def test_spec_is_read_back_from_the_declaration(spec):
    layer = parse_layer(spec, "layers[0]")
    assert layer.to_spec() == spec
    assert parse_layer(layer.to_spec(), "layers[0]").describe() == layer.describe()


def test_python_built_gru_checks_its_options_and_describes_itself():
    assert GRU(4).describe() == "gru(recur_size=4)"
    assert GRU(4, reset_after=False).describe() == "gru(recur_size=4, reset_after=False)"
    with pytest.raises(SpecError, match="reset_after"):
        GRU(4, reset_after="no")


def test_object_built_model_equals_its_spec(tmp_path):
    import alzza
    from alzza.data import make_dataset

    data = make_dataset({"name": "automata", "train_count": 40, "test_count": 10, "validate_count": 4}, seed=1)
    spec = [["gru", {"recur_size": 6, "reset_after": False}], ["gru", {"recur_size": 5, "outseq": False}]]
    from_spec = alzza.Model(data, spec, optimizer="adam", seed=3)
    from_objects = alzza.Model(data, [GRU(6, reset_after=False), GRU(5, outseq=False)], optimizer="adam", seed=3)
    x, _ = data.test_data()
    np.testing.assert_array_equal(from_objects.predict(x), from_spec.predict(x))
    names = [f"{layer.path}/{key}" for layer in from_objects.network.walk() for key in layer.params]
    assert len(names) == len(set(names)) and "layers[1]/b_hn" in names and "layers[0]/b_hn" not in names
    from_objects.save(tmp_path / "objects.npz")
    np.testing.assert_array_equal(alzza.load(tmp_path / "objects.npz").predict(x), from_spec.predict(x))


def test_model_with_gru_saves_and_loads(tmp_path):
    import alzza
    from alzza.data import make_dataset

    data = make_dataset({"name": "automata", "train_count": 40, "test_count": 10, "validate_count": 4}, seed=1)
    model = alzza.Model(data, [["gru", {"recur_size": 6, "outseq": False}]], optimizer="adam", seed=1)
    x, _ = data.test_data()
    before = model.predict(x)
    model.save(tmp_path / "gru.npz")
    again = alzza.load(tmp_path / "gru.npz")
    np.testing.assert_array_equal(again.predict(x), before)
    assert again.parameter_count() == model.parameter_count() == (data.input_shape[-1] + 6) * 18 + 18 + 6 + 7


def test_automata_gru_experiment_smoke(tmp_path):
    from alzza.experiments import find_experiment, run_experiment

    exp = find_experiment("automata-gru-64")
    assert "alzza variant" in exp.title and "Not in the book" in exp.notes
    assert exp.layers == [["gru", {"recur_size": 64, "outseq": False}]]
    result = run_experiment("automata-gru-64", epochs=1, max_batches=3, out=tmp_path, printer=lambda *a: None)
    assert 0.0 <= result["metrics"]["accuracy"] <= 1.0
    assert result["dataset"] == "automata(binary, 10000+1000+200)"
    model = __import__("alzza").load(tmp_path / "model.npz")
    assert any(layer.type_name == "gru" for layer in model.network.walk())


# --- PyTorch parity (torch.nn.GRU on packed sequences) ------------------------------------
torch = pytest.importorskip("torch", reason="torch not installed: parity tests need it")


def _t(a, dtype):
    return torch.tensor(np.asarray(a), dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gru_matches_torch_on_packed_sequences(dtype):
    rng = np.random.default_rng(11)
    n, t, f, h = 5, 6, 3, 4
    lengths = np.array([6, 2, 4, 1, 5])
    layer = _with_biases(build(GRU(h), SeqShape((t, f)), dtype=dtype), seed=12)
    last = GRU(h, outseq=False)
    build(last, SeqShape((t, f)), dtype=dtype)
    for key in layer.params:
        last.params[key][...] = layer.params[key]
    x = rng.standard_normal((n, t, f)).astype(dtype)
    r = rng.standard_normal((n, t, h)).astype(dtype)
    r_last = rng.standard_normal((n, h)).astype(dtype)
    y = layer.forward(Sequences(x, lengths))
    dx = layer.backward(r.copy())
    y_last = last.forward(Sequences(x, lengths))
    dx_last = last.backward(r_last.copy())

    tdt = torch.float64 if dtype == np.float64 else torch.float32
    ref = torch.nn.GRU(f, h, batch_first=True).to(tdt)
    w, b, b_hn = layer.params["w"], layer.params["b"], layer.params["b_hn"]
    with torch.no_grad():
        ref.weight_ih_l0.copy_(_t(w[:f].T, tdt))       # rows r, z, n: our column order
        ref.weight_hh_l0.copy_(_t(w[f:].T, tdt))
        ref.bias_ih_l0.copy_(_t(b, tdt))
        ref.bias_hh_l0.copy_(_t(np.concatenate([np.zeros(2 * h), b_hn]), tdt))
    pack = torch.nn.utils.rnn.pack_padded_sequence
    unpack = torch.nn.utils.rnn.pad_packed_sequence
    tx = _t(x, tdt).requires_grad_(True)
    out, hn = ref(pack(tx, torch.tensor(lengths), batch_first=True, enforce_sorted=False))
    out, _ = unpack(out, batch_first=True, total_length=t)
    ((out * _t(r, tdt)).sum() + (hn[0] * _t(r_last, tdt)).sum()).backward()

    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    assert y.data.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(y.data, out.detach().numpy(), **tol)       # zeros at padding on both sides
    np.testing.assert_allclose(y_last, hn[0].detach().numpy(), **tol)     # each example's own last step
    # torch's gradients are those of both outputs; ours come from two layers with the same weights
    np.testing.assert_allclose(dx + dx_last, tx.grad.numpy(), **tol)
    gw = layer.grads["w"] + last.grads["w"]
    np.testing.assert_allclose(gw[:f], ref.weight_ih_l0.grad.numpy().T, **tol)
    np.testing.assert_allclose(gw[f:], ref.weight_hh_l0.grad.numpy().T, **tol)
    gb = layer.grads["b"] + last.grads["b"]
    np.testing.assert_allclose(gb, ref.bias_ih_l0.grad.numpy(), **tol)
    # torch's recurrent bias: its r, z part acts like ours, its n part is b_hn
    np.testing.assert_allclose(gb[:2 * h], ref.bias_hh_l0.grad.numpy()[:2 * h], **tol)
    np.testing.assert_allclose(layer.grads["b_hn"] + last.grads["b_hn"], ref.bias_hh_l0.grad.numpy()[2 * h:], **tol)
