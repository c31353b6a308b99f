"""PyTorch reference models for the benchmark suite — a translator from a *built* alzza
network to the equivalent ``torch.nn`` module.

Torch is the yardstick only: nothing in alzza imports this file; the suite
(:mod:`alzza.bench.harness`) loads it by path when torch is installed.

The translation mirrors the structure layer by layer (serial, loop, parallel, add with
channel tiling, conv with its L/A/B actions and SAME padding, max/avg pooling, batch
norm, dense, dropout, LSTM; and the Transformer's embed, sinusoidal posenc, self-attention
as ``nn.MultiheadAttention``, layer norm and the residual add on sequences), with torch's
own layout: images are NCHW on the torch side, so a dense layer after convolutions flattens
(C, H, W) where alzza flattens (H, W, C) —
the same amount of work, different weight order. Weights are not copied: the suite
compares time, and the parameter counts are checked equal instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACT = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "none": nn.Identity, "gelu": nn.GELU,
       "gelu_tanh": lambda: nn.GELU(approximate="tanh")}


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def torch_info() -> dict:
    return {"version": torch.__version__, "threads": torch.get_num_threads(),
            "parallel": torch.__config__.parallel_info().splitlines()[:8]}


class Pad(nn.Module):
    """TensorFlow-style SAME padding, possibly asymmetric: (left, right, top, bottom)."""

    def __init__(self, pads, value=0.0):
        super().__init__()
        pt, pb, pl, pr = pads
        self.pad, self.value = (pl, pr, pt, pb), value

    def forward(self, x):
        return F.pad(x, self.pad, value=self.value)


class Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(len(x), -1)


class AddBlock(nn.Module):
    """alzza's ``add``: Σ tile(branch(x)) [+ tile(x)], then actions A/B."""

    def __init__(self, branches, use_x, width, post):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.use_x, self.width, self.post = use_x, width, post

    def _tile(self, t):
        c = t.shape[1]
        return t if c == self.width else t.repeat(1, self.width // c, 1, 1)

    def forward(self, x):
        total = self._tile(self.branches[0](x))
        for branch in self.branches[1:]:
            total = total + self._tile(branch(x))
        if self.use_x:
            total = total + self._tile(x)
        return self.post(total)


class Concat(nn.Module):
    def __init__(self, branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], dim=1)


class LastStepLSTM(nn.Module):
    """nn.LSTM over (N, T, F); the whole sequence or only the last step's hidden state."""

    def __init__(self, features, hidden, outseq):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.outseq = outseq

    def forward(self, x):
        out, _ = self.lstm(x)
        return out if self.outseq else out[:, -1]


class RepeatLSTM(nn.Module):
    """alzza's lstm with ``inseq: false``: one vector (N, F) fed at each of ``steps`` steps."""

    def __init__(self, features, hidden, steps, outseq):
        super().__init__()
        self.lstm = LastStepLSTM(features, hidden, outseq)
        self.steps = steps

    def forward(self, x):
        return self.lstm(x.unsqueeze(1).expand(-1, self.steps, -1))


class TimeDistributed(nn.Module):
    """alzza's ``seqwrap``: the body on every step, (N, T, ...) → (N·T, ...) → (N, T, ...)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        n, t = x.shape[:2]
        y = self.body(x.reshape((n * t,) + tuple(x.shape[2:])))
        return y.reshape((n, t) + tuple(y.shape[1:]))


class SeqAdd(nn.Module):
    """alzza's ``add`` on sequences (N, T, D): Σ branch(x) [+ x], no tiling, no actions."""

    def __init__(self, branches, use_x):
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.use_x = use_x

    def forward(self, x):
        total = x if self.use_x else 0
        for branch in self.branches:
            total = total + branch(x)
        return total


class IdEmbedding(nn.Module):
    """alzza's ``embed`` on token ids held as floats (N, T): the ids cast to int64, then a row lookup."""

    def __init__(self, vocab, width):
        super().__init__()
        self.table = nn.Embedding(vocab, width)

    def forward(self, ids):
        return self.table(ids.long())


