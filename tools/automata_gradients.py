"""Evidence for the chapter 10 rows: how the relu RNN 64 trains on automata, epoch by epoch.

Trains automata-rnn-64 (rnn recur 64 relu, last step → binary head, Adam 0.001, batch 10,
1000 fresh batches per epoch) exactly as ``alzza run automata-rnn-64 --seed SEED`` does,
and prints per epoch: the training accuracy, the accuracy on the fixed validation set,
the norm of the rnn's weight gradient dL/dw over the epoch's steps (median, 99th
percentile, largest), the largest recurrent state h seen, and the spectral radius of
W_h; then the test accuracy.

    book     the data set as shipped: the book's sentence lengths (11–39, mean 20.8)
    uniform  the data set with lengths: uniform (10–40, mean 25; alzza before this change)
    f64      as book, with the model in float64 (the book computes in float64)

    PYTHONPATH=src python tools/automata_gradients.py VARIANT EPOCHS [SEED]
"""

import sys

import numpy as np

from alzza.data.registry import make_dataset
from alzza.experiments.catalogue import find_experiment
from alzza.experiments.runner import build_model

variant, epochs = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1234
if variant not in ("book", "uniform", "f64"):
    raise SystemExit("VARIANT: book, uniform or f64")

data = make_dataset({"name": "automata", "lengths": "uniform" if variant == "uniform" else "book"})
model = build_model(
    find_experiment("automata-rnn-64"),
    data,
    seed=seed,
    printer=lambda *a: None,
    dtype=np.float64 if variant == "f64" else None,
)
rnn = [layer for layer in model.chain.route[0].network.layers if layer.type_name == "rnn"][0]
vx, vy = data.validate_data()
for epoch in range(1, epochs + 1):
    norms, accuracies, largest_h = [], [], 0.0
    for x, y in data.train_batches(10, model.rng):
        _, accuracy = model.train_step(x, y, 0.001)
        norms.append(float(np.linalg.norm(rnn.grads["w"])))
        accuracies.append(accuracy)
        largest_h = max(largest_h, float(rnn._states.max()))
    wh = rnn.params["w"][rnn.features :].astype(np.float64)
    radius = float(np.max(np.abs(np.linalg.eigvals(wh))))
    norms = np.array(norms)
    print(
        f"epoch {epoch}: train acc {np.mean(accuracies):.3f} val {float(model.evaluate(vx, vy)['accuracy']):.3f} "
        f"|grad w| median {np.median(norms):.3g} p99 {np.percentile(norms, 99):.3g} max {norms.max():.3g}  "
        f"max h {largest_h:.3g}  rho(W_h) {radius:.3f}",
        flush=True,
    )
tx, ty = data.test_data()
print("test accuracy", float(model.evaluate(tx, ty)["accuracy"]))
