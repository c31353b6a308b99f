"""Text lines for ``visualize``: each example's input, the estimate and the answer."""

from __future__ import annotations

import numpy as np


def _class_name(names, index):
    return names[index] if names and index < len(names) else str(index)


def _select_text(probs, target, names):
    est, ans = int(np.argmax(probs)), int(np.argmax(target))
    mark = "O" if est == ans else "X"
    return f"estimate {_class_name(names, est)}({probs[est]:.2f}) : answer {_class_name(names, ans)} => {mark}"


def estimate_lines(dataset, head, x, estimate, y) -> list[str]:
    """One line per example: ``<input> => estimate … : answer …`` in the head's terms."""
    lines = []
    describe = getattr(dataset, "describe_input", None)
    names = getattr(dataset, "target_names", None)
    for i in range(len(x)):
        shown = describe(x[i]) if describe else ""
        est, ans = estimate[i].reshape(-1), np.asarray(y[i]).reshape(-1)
        if head.mode == "regression":
            text = "estimate " + ", ".join(f"{v:.1f}" for v in est) + " : answer " + ", ".join(f"{v:.1f}" for v in ans)
        elif head.mode == "binary":
            est_yes, ans_yes = est[0] > 0.5, ans[0] > 0.5
            mark = "O" if est_yes == ans_yes else "X"
            text = f"estimate {est[0]:.3f} ({'yes' if est_yes else 'no'}) : answer {'yes' if ans_yes else 'no'} => {mark}"
        elif head.mode == "multi-select":
            parts = []
            for g, (lo, hi) in enumerate(zip(head.bounds[:-1], head.bounds[1:])):
                group_names = names[g] if names else None
                parts.append(_select_text(est[lo:hi], ans[lo:hi], group_names))
            text = " | ".join(parts)
        else:
            text = _select_text(est, ans, names)
        lines.append(f"{shown} => {text}" if shown else text)
    return lines
