"""float64 parity with PyTorch for the Transformer's layers (outputs, input and weight gradients),
variable lengths included, and torch's two opposite boolean mask conventions."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.experiments.catalogue import load_macro_file
from alzza.layers.initializers import Initializer
from alzza.layers import BuildContext
from alzza.layers.attention import MultiHeadAttention, bind_memory, memory_gradient
from alzza.layers.embedding import Embedding
from alzza.layers.rmsnorm import RMSNorm
from alzza.models import Model
from alzza.ops.activations import get_activation
from alzza.sequences import SeqShape, Sequences

torch = pytest.importorskip("torch")
TOL = 1e-6
N, T, S, D, DM, H = 3, 6, 4, 8, 5, 2
LENGTHS = np.array([6, 3, 1])
MEMORY_LENGTHS = np.array([2, 4, 3])


def ctx(seed=0, memories=None):
    return BuildContext(np.random.default_rng(seed), np.dtype(np.float64), Initializer("glorot"),
                        memories=dict(memories or {}))


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def scramble(layer, seed=5):
    rng = np.random.default_rng(seed)
    for value in layer.params.values():
        value += rng.standard_normal(value.shape) * 0.3


def real(lengths, steps):
    return (np.arange(steps)[None, :] < lengths[:, None])[:, :, None]


def max_err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_torch_multihead_attention(causal):
    rng = np.random.default_rng(1)
    layer = MultiHeadAttention(heads=H, causal=causal)
    layer.build(SeqShape((T, D)), ctx())
    scramble(layer)
    x = rng.standard_normal((N, T, D))
    dy = rng.standard_normal((N, T, D))
    y = layer.forward(Sequences(x, LENGTHS)).data
    dx = layer.backward(dy)

    mha = torch.nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(t64(layer.params["w_qkv"].T))
        mha.in_proj_bias.copy_(t64(layer.params["b_qkv"]))
        mha.out_proj.weight.copy_(t64(layer.params["w_o"].T))
        mha.out_proj.bias.copy_(t64(layer.params["b_o"]))
    xt = t64(x * real(LENGTHS, T), grad=True)            # alzza never reads padded steps
    padding = torch.tensor(~real(LENGTHS, T)[:, :, 0])   # True = NOT allowed (MultiheadAttention)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None
    yt, _ = mha(xt, xt, xt, key_padding_mask=padding, attn_mask=mask, need_weights=False)
    keep = t64(real(LENGTHS, T))
    (yt * keep * t64(dy)).sum().backward()
    errors = {
        "y": max_err(y, (yt * keep).detach().numpy()),
        "dx": max_err(dx, xt.grad.numpy()),
        "w_qkv": max_err(layer.grads["w_qkv"], mha.in_proj_weight.grad.numpy().T),
        "b_qkv": max_err(layer.grads["b_qkv"], mha.in_proj_bias.grad.numpy()),
        "w_o": max_err(layer.grads["w_o"], mha.out_proj.weight.grad.numpy().T),
        "b_o": max_err(layer.grads["b_o"], mha.out_proj.bias.grad.numpy()),
    }
    print("self-attention causal" if causal else "self-attention", errors)
    assert max(errors.values()) < TOL, errors
    assert np.all(y[~real(LENGTHS, T)[:, :, 0]] == 0) and np.all(dx[~real(LENGTHS, T)[:, :, 0]] == 0)


def test_cross_attention_matches_torch_with_its_own_memory_width():
    rng = np.random.default_rng(2)
    layer = MultiHeadAttention(heads=H, memory="source")
    layer.build(SeqShape((T, D)), ctx(memories={"source": SeqShape((S, DM))}))
    scramble(layer)
    x, mem = rng.standard_normal((N, T, D)), rng.standard_normal((N, S, DM))
    dy = rng.standard_normal((N, T, D))
    bind_memory([layer], "source", Sequences(mem, MEMORY_LENGTHS))
    y = layer.forward(Sequences(x, LENGTHS)).data
    dx = layer.backward(dy)
    dmem = memory_gradient([layer], "source")

    mha = torch.nn.MultiheadAttention(D, H, batch_first=True, kdim=DM, vdim=DM, dtype=torch.float64)
    w_k, w_v = layer.params["w_kv"][:, :D], layer.params["w_kv"][:, D:]
    with torch.no_grad():
        mha.q_proj_weight.copy_(t64(layer.params["w_q"].T))
        mha.k_proj_weight.copy_(t64(w_k.T))
        mha.v_proj_weight.copy_(t64(w_v.T))
        mha.in_proj_bias.copy_(t64(np.concatenate([layer.params["b_q"], layer.params["b_kv"]])))
        mha.out_proj.weight.copy_(t64(layer.params["w_o"].T))
        mha.out_proj.bias.copy_(t64(layer.params["b_o"]))
    xt = t64(x * real(LENGTHS, T), grad=True)
    mt = t64(mem * real(MEMORY_LENGTHS, S), grad=True)
    yt, _ = mha(xt, mt, mt, key_padding_mask=torch.tensor(~real(MEMORY_LENGTHS, S)[:, :, 0]), need_weights=False)
    keep = t64(real(LENGTHS, T))
    (yt * keep * t64(dy)).sum().backward()
    errors = {
        "y": max_err(y, (yt * keep).detach().numpy()),
        "dx": max_err(dx, xt.grad.numpy()),
        "dmemory": max_err(dmem, mt.grad.numpy()),
        "w_q": max_err(layer.grads["w_q"], mha.q_proj_weight.grad.numpy().T),
        "w_kv": max_err(layer.grads["w_kv"], np.concatenate([mha.k_proj_weight.grad.numpy().T,
                                                             mha.v_proj_weight.grad.numpy().T], axis=1)),
        "b": max_err(np.concatenate([layer.grads["b_q"], layer.grads["b_kv"]]), mha.in_proj_bias.grad.numpy()),
        "w_o": max_err(layer.grads["w_o"], mha.out_proj.weight.grad.numpy().T),
    }
    print("cross-attention", errors)
    assert max(errors.values()) < TOL, errors


def test_torch_boolean_masks_mean_opposite_things():
    """nn.MultiheadAttention: True = NOT allowed; F.scaled_dot_product_attention: True = allowed.
    alzza's masks (ops.attention.allowed_keys) mean allowed, like the latter."""
    from alzza.ops.attention import allowed_keys

    rng = np.random.default_rng(3)
    q, k, v = (t64(rng.standard_normal((1, 1, 4, 4))) for _ in range(3))
    allowed = torch.tensor(allowed_keys(np.array([4]), 4, 4, causal=True)[0, 0])      # lower triangle
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    sdpa_causal = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(sdpa, sdpa_causal)                                            # True = allowed
    mha = torch.nn.MultiheadAttention(4, 1, batch_first=True, bias=False, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([torch.eye(4, dtype=torch.float64)] * 3))
        mha.out_proj.weight.copy_(torch.eye(4, dtype=torch.float64))
    x = q[0]
    y_not_allowed, _ = mha(x, x, x, attn_mask=~allowed)                                 # True = NOT allowed
    causal = torch.nn.functional.scaled_dot_product_attention(x[None], x[None], x[None], is_causal=True)[0]
    assert torch.allclose(y_not_allowed, causal)
    y_wrong, _ = mha(x, x, x, attn_mask=allowed)          # the trap: passing "allowed" to MultiheadAttention
    assert not torch.allclose(y_wrong, causal)


