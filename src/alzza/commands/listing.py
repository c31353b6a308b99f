"""``alzza list``: one line per shipped experiment — name, chapter, data set, the book's result."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "list", help="list the shipped experiments",
        description="One line per shipped experiment: name, chapter, data set, the book's result.")
    p.add_argument("--chapter", type=int, help="only this chapter")


def run(args, out=print) -> int:
    from ..experiments import list_experiments
    from ..training.loop import format_accuracy

    rows = []
    for exp in list_experiments():
        if args.chapter is not None and exp.chapter != args.chapter:
            continue
        book = " / ".join(f"{k} {format_accuracy(v)}" for k, v in exp.book.items()
                          if k in ("accuracy", "precision", "recall", "f1") and v is not None)
        # row: "book" = the book's cell as printed, "variant" = settings changed on purpose;
        # data: "≠" = run on other data than the book's (stand-ins, MNIST's 10k test digits)
        kind = "beyond the book" if exp.beyond else "variant" if exp.variant else "book"
        rows.append((exp.name, str(exp.chapter or ""), exp.dataset_name + (" ≠" if exp.data_differs else ""),
                     kind, book or "—", exp.title))
    headers = ("name", "ch", "dataset", "row", "book's result", "what")
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip())
    for row in rows:
        out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    out("row: book = the book's cell as printed, variant = its settings changed on purpose, beyond the book = "
        "not in the book (chapter 16: attention and what it needs); "
        "≠ = run on other data than the book's (see the experiment's data_differs)")
    return 0