class Sinusoids(nn.Module):
    """alzza's sinusoidal ``posenc``: x + P[:T], P a fixed buffer (no parameters)."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", torch.from_numpy(table.copy()).float())

    def forward(self, x):
        return x + self.table[: x.shape[1]]


class SelfAttention(nn.Module):
    """alzza's self-``attention`` as ``nn.MultiheadAttention(D, h, batch_first=True)`` (4D² + 4D
    parameters, same as alzza's W_qkv, b_qkv, W_o, b_o), causal by torch's boolean mask (True = NOT allowed)."""

    def __init__(self, width, heads, causal, keep_prob, bias, steps):
        super().__init__()
        self.mha = nn.MultiheadAttention(width, heads, dropout=1.0 - keep_prob, bias=bias, batch_first=True)
        self.causal = causal
        self.register_buffer("mask", torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1))

    def forward(self, x):
        t = x.shape[1]
        mask = self.mask[:t, :t] if self.causal else None
        return self.mha(x, x, x, attn_mask=mask, need_weights=False, is_causal=self.causal)[0]


def _bn(channels, ndim, affine, layer):
    cls = nn.BatchNorm2d if ndim == 3 else nn.BatchNorm1d
    return cls(channels, eps=layer.epsilon, momentum=layer.exp_ratio, affine=affine)


def translate(layer) -> nn.Module:
    """The torch module equivalent to a built alzza layer (recursively)."""
    kind = layer.type_name
    if kind == "serial":
        return nn.Sequential(*[translate(c) for c in layer.layers])
    if kind == "loop":
        return nn.Sequential(*[translate(c) for c in layer.copies])
    if kind == "full":
        mods = [Flatten()] if len(layer.input_shape) > 1 else []
        mods += [nn.Linear(layer.params["w"].shape[0], layer.width), ACT[layer.actfunc]()]
        return nn.Sequential(*mods)
    if kind == "conv":
        c = layer.input_shape[-1]
        pads = layer._geometry[2]
        mods, channels = [], c
        for action in layer.actions:
            if action == "L":
                if any(pads):
                    mods.append(Pad(pads))
                mods.append(nn.Conv2d(c, layer.chn, layer.ksize, layer.stride))
                channels = layer.chn
            elif action == "A":
                mods.append(ACT[layer.actfunc]())
            else:
                mods.append(_bn(channels, 3, False, layer.bn))
        return nn.Sequential(*mods)
    if kind in ("max", "avg"):
        mods = []
        if any(layer.pads):
            mods.append(Pad(layer.pads, float("-inf") if kind == "max" else 0.0))
        pool = nn.MaxPool2d if kind == "max" else nn.AvgPool2d
        mods.append(pool(layer.ksize, layer.stride))
        return nn.Sequential(*mods)
    if kind == "batch_normal":
        return _bn(layer.input_shape[-1], len(layer.input_shape), layer.rescale, layer)
    if kind == "dropout":
        return nn.Dropout(1.0 - layer.keep_prob)
    if kind == "noise":
        return nn.Identity()
    if kind == "parallel":
        return Concat([translate(b) for b in layer.branches])
    if kind == "add" and len(layer.output_shape) == 2 and not layer.actions:  # a sequence (T, D): a residual
        return SeqAdd([translate(b) for b in layer.branches], layer.use_x)
    if kind == "embed":
        if layer.one_hot or layer.scale or layer.padding_id is not None:
            raise NotImplementedError("the torch twin of 'embed' reads token ids, without scale or padding_id")
        return IdEmbedding(layer.vocab, layer.width)
    if kind == "posenc":
        if layer.kind != "sinusoidal":
            raise NotImplementedError("the torch twin of 'posenc' is the sinusoidal table")
        return Sinusoids(layer.table())
    if kind == "attention":
        if layer.memory is not None or layer.rotary:
            raise NotImplementedError("the torch twin of 'attention' is self-attention without rotary")
        return SelfAttention(layer.width, layer.heads, layer.causal, layer.keep_prob, layer.bias,
                             int(layer.input_shape[0]))
    if kind == "layer_normal":
        return nn.LayerNorm(layer.input_shape[-1], eps=layer.epsilon, elementwise_affine=layer.rescale)
    if kind == "gelu":
        return nn.GELU()
    if kind == "add":
        post = []
        for action in layer.actions:
            if action == "A":
                post.append(ACT[layer.actfunc]())
            else:
                post.append(_bn(layer.output_shape[-1], len(layer.output_shape), True, layer.bn))
        return AddBlock([translate(b) for b in layer.branches], layer.use_x, layer.output_shape[-1],
                        nn.Sequential(*post))
    if kind == "lstm":
        features = layer.features
        hidden = getattr(layer, "recur_size", None) or getattr(layer, "hidden", None)
        if not layer.inseq:
            return RepeatLSTM(features, int(hidden), layer.steps, bool(layer.outseq))
        return LastStepLSTM(features, int(hidden), bool(getattr(layer, "outseq", False)))
    if kind == "seqwrap":
        return TimeDistributed(nn.Sequential(*[translate(c) for c in layer.layers]))
    raise NotImplementedError(f"no torch translation for alzza layer type {kind!r}")


def twin_device(model) -> str:
    """The twin runs where the alzza model does: 'cuda' for a CuPy model (PyTorch CUDA), else 'cpu'."""
    device = getattr(model, "device", None)
    return "cuda" if getattr(device, "name", "cpu") == "cuda" else "cpu"


class TorchTwin:
    """The torch model of an alzza Model, its data (torch layout) and its SGD step."""

    def __init__(self, model, mode, learning_rate, x, y, labels):
        device = twin_device(model)
        self.net = translate(model.network).float().to(device)
        self.mode = mode
        x_t = torch.from_numpy(x.copy())
        if x.ndim == 4:  # NHWC → NCHW, once, outside the timed step
            x_t = x_t.permute(0, 3, 1, 2).contiguous()
        elif x.ndim == 5:  # a sequence of NHWC frames → (N, T, C, H, W)
            x_t = x_t.permute(0, 1, 4, 2, 3).contiguous()
        self.x = x_t.to(device)
        self.y = torch.from_numpy(y.copy()).to(device)
        self.labels = torch.from_numpy(labels.astype("int64")).to(device)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=learning_rate)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def train_step(self):
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        out = self.net(self.x)
        if self.mode in ("binary", "seqbinary"):
            loss = F.binary_cross_entropy_with_logits(out, self.y)
        elif self.mode == "seqselect":  # a softmax cross-entropy per step
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), self.labels.reshape(-1))
        else:
            loss = F.cross_entropy(out, self.labels)
        loss.backward()
        self.opt.step()
        return loss.item()

    def infer(self):
        self.net.eval()
        with torch.inference_mode():
            return self.net(self.x)


class GanTwin:
    """The GAN of an alzza Gan model: one discriminator step on real + generated examples,
    then one generator step through the discriminator (whose weights that step leaves alone)."""

    def __init__(self, model, mode, learning_rate, x, y, labels):
        self.device = device = twin_device(model)
        self.gen = translate(model.parts["generator"].network).float().to(device)
        self.dis = translate(model.parts["discriminator"].network).float().to(device)
        self.seed_shape = tuple(model.seed_shape)
        self.x = torch.from_numpy(x.copy()).to(device)
        n = len(x)
        self.mixed_labels = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)]).to(device)
        self.ones = torch.ones(n, 1, device=device)
        self.opt_d = torch.optim.SGD(self.dis.parameters(), lr=learning_rate)
        self.opt_g = torch.optim.SGD(self.gen.parameters(), lr=learning_rate)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in [*self.gen.parameters(), *self.dis.parameters()])

    def _seeds(self):
        return torch.rand((len(self.x),) + self.seed_shape, device=self.device) * 2 - 1

    def train_step(self):
        self.opt_d.zero_grad(set_to_none=True)
        fake = self.gen(self._seeds()).detach()
        d_loss = F.binary_cross_entropy_with_logits(self.dis(torch.cat([self.x, fake])), self.mixed_labels)
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad(set_to_none=True)
        for p in self.dis.parameters():
            p.requires_grad_(False)
        g_loss = F.binary_cross_entropy_with_logits(self.dis(self.gen(self._seeds())), self.ones)
        g_loss.backward()
        for p in self.dis.parameters():
            p.requires_grad_(True)
        self.opt_g.step()
        return d_loss.item() + g_loss.item()
