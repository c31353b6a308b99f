"""The Transformer's layers: gradient checks, the fast path against the textbook forms,
incremental decoding against the causal forward, padding isolation, the contract, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alzza.device import get_device, to_host
from alzza.errors import AlzzaError, SpecError
from alzza.experiments.catalogue import load_macro_file
from alzza.layers.initializers import Initializer
from alzza.layers import BuildContext
from alzza.layers import attention_reference as ref
from alzza.layers.attention import MultiHeadAttention, bind_memory, memory_gradient
from alzza.layers.embedding import Embedding, scatter_rows
from alzza.layers.positional import PositionalEncoding
from alzza.layers.rmsnorm import RMSNorm
from alzza.layers.seqpool import SequencePool
from alzza.models import Model
from alzza.ops.attention import allowed_keys, masked_softmax
from alzza.ops.erf import erf
from alzza.sequences import SeqShape, Sequences
from alzza.testing import check_built_layer_gradients, check_layer, check_layer_gradients, check_model_gradients

N, T, D, H = 3, 5, 8, 2
LENGTHS = np.array([5, 2, 4])
TOL = 1e-6


def ctx(seed=0, **extra):
    return BuildContext(np.random.default_rng(seed), np.dtype(np.float64), Initializer("glorot"), **extra)


def small(errors):
    bad = {k: v for k, v in errors.items() if v is not None and not v < TOL}
    assert not bad, bad


def seqs(seed=1, t=T, d=D, lengths=LENGTHS):
    return Sequences(np.random.default_rng(seed).standard_normal((len(lengths), t, d)), lengths)


@pytest.mark.parametrize("opts", [{}, {"causal": True}, {"rotary": True}, {"causal": True, "rotary": True},
                                  {"bias": False}])
def test_self_attention_gradients(opts):
    layer = MultiHeadAttention(heads=H, **opts)
    layer.attach("a")
    small(check_layer_gradients(layer, SeqShape((T, D)), x=seqs(), rng=2))


def test_attention_dropout_gradients_with_a_fixed_mask():
    layer = MultiHeadAttention(heads=H, keep_prob=0.7)
    layer.attach("a")
    layer.fixed_keep = np.random.default_rng(3).random((N, H, T, T)) < 0.7
    small(check_layer_gradients(layer, SeqShape((T, D)), x=seqs(), rng=2, training=True))


def test_cross_attention_gradients_including_the_memory():
    layer = MultiHeadAttention(heads=H, memory="source")
    layer.attach("a")
    layer.build(SeqShape((T, D)), ctx(memories={"source": SeqShape((4, 6))}))
    memory = seqs(seed=4, t=4, d=6, lengths=np.array([1, 4, 3]))
    on = get_device()  # where the check moves the layer (the default device): the memory goes there too
    def bound(m):
        return Sequences(on.asarray(m.data), m.lengths)
    bind_memory(layer, "source", bound(memory))
    small(check_built_layer_gradients(layer, seqs(), rng=2))
    # d(memory) against central differences of the same loss
    x, r = bound(seqs()), on.asarray(np.random.default_rng(7).standard_normal((N, T, D)))
    layer.forward(x)
    layer.backward(r)
    analytic = to_host(memory_gradient(layer, "source"))
    numeric = np.zeros_like(memory.data)
    for index in np.ndindex(memory.data.shape):
        values = []
        for sign in (1, -1):
            data = memory.data.copy()
            data[index] += sign * 1e-6
            bind_memory(layer, "source", bound(Sequences(data, memory.lengths)))
            values.append(float(to_host((layer.forward(x).data * r).sum())))
        numeric[index] = (values[0] - values[1]) / 2e-6
    assert np.max(np.abs(analytic - numeric)) < 1e-7
    assert np.all(analytic[0, 1:] == 0)                      # padded memory steps get nothing


@pytest.mark.parametrize("opts", [{}, {"causal": True}, {"rotary": True, "causal": True}, {"keep": True},
                                  {"memory": True}])
def test_fast_attention_equals_the_textbook_form(opts):
    rng = np.random.default_rng(8)
    memory = "source" if opts.get("memory") else None
    layer = MultiHeadAttention(heads=H, causal=opts.get("causal", False), rotary=opts.get("rotary", False),
                               memory=memory, keep_prob=0.8 if opts.get("keep") else 1.0)
    layer.build(SeqShape((T, D)), ctx(memories={"source": SeqShape((4, 6))}))
    for value in layer.params.values():
        value += rng.standard_normal(value.shape) * 0.3
    mem = seqs(seed=9, t=4, d=6, lengths=np.array([2, 4, 1]))
    if memory:
        bind_memory(layer, memory, mem)
    keep = rng.random((N, H, T, T if not memory else 4)) < 0.8 if opts.get("keep") else None
    layer.fixed_keep = keep
    x, dy = seqs(), rng.standard_normal((N, T, D))
    y = layer.forward(x, training=True).data
    dx = layer.backward(dy)
    p = layer.params
    if memory:
        w_q, b_q = p["w_q"], p["b_q"]
        w_k, w_v, b_k, b_v = p["w_kv"][:, :D], p["w_kv"][:, D:], p["b_kv"][:D], p["b_kv"][D:]
    else:
        w_q, w_k, w_v = p["w_qkv"][:, :D], p["w_qkv"][:, D:2 * D], p["w_qkv"][:, 2 * D:]
        b_q, b_k, b_v = p["b_qkv"][:D], p["b_qkv"][D:2 * D], p["b_qkv"][2 * D:]
    totals = {}
    for n, length in enumerate(LENGTHS):
        xn = x.data[n, :length]
        mn = mem.data[n, :mem.lengths[n]] if memory else xn
        kn = keep[n, :, :length, :len(mn)] / 0.8 if keep is not None else None
        yn, cache = ref.attention(xn, mn, w_q, b_q, w_k, b_k, w_v, b_v, p["w_o"], p["b_o"], H,
                                  causal=layer.causal, rotate=layer.rotary, keep=kn)
        dxn, dmn, grads = ref.attention_backward(dy[n, :length], cache)
        assert np.max(np.abs(y[n, :length] - yn)) < 1e-12 and np.all(y[n, length:] == 0)
        assert np.max(np.abs(dx[n, :length] - dxn - (0 if memory else dmn))) < 1e-12
        if memory:
            assert np.max(np.abs(layer.memory_grad[n, :len(mn)] - dmn)) < 1e-12
        for key, value in grads.items():
            totals[key] = totals.get(key, 0) + value
    g = layer.grads
    if memory:
        ours = {"w_q": g["w_q"], "b_q": g["b_q"], "w_k": g["w_kv"][:, :D], "w_v": g["w_kv"][:, D:],
                "b_k": g["b_kv"][:D], "b_v": g["b_kv"][D:]}
    else:
        ours = {"w_q": g["w_qkv"][:, :D], "w_k": g["w_qkv"][:, D:2 * D], "w_v": g["w_qkv"][:, 2 * D:],
                "b_q": g["b_qkv"][:D], "b_k": g["b_qkv"][D:2 * D], "b_v": g["b_qkv"][2 * D:]}
    ours.update(w_o=g["w_o"], b_o=g["b_o"])
    for key, value in totals.items():
        assert np.max(np.abs(ours[key] - value)) < 1e-12, key


@pytest.mark.parametrize("rotary", [False, True])
def test_stepping_token_by_token_equals_the_causal_forward(rotary):
    layer = MultiHeadAttention(heads=H, causal=True, rotary=rotary)
    t = 20                                                     # past the cache's first capacity (16)
    layer.build(SeqShape((t, D)), ctx())
    x = np.random.default_rng(10).standard_normal((N, t, D))
    full = layer.forward(Sequences(x)).data
    cache = None
    for step in range(t):
        y, cache = layer.step(x[:, step], cache)
        assert np.max(np.abs(y - full[:, step])) < 1e-12
    assert cache["length"] == t


def test_cross_attention_steps_equal_its_forward():
    layer = MultiHeadAttention(heads=H, memory="source")
    layer.build(SeqShape((T, D)), ctx(memories={"source": SeqShape((4, D))}))
    bind_memory(layer, "source", seqs(seed=11, t=4, lengths=np.array([4, 1, 2])))
    x = np.random.default_rng(12).standard_normal((N, T, D))
    full = layer.forward(Sequences(x)).data
    cache = None
    for step in range(T):
        y, cache = layer.step(x[:, step], cache)
        assert np.max(np.abs(y - full[:, step])) < 1e-12


def test_nothing_flows_through_padded_steps():
    layer = MultiHeadAttention(heads=H)
    layer.build(SeqShape((T, D)), ctx())
    x = seqs()
    poisoned = x.data.copy()
    poisoned[1, 2:] = np.nan                                   # padding of example 1
    y = layer.forward(Sequences(poisoned, LENGTHS)).data
    clean = layer.forward(x).data
    assert np.array_equal(y, clean) and not np.isnan(y).any()
    dy = np.random.default_rng(13).standard_normal(y.shape)
    dx = layer.backward(dy)
    dy[1, 2:] = 1e6                                            # gradient at padded steps is ignored
    assert np.array_equal(layer.backward(dy), dx) and np.all(dx[1, 2:] == 0)


def test_a_fully_masked_row_is_zeros_not_nan():
    scores = np.random.default_rng(14).standard_normal((2, 1, 3, 3)) * 1e3
    allowed = allowed_keys(np.array([3, 2]), 3, 3, causal=False).copy()
    allowed[1, 0, 2] = False                                   # a query with no key at all
    p = masked_softmax(scores, allowed)
    assert not np.isnan(p).any() and np.all(p[1, 0, 2] == 0)
    assert np.allclose(p[0].sum(axis=-1), 1) and np.all(p[1, 0, :2, 2] == 0)


def test_embedding_gradient_sums_repeated_ids_and_skips_padding():
    layer = Embedding(vocab=6, width=4, padding_id=5, scale=True)
    layer.attach("e")
    ids = np.array([[1, 1, 5, 2], [3, 1, 0, 0]], dtype=float)
    x = Sequences(ids, np.array([4, 2]))
    layer.build(SeqShape((4,)), ctx())
    y = layer.forward(x).data
    dy = np.random.default_rng(15).standard_normal(y.shape)
    layer.backward(dy)
    expected = ref.embedding_backward(np.concatenate([dy[0], dy[1, :2]]), [1, 1, 5, 2, 3, 1], 6, padding_id=5)
    assert np.allclose(layer.grads["table"], expected * 2.0)  # × √4
    assert np.allclose(y[0, 0], layer.params["table"][1] * 2) and np.all(y[1, 2:] == 0)
    assert np.array_equal(scatter_rows(np.array([2, 0, 2]), np.eye(3), 4), [[0, 1, 0], [0, 0, 0], [1, 0, 1],
                                                                             [0, 0, 0]])


def test_one_hot_input_reads_the_same_ids():
    a, b = Embedding(vocab=5, width=3), Embedding(vocab=5, width=3)
    a.build(SeqShape((4,)), ctx())
    b.build(SeqShape((4, 5)), ctx())
    ids = np.array([[0, 4, 2, 1]])
    assert np.array_equal(a.forward(Sequences(ids.astype(float))).data,
                          b.forward(Sequences(np.eye(5)[ids])).data)


def test_tied_projection_gradient_reaches_the_table():
    spec = [["embed", {"vocab": 6, "width": 4, "name": "tok"}], ["posenc"], ["unembed", {"tie": "tok"}]]
    model = Model(None, spec, input_shape=SeqShape((4,)), output_shape=SeqShape((4, 3)), mode="seqselect",
                  dtype="float64", seed=1, printer=lambda *a: None)
    rng = np.random.default_rng(16)
    x = Sequences(rng.integers(0, 6, (3, 4)).astype(float), np.array([4, 2, 3]))
    y = np.eye(3)[rng.integers(0, 3, (3, 4))]
    small({k: v for k, v in check_model_gradients(model, x, y).items()})
    assert model.layers[2].parameter_count() == 6              # only the bias: E is the embedding's


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_positional_encoding(kind):
    layer = PositionalEncoding(kind=kind, max_len=7)
    layer.attach("p")
    small(check_layer_gradients(layer, SeqShape((T, D)), x=seqs(), rng=2))
    if kind == "sinusoidal":
        y = layer.forward(Sequences(np.zeros((1, T, D)))).data[0]
        assert np.max(np.abs(y - ref.sinusoid(range(T), D))) < 1e-12


def test_rms_norm_and_seqpool_gradients():
    for layer in (RMSNorm(), SequencePool("mean"), SequencePool("last"), SequencePool("first")):
        layer.attach("l")
        small(check_layer_gradients(layer, SeqShape((T, D)), x=seqs(), rng=2))
    norm = RMSNorm(epsilon=1e-6)
    norm.build(SeqShape((T, D)), ctx())
    x = seqs()
    y = norm.forward(x).data
    assert np.allclose(y[0], ref.rms_norm(x.data[0], norm.params["gain"], 1e-6))


def test_erf_is_accurate_in_float64():
    x = np.linspace(-7, 7, 28001)
    exact = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - exact)) < 1e-11


@pytest.mark.parametrize("cls,opts,shape", [
    (MultiHeadAttention, {"heads": 2}, SeqShape((T, D))),
    (MultiHeadAttention, {"heads": 2, "causal": True, "rotary": True}, SeqShape((T, D))),
    (RMSNorm, {}, SeqShape((T, D))),
    (PositionalEncoding, {"kind": "learned"}, SeqShape((T, D))),
    (SequencePool, {}, SeqShape((T, D))),
])
def test_check_layer_contract(cls, opts, shape):
    check_layer(cls, opts, shape)


def test_check_layer_contract_of_the_embedding():
    def ids(rng, dtype, batch):
        return Sequences(rng.integers(0, 7, (batch, T)).astype(dtype), np.array([T] + [2] * (batch - 1)))
    check_layer(Embedding, {"vocab": 7, "width": 4, "padding_id": 0}, SeqShape((T,)), inputs=ids)


def test_transformer_macros_build_train_and_check():
    macros = load_macro_file("transformer")
    args = {"#heads": 2, "#width": 8, "#ffn": 16, "#act": "gelu", "#keep": 1.0}
    rng = np.random.default_rng(17)
    for block in ("encoder_pre", "encoder_post", "decoder_pre", "decoder_post"):
        spec = [["embed", {"vocab": 7, "width": 8}], ["posenc"], ["custom", {"name": block, "args": args}],
                ["seqpool"]]
        model = Model(None, spec, input_shape=SeqShape((5,)), output_shape=(3,), mode="select", macros=macros,
                      dtype="float64", seed=1, printer=lambda *a: None)
        x = Sequences(rng.integers(0, 7, (4, 5)).astype(float), np.array([5, 3, 1, 4]))
        y = np.eye(3)[rng.integers(0, 3, 4)]
        errors = check_model_gradients(model, x, y)
        assert max(errors.values()) < 1e-5, (block, errors)


def test_bad_input_is_one_clear_error():
    macros = load_macro_file("transformer")
    build = dict(input_shape=SeqShape((5,)), output_shape=(3,), mode="select", macros=macros,
                 printer=lambda *a: None)
    with pytest.raises(SpecError, match=r"layers\[1\].*not divisible by 3"):
        Model(None, [["embed", {"vocab": 7, "width": 8}], ["attention", {"heads": 3}], ["seqpool"]], **build)
    with pytest.raises(SpecError, match=r"layers\[1\].*longer than the positional table of max_len 4"):
        Model(None, [["embed", {"vocab": 7, "width": 8}], ["posenc", {"max_len": 4}], ["seqpool"]], **build)
    args = {"#heads": 2, "#width": 8, "#ffn": 16, "#act": "gelu", "#keep": 1.0, "#memory": "source"}
    with pytest.raises(SpecError, match="cross-attention reads the memory 'source', but nothing provides it"):
        Model(None, [["embed", {"vocab": 7, "width": 8}], ["custom", {"name": "cross_decoder_pre", "args": args}],
                     ["seqpool"]], **build)
    layer = MultiHeadAttention(heads=2, causal=True)
    layer.path = "encoder[2]"
    with pytest.raises(SpecError, match=r"encoder\[2\].*causal: true in an encoder"):
        layer.build(SeqShape((5, 8)), ctx(encoder=True))
    model = Model(None, [["embed", {"vocab": 7, "width": 8}], ["seqpool"]], **build)
    with pytest.raises(AlzzaError, match=r"layers\[0\].*example 1, step 2 \(9\.0\) is not an id in 0\.\.6"):
        model.forward(Sequences(np.array([[1, 2, 3, 4, 5], [1, 2, 9, 0, 0]], dtype=float)))
    cross = MultiHeadAttention(heads=2, memory="source")
    cross.build(SeqShape((5, 8)), ctx(memories={"source": SeqShape((3, 8))}))
    with pytest.raises(AlzzaError, match="none is bound"):
        cross.forward(seqs(t=5))
    with pytest.raises(SpecError, match=r"'full' works on single examples.*seqwrap"):
        Model(None, [["embed", {"vocab": 7, "width": 8}], ["add", ["full", {"width": 8}]], ["seqpool"]], **build)


def test_decoding_a_whole_decoder_token_by_token_equals_its_forward():
    from alzza.layers.attention import start_decoding, stop_decoding

    macros = load_macro_file("transformer")
    args = {"#heads": 2, "#width": 8, "#ffn": 16, "#act": "gelu", "#keep": 1.0}
    spec = [["embed", {"vocab": 7, "width": 8}], ["posenc", {"kind": "learned"}],
            ["custom", {"name": "decoder_pre", "args": args}], ["custom", {"name": "decoder_post", "args": args}]]
    model = Model(None, spec, input_shape=SeqShape((6,)), output_shape=SeqShape((6, 7)), mode="seqselect",
                  macros=macros, dtype="float64", seed=3, printer=lambda *a: None)
    ids = np.random.default_rng(18).integers(0, 7, (2, 6)).astype(float)
    def run(part):  # the ids moved to the model's device, the outputs brought back
        return to_host(model.network.forward(Sequences(model.device.asarray(part))).data)
    full = run(ids)
    start_decoding(model.network)
    steps = [run(ids[:, t:t + 1])[:, 0] for t in range(6)]
    stop_decoding(model.network)
    assert np.max(np.abs(np.stack(steps, axis=1) - full)) < 1e-12
    assert np.array_equal(run(ids), full)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_backward_reading_phi_from_the_output_equals_the_direct_derivative(dtype):
    from alzza.ops.activations import GELU
    from alzza.ops.erf import normal_cdf

    z = np.concatenate([np.linspace(-12, 12, 2001), [0.0, 1e-30, -1e-30, -60.0, 60.0]]).astype(dtype)
    gelu = GELU()
    y = gelu.forward(z.copy())
    direct = normal_cdf(z) + z * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    got = gelu.backward(np.ones_like(z), y, z)
    assert got.dtype == dtype and np.all(np.isfinite(got))
    # the series behind normal_cdf is exact to ~1e-12 in float64 (it gives Φ(0) = ½ + 5e-13; y/z gives ½)
    tol = 2e-12 if dtype == np.float64 else 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, direct, rtol=tol, atol=tol)


def test_erfc_in_place_recurrence_is_bit_for_bit_the_plain_form():
    from alzza.ops import erf as erf_module

    def plain(z):
        one = z.dtype.type(1)
        t = 2 / (2 + z)
        y2 = 2 * (2 * t - one)
        b1, b2 = np.zeros_like(z), np.zeros_like(z)
        for c in erf_module.COEFFICIENTS[erf_module.terms_for(z.dtype) - 1:0:-1]:
            b1, b2 = y2 * b1 - b2 + z.dtype.type(c), b1
        f = 0.5 * y2 * b1 - b2 + z.dtype.type(erf_module.COEFFICIENTS[0])
        return t * np.exp(f - z * z)

    for dtype in (np.float32, np.float64):
        z = np.abs(np.random.default_rng(0).standard_normal(5000) * 4).astype(dtype)
        assert np.array_equal(erf_module._erfc_nonnegative(z), plain(z))


def test_float32_erf_with_its_shorter_series_is_as_accurate_as_the_full_one(monkeypatch):
    import math

    from alzza.ops import erf as erf_module

    assert erf_module.terms_for(np.float64) == len(erf_module.COEFFICIENTS)
    assert erf_module.terms_for(np.float32) < len(erf_module.COEFFICIENTS)
    x = np.linspace(-6, 6, 20001).astype(np.float32)
    exact = np.array([math.erf(float(v)) for v in x])          # erf of the float32 inputs themselves
    short = np.max(np.abs(erf_module.erf(x).astype(np.float64) - exact))
    monkeypatch.setattr(erf_module, "terms_for", lambda dtype: len(erf_module.COEFFICIENTS))
    full = np.max(np.abs(erf_module.erf(x).astype(np.float64) - exact))
    assert short <= full + 1e-8 and short < 4e-7                # float32 rounding, not the dropped tail
