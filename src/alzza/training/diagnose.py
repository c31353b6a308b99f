"""Where did the first NaN or inf come from? Run only when a loss has gone non-finite.

Checking every activation on every step would cost time on every run; instead, when
a step's loss is not finite, the trainer (which has not applied that step: see
:meth:`alzza.models.step.TrainingStep.train_step`) calls :func:`explain_non_finite`
on the same batch, which

1. blames the data when the batch's inputs or targets hold NaN or inf (no learning
   rate fixes that), else
2. re-runs the batch forward layer by layer (training mode, as in the step) and names
   the first layer whose output is not finite — descending into serial composites so
   the innermost layer is named — else
3. says the outputs were finite and the loss itself overflowed.
"""

from __future__ import annotations

import numpy as np

from ..sequences import Sequences


def _data(a):
    return a.data if isinstance(a, Sequences) else a


def non_finite_count(a) -> int:
    a = _data(a)
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fc":
        return 0
    return int(a.size - np.count_nonzero(np.isfinite(a)))


def _first_bad_layer(layers, x):
    """(path of the first layer whose output is non-finite, its input) or (None, last output)."""
    for layer in layers:
        y = layer.forward(x, True)
        if non_finite_count(y):
            inner = getattr(layer, "layers", None)
            if type(layer).__name__ in ("Serial", "Loop") and inner:
                path, _ = _first_bad_layer(inner, x)
                if path is not None:
                    return path, x
            return f"{layer.path or '?'} ({layer.type_name})", x
        x = y
    return None, x


def _stages(model):
    """(name, layers, input shape) of what a batch passes through: a Model's network, or a chain's parts."""
    route = getattr(model, "route", None)
    if route is not None and not hasattr(model, "network"):  # a family's Chain
        return [(part.name, part.network.layers, part.input_shape) for part in route]
    network = getattr(model, "network", None)
    if network is not None:
        return [("", network.layers, None)]
    return []


def explain_non_finite(model, x, y) -> str:
    """One sentence: what made this batch's loss non-finite, and what to try."""
    bad_x, bad_y = non_finite_count(x), non_finite_count(y)
    if bad_x or bad_y:
        what = " and ".join(f"{n} non-finite {kind} value(s)" for n, kind in ((bad_x, "input"), (bad_y, "target"))
                            if n)
        return (f"the batch holds {what} (NaN or inf): the data is at fault, not the learning rate; "
                "check the data files for empty, 'nan' or 'inf' cells")
    runtime = getattr(model, "runtime", None)
    cast = runtime.cast if runtime is not None else None
    try:
        with np.errstate(all="ignore"):
            h = cast(x) if cast is not None else x
            for name, layers, shape in _stages(model):
                if shape is not None and isinstance(h, np.ndarray) and h.shape[1:] != tuple(shape):
                    h = h.reshape((len(h),) + tuple(shape))
                path, h = _first_bad_layer(layers, h)
                if path is not None:
                    return (f"the first non-finite value (NaN or inf) appeared in the output of layer {path}"
                            + (f" (in the {name})" if name and not path.startswith(name) else "")
                            + "; check that layer's options (e.g. a huge noise std), or try a lower learning rate")
    except Exception:  # noqa: BLE001 — a diagnosis must never hide the error it explains
        return "the loss overflowed; try a lower learning rate"
    return ("every layer's output was finite, so the loss itself overflowed; try a lower learning rate or "
            "standardised inputs")
