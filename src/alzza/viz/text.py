"""Text lines for ``visualize``: each example's input, the estimate and the answer.

Sequences: for an input given as :class:`~alzza.sequences.Sequences`, the data set's
``describe_input`` receives the example's real steps only (an array (length, ...)),
so e.g. automata can print the expression string. For per-step outputs (seqselect,
seqbinary) the line shows the estimate and the answer step by step: the data set's
``describe_output(steps)`` gets a 1-D int array (the class index of each real step;
0/1 for seqbinary) and returns its text; without it, class names from
``target_names`` are joined (without spaces when every name is one character, as
letters of a word), else the indices. The mark is O when every real step is right,
otherwise X with the count of right steps.
"""

from __future__ import annotations

import numpy as np

from ..sequences import Sequences


def own_text(dataset, steps) -> str | None:
    """The data set's own text of per-step classes (:meth:`Dataset.describe_output`; None: it has none)."""
    text = dataset.describe_output(steps) if dataset is not None else None
    return None if text is None else str(text)


def _class_name(names, index):
    return names[index] if names and index < len(names) else str(index)


def _select_text(probs, target, names):
    est, ans = int(np.argmax(probs)), int(np.argmax(target))
    mark = "O" if est == ans else "X"
    return f"estimate {_class_name(names, est)}({probs[est]:.2f}) : answer {_class_name(names, ans)} => {mark}"


def _symbols(dataset, steps, names) -> str:
    """Text of one sequence of per-step classes (see the module docstring)."""
    text = own_text(dataset, steps)
    if text is not None:
        return text
    if names and all(isinstance(n, str) for n in names) and int(steps.max(initial=0)) < len(names):
        parts = [names[int(k)] for k in steps]
        return "".join(parts) if all(len(n) == 1 for n in names) else " ".join(parts)
    return " ".join(str(int(k)) for k in steps)


def _sequence_text(dataset, head, est, ans, names) -> str:
    """``estimate <steps> : answer <steps> => O`` for one example's real steps (est, ans: (L, K))."""
    if head.mode == "seqbinary":
        e_steps = (est > 0.5).astype(np.int64).reshape(len(est), -1)
        a_steps = (ans > 0.5).astype(np.int64).reshape(len(ans), -1)
        if e_steps.shape[1] == 1:
            e_steps, a_steps = e_steps[:, 0], a_steps[:, 0]
            e_text, a_text = own_text(dataset, e_steps), own_text(dataset, a_steps)
            e_text = "".join(str(v) for v in e_steps) if e_text is None else e_text
            a_text = "".join(str(v) for v in a_steps) if a_text is None else a_text
        else:
            e_text = " ".join("".join(str(v) for v in row) for row in e_steps)
            a_text = " ".join("".join(str(v) for v in row) for row in a_steps)
        right = int(np.sum(np.all(e_steps.reshape(len(est), -1) == a_steps.reshape(len(ans), -1), axis=1)))
    else:
        e_steps, a_steps = est.argmax(axis=-1), ans.argmax(axis=-1)
        e_text, a_text = _symbols(dataset, e_steps, names), _symbols(dataset, a_steps, names)
        right = int(np.sum(e_steps == a_steps))
    mark = "O" if right == len(est) else f"X ({right}/{len(est)} steps)"
    return f"estimate {e_text} : answer {a_text} => {mark}"


def estimate_lines(dataset, head, x, estimate, y) -> list[str]:
    """One line per example: ``<input> => estimate … : answer …`` in the head's terms."""
    lines = []
    describe = dataset.describe_input if dataset is not None else None
    names = getattr(dataset, "target_names", None)
    y = y.data if isinstance(y, Sequences) else y
    for i in range(len(x)):
        row = x.steps(i) if isinstance(x, Sequences) else x[i]
        shown = describe(row) if describe else ""
        if isinstance(estimate, Sequences) or getattr(head, "sequence", False):
            length = int(estimate.lengths[i]) if isinstance(estimate, Sequences) else len(estimate[i])
            data = estimate.data if isinstance(estimate, Sequences) else estimate
            est = data[i, :length].reshape(length, -1)
            ans = np.asarray(y[i]).reshape(data.shape[1], -1)[:length]
            text = _sequence_text(dataset, head, est, ans, names)
            lines.append(f"{shown} => {text}" if shown else text)
            continue
        est, ans = estimate[i].reshape(-1), np.asarray(y[i]).reshape(-1)
        if head.mode == "regression":
            text = "estimate " + ", ".join(f"{v:.1f}" for v in est) + " : answer " + ", ".join(f"{v:.1f}" for v in ans)
        elif head.mode == "binary":
            est_yes, ans_yes = est[0] > 0.5, ans[0] > 0.5
            mark = "O" if est_yes == ans_yes else "X"
            est_word, ans_word = ("yes" if est_yes else "no"), ("yes" if ans_yes else "no")
            text = f"estimate {est[0]:.3f} ({est_word}) : answer {ans_word} => {mark}"
        elif head.mode == "multi-select":
            parts = []
            for g, (lo, hi) in enumerate(zip(head.bounds[:-1], head.bounds[1:], strict=False)):
                group_names = names[g] if names else None
                parts.append(_select_text(est[lo:hi], ans[lo:hi], group_names))
            text = " | ".join(parts)
        else:
            text = _select_text(est, ans, names)
        lines.append(f"{shown} => {text}" if shown else text)
    return lines


def print_estimates(printer, name: str, dataset, head, x, estimate, y) -> list[str]:
    """The book's visualisation report: a heading, then one estimate line per example."""
    lines = estimate_lines(dataset, head, x, estimate, y)
    printer(f"Model {name} Visualization")
    for line in lines:
        printer(line)
    return lines
