"""Build docs/reproduction.json from a docs/reproduction.md made from run folders (one-off import).

The run folders behind the document of round 3 (commit 259d703) are not kept; what is
left of them is the document itself. This reads its table and its session lines and
writes the ledger (alzza.reproduce.ledger) with, per row:

- the run at the experiment's own seed: the figures of the *ours* column, the train
  seconds, the data kind and source, the validation spread named in the explanation;
- ``commit`` and ``code``: those of the last session whose command ran the row (its
  name, or its chapter with ``--chapter``), as the session line records them;
- ``settings``: the settings fingerprint of the experiment file as it was at that commit
  (``git show COMMIT:FILE``), or ``unknown`` when the file was not there;
- ``seed_spreads``: the range over seeds the document gives (the single extra-seed runs
  were not written down).

    python tools/import_reproduction_doc.py [--doc-commit COMMIT] [--out docs/reproduction.json]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

from alzza.experiments import list_experiments
from alzza.experiments.fingerprint import settings_fingerprint
from alzza.reproduce.ledger import FORMAT, UNKNOWN, write_ledger
from alzza.reproduce.rows import COMPARED

ROOT = Path(__file__).resolve().parent.parent
BOOK = "src/alzza/experiments/book"
DEFAULT_SEED = 1234
VALUED = {"--workers", "--threads", "--task-timeout", "--out", "--budget", "--epochs", "--max-batches",
          "--scheduler", "--data-dir"}
RANGE = r"(\d\.\d{3})–(\d\.\d{3})"


def git(*words) -> str:
    return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def sessions(text: str) -> list[dict]:
    found = []
    for line in re.findall(r"^- (\d{4}-.*)$", text.split("## Summary")[0], re.M):
        match = re.search(r"\(code ([0-9a-f]{16}), commit ([0-9a-f]+)\)", line)
        command = line.split(": alzza reproduce ", 1)[1].split()
        names, chapters, i = [], [], 0
        while i < len(command):
            word = command[i]
            if word in ("--chapter", "--seeds"):
                i += 1
                while i < len(command) and command[i].isdigit():
                    if word == "--chapter":
                        chapters.append(int(command[i]))
                    i += 1
                continue
            if word in VALUED:
                i += 2
                continue
            if not word.startswith("--"):
                names.append(word)
            i += 1
        found.append({"line": line, "code": match.group(1), "commit": git("rev-parse", match.group(2)).strip(),
                      "names": names, "chapters": chapters})
    return found


def table_rows(text: str) -> dict:
    rows = {}
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| experiment"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows[cells[0]] = dict(zip(("name", "data", "settings", "ours", "book", "difference", "band", "seeds",
                                   "seconds", "book_seconds", "explanation"), cells, strict=False))
    return rows


def figure(text: str):
    text = text.strip()
    if "+" in text:
        return [float(v) for v in text.split("+")]
    if re.fullmatch(r"[\d,]+", text):
        return int(text.replace(",", ""))
    return float(text)


def metrics_of(cells: dict, book: dict) -> dict:
    keys = (["parameters"] if book.get("parameters") is not None else []) + [k for k in COMPARED if book.get(k)
                                                                               is not None]
    ours = cells["ours"]
    if ours in ("—", ""):
        return {}
    if len(keys) <= 1:
        return {(keys[0] if keys else "accuracy"): figure(ours)}
    short = {"params": "parameters", "acc": "accuracy", "prec": "precision", "rec": "recall", "f1": "f1"}
    found = {}
    for part in re.findall(r"(params|acc|prec|rec|f1) ([\d.,+]+?)(?=, [a-z]|$)", ours):
        found[short[part[0]]] = figure(part[1])
    return found


def spreads_of(cells: dict) -> dict:
    found = {}
    match = re.fullmatch(rf"{RANGE} \((\d+) seeds\)", cells["seeds"])
    if match:
        found["accuracy"] = [float(match.group(1)), float(match.group(2)), int(match.group(3))]
    for key, count, low, high in re.findall(rf"seed spread of (\w+): ours over (\d+) seeds is {RANGE}",
                                            cells["explanation"]):
        found[key] = [float(low), float(high), int(count)]
    return found


def tail_of(explanation: str):
    match = re.search(r"moved over ([\d.–/ ]+) in the last (\d+) epochs", explanation)
    if not match:
        return None
    heads = [h.strip().split("–") for h in match.group(1).split(" / ")]
    lows, highs = [float(a) for a, _ in heads], [float(b) for _, b in heads]
    if len(heads) == 1:
        return [lows[0], highs[0], int(match.group(2))]
    return [lows, highs, int(match.group(2))]


def file_at(commit: str, name: str) -> dict | None:
    try:
        return yaml.safe_load(git("show", f"{commit}:{BOOK}/{name}.yaml")) or {}
    except subprocess.CalledProcessError:
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc-commit", default="HEAD", help="the commit whose docs/reproduction.md is read")
    parser.add_argument("--out", default=str(ROOT / "docs" / "reproduction.json"))
    args = parser.parse_args(argv)
    text = git("show", f"{args.doc_commit}:docs/reproduction.md")
    found, cells_of = sessions(text), table_rows(text)
    rows = {}
    for exp in list_experiments():
        cells = cells_of.get(exp.name)
        ran = [s for s in found if exp.name in s["names"] or exp.chapter in s["chapters"]]
        if cells is None or not ran or cells["ours"] in ("not run", "failed"):
            continue
        session = ran[-1]
        old = file_at(session["commit"], exp.name)
        settings = settings_fingerprint(old) if old is not None else UNKNOWN
        seed = (old or {}).get("seed", DEFAULT_SEED)
        epochs = ((old or {}).get("train") or {}).get("epochs")
        source = ""
        match = re.search(r"data differs \([\w-]+\): ([^;]+)", cells["explanation"])
        if match:
            source = match.group(1).strip()
        seconds = None if cells["seconds"] in ("—", "") else float(cells["seconds"])
        run = {"seed": int(seed), "metrics": metrics_of(cells, exp.book or {}), "settings": settings,
               "code": session["code"], "commit": session["commit"], "seconds": seconds, "epochs": epochs,
               "max_batches": None, "data": cells["data"], "data_source": source,
               "validate_tail": tail_of(cells["explanation"])}
        record = {"runs": [run]}
        spreads = spreads_of(cells)
        if spreads:
            record["seed_spreads"] = spreads
        rows[exp.name] = record
    ledger = {"format": FORMAT,
              "imported_from": f"docs/reproduction.md at {git('rev-parse', args.doc_commit).strip()} "
                               "(its run folders were not kept; single extra-seed runs only as ranges)",
              "sessions": [s["line"] for s in found], "rows": rows}
    write_ledger(args.out, ledger)
    print(f"wrote {args.out}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
