"""Evidence for the chapter 12 rows on the stand-in movie: does the model learn, and why not.

Trains the videoshot-lstm-5 network (seqwrap(avg 30, conv 3×12, full 16) + lstm 8, head
skip_steps 1, Adam 0.001, batch 10) on the stand-in, on one of three inputs, and prints
the LSTM's input features and gate pre-activations (the x·W_x + b part) on the fixed test
set before and after training, then the test metrics.

    raw     the book's input: 0–255 pixels
    scaled  pixels / 255
    diff    step 0 the frame / 255, later steps the difference to the previous frame / 255
    pooled  no training: the stand-in's labels against its frame indices, and how far apart
            frames are after avg pooling stride 30 (the first layer), inside a position
            and across positions (EPOCHS is ignored)

    PYTHONPATH=src ALZZA_DATA=<data> python tools/videoshot_plateau.py VARIANT EPOCHS [SEED]
"""

import sys
import time

import numpy as np

import alzza
from alzza.data.sets.videoshot import make_videoshot_standin
from alzza.sequences import Sequences

variant = sys.argv[1]
epochs = int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1234
ds = make_videoshot_standin(None, None, printer=lambda *a: None)
raw = ds.frames
if variant == "pooled":
    index, target = ds.generate_indices(2000, np.random.default_rng(seed))
    per = ds.per_position
    continued = (index[:, 1:] == index[:, :-1] + 1) & (index[:, 1:] // per == index[:, :-1] // per)
    print(
        "steps 1+: target disagrees with the frame indices at",
        int(np.sum((target[:, 1:] == 0) != continued)),
        "of",
        continued.size,
        f"steps; P(new shot) {target[:, 1:].mean():.3f}",
    )
    f = raw.astype(np.float32)
    h, w = f.shape[1] // 30, f.shape[2] // 30
    pooled = (
        f[:, : h * 30, : w * 30].reshape(len(f), h, 30, w, 30, 3).mean(axis=(2, 4)).reshape(ds.position_count, per, -1)
    )
    inside = np.abs(np.diff(pooled, axis=1)).mean(axis=-1).ravel()
    a, b = np.triu_indices(ds.position_count, 1)
    across = np.abs(pooled[a][:, :, None] - pooled[b][:, None]).mean(axis=-1).ravel()
    print(
        f"pooled mean |difference| (0-255): inside a position mean {inside.mean():.2f} max {inside.max():.2f}; across positions mean {across.mean():.2f} min {across.min():.2f}"  # noqa: E501
    )
    sys.exit(0)
if variant.startswith("scaled"):
    ds.frames = raw.astype(np.float32) / 255.0
    ds.set_timesteps(5)
if variant.startswith("diff"):
    # the difference of consecutive frames (step 0: the frame itself) as the input
    gen0 = ds.generate

    def gen(count, rng):
        x, y = gen0(count, rng)
        d = x.data.copy()
        d[:, 1:] = x.data[:, 1:] - x.data[:, :-1]
        return Sequences(d / 255.0), y

    ds.generate = gen
    ds.set_timesteps(5)
layers = [
    ["seqwrap", ["avg", {"stride": 30}], ["conv", {"ksize": 3, "chn": 12}], ["full", {"width": 16}]],
    ["lstm", {"recur_size": 8, "outseq": True}],
]
model = alzza.Model(
    ds, layers, name="vs-" + variant, optimizer="adam", seed=seed, head={"skip_steps": 1}, printer=lambda *a: None
)
lstm = model.chain.layers[-1] if hasattr(model.chain, "layers") else None


# record the LSTM gate pre-activations (a = x·W_x + h·W_h + b) on a test batch
def gate_stats(tag):
    x, y = ds._test
    net = model.chain
    seq = net.parts[0].network.layers[:2]
    h = x
    for layer in seq[:-1]:
        h = layer.forward(h)
    feats = h.data if isinstance(h, Sequences) else h
    w, b = seq[-1].params["w"], seq[-1].params["b"]
    f = feats.shape[-1]
    a = feats @ w[:f] + b
    H = 8
    names = "f i o g".split()
    print(
        tag,
        f"lstm input feats: min {feats.min():.2f} max {feats.max():.2f} mean|.| {np.abs(feats).mean():.2f} dead-frac {(feats.reshape(-1, f).max(0) <= 0).mean():.2f}",  # noqa: E501
        " x-part preact:",
        ", ".join(
            f"{n}[{a[..., k * H : (k + 1) * H].min():.1f},{a[..., k * H : (k + 1) * H].max():.1f}]"
            for k, n in enumerate(names)
        ),
    )
    sat = np.mean(np.abs(a[..., : 3 * H]) > 6)
    print(tag, f"share |a|>6 in sigmoid gates {sat:.3f}, |a_g|>3 {np.mean(np.abs(a[..., 3 * H :]) > 3):.3f}")


gate_stats("init")
t = time.time()
hist = model.train(epochs=epochs, batch_size=10, learning_rate=0.001, report=0)
gate_stats("end")
x, y = ds._test
m = model.evaluate(x, y)
print(
    variant,
    "seed",
    seed,
    "epochs",
    epochs,
    "test",
    {k: round(float(v), 3) for k, v in m.items() if not isinstance(v, tuple)},
    "%.0fs" % (time.time() - t),
)
