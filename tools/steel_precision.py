"""Evidence for the chapter 3 rows: the single-layer steel model at float32 and float64.

The book's arrays are float64; alzza computes in float32. On steel's raw inputs (values up
to about 10^7) the logits are huge from the first step, the softmax is saturated and every
update is lr · (one-hot − y) · x: the weights are the small initial ones plus a sum that
scales with the learning rate, so in float64 the predictions hardly depend on it. This
prints the test accuracy of steel-slp and steel-slp-lr0.0001 at seeds 1234, 1 and 2 (the
seeds of docs/reproduction.json) in both precisions, trained exactly as ``alzza run NAME
--seed SEED`` trains them.

    PYTHONPATH=src python tools/steel_precision.py
"""

import numpy as np

from alzza.data.registry import make_dataset
from alzza.experiments import find_experiment
from alzza.experiments.runner import build_model

SEEDS = (1234, 1, 2)

for name in ("steel-slp", "steel-slp-lr0.0001"):
    exp = find_experiment(name)
    train = exp.train
    for dtype in (np.float32, np.float64):
        accuracies = []
        for seed in SEEDS:
            model = build_model(exp, make_dataset(exp.dataset, seed=seed), seed, printer=lambda *a, **k: None,
                                dtype=dtype)
            model.train(train["epochs"], train["batch_size"], train["learning_rate"], train["epochs"], progress=False)
            accuracies.append(f"{float(model.test()['accuracy']):.3f}")
        runs = ", ".join(f"seed {s} {a}" for s, a in zip(SEEDS, accuracies, strict=True))
        print(f"{name:20} {np.dtype(dtype).name}: {runs}")