def test_embedding_matches_torch_with_a_padding_id():
    rng = np.random.default_rng(4)
    layer = Embedding(vocab=7, width=D, padding_id=0)
    layer.build(SeqShape((T,)), ctx())
    ids = rng.integers(0, 7, (N, T))
    ids[0, :3] = [3, 3, 0]
    dy = rng.standard_normal((N, T, D))
    y = layer.forward(Sequences(ids.astype(float), LENGTHS)).data
    layer.backward(dy)
    emb = torch.nn.Embedding(7, D, padding_idx=0, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(t64(layer.params["table"]))
    yt = emb(torch.tensor(ids)) * t64(real(LENGTHS, T))
    (yt * t64(dy)).sum().backward()
    errors = {"y": max_err(y, yt.detach().numpy()), "table": max_err(layer.grads["table"], emb.weight.grad.numpy())}
    print("embed", errors)
    assert max(errors.values()) < TOL and np.all(layer.grads["table"][0] == 0)


@pytest.mark.parametrize("name,approximate", [("gelu", "none"), ("gelu_tanh", "tanh")])
def test_gelu_matches_torch(name, approximate):
    z = np.linspace(-8, 8, 4001)
    dy = np.random.default_rng(5).standard_normal(z.shape)
    act = get_activation(name)
    y = act.forward(z.copy())
    dz = act.backward(dy, y, z)
    zt = t64(z, grad=True)
    yt = torch.nn.functional.gelu(zt, approximate=approximate)
    (yt * t64(dy)).sum().backward()
    errors = {"y": max_err(y, yt.detach().numpy()), "dz": max_err(dz, zt.grad.numpy())}
    print(name, errors)
    assert max(errors.values()) < 1e-10, errors


def test_rms_norm_matches_torch_on_sequences():
    rng = np.random.default_rng(6)
    layer = RMSNorm(epsilon=1e-6)
    layer.build(SeqShape((T, D)), ctx())
    scramble(layer)
    x, dy = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D))
    y = layer.forward(Sequences(x, LENGTHS)).data
    dx = layer.backward(dy)
    norm = torch.nn.RMSNorm(D, eps=1e-6, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(t64(layer.params["gain"]))
    xt = t64(x, grad=True)
    keep = t64(real(LENGTHS, T))
    yt = norm(xt) * keep
    (yt * t64(dy)).sum().backward()
    errors = {"y": max_err(y, yt.detach().numpy()), "dx": max_err(dx, xt.grad.numpy()),
              "gain": max_err(layer.grads["gain"], norm.weight.grad.numpy())}
    print("rms_normal", errors)
    assert max(errors.values()) < TOL, errors


def test_parameter_counts_match_torch_modules():
    macros = load_macro_file("transformer")
    args = {"#heads": 4, "#width": 16, "#ffn": 32, "#act": "relu", "#keep": 1.0}
    spec = [["embed", {"vocab": 11, "width": 16}], ["custom", {"name": "encoder_post", "args": args}]]
    model = Model(None, spec, input_shape=SeqShape((5,)), output_shape=SeqShape((5, 3)), mode="seqselect",
                  macros=macros, printer=lambda *a: None)
    emb, block = model.layers[0], model.layers[1]
    layer = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert emb.parameter_count() == count(torch.nn.Embedding(11, 16))
    assert block.parameter_count() == count(layer)
    attention = [sub for sub in block.walk() if isinstance(sub, MultiHeadAttention)][0]
    assert attention.parameter_count() == count(torch.nn.MultiheadAttention(16, 4))
