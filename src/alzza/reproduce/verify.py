"""``alzza reproduce ... --compare docs/reproduction.json``: are the recorded figures still what the code gives?

The ledger says what each row measured, at which seed, with which code. Rerunning a row
at a recorded seed (with one BLAS thread, as the ledger's runs: see :mod:`alzza.threads`)
must give the same figures, to the ledger's four decimals, as long as nothing that decides
the computation changed. This compares every finished run of a reproduction's ``--out``
with the ledger's run at the same seed and sorts them:

- ``same``: every figure the ledger holds for that run is equal;
- ``different``: a figure moved (the ledger's value and the new one are listed): the code,
  the thread count or the machine sums in another order, or the computation changed;
- ``other settings``: the run used other settings than the recorded one (a smoke run, an
  edited file), so it says nothing about the ledger;
- ``not recorded``: the ledger has no run of that row at that seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Comparison:
    same: list = field(default_factory=list)  # "NAME@seed"
    different: list = field(default_factory=list)  # ("NAME@seed", {key: (ledger, now)})
    other_settings: list = field(default_factory=list)
    not_recorded: list = field(default_factory=list)

    def lines(self) -> list[str]:
        compared = len(self.same) + len(self.different)
        lines = [f"compared with the ledger: {len(self.same)} of {compared} runs give the recorded figures exactly"]
        for label, moved in self.different:
            changes = ", ".join(f"{key} {old} → {new}" for key, (old, new) in moved.items())
            lines.append(f"  different: {label}: {changes}")
        if self.other_settings:
            lines.append(f"  other settings than the recorded run (not compared): {', '.join(self.other_settings)}")
        if self.not_recorded:
            lines.append(f"  no recorded run at that seed: {', '.join(self.not_recorded)}")
        return lines

    @property
    def status(self) -> int:
        return 1 if self.different else 0


def compare_runs(ledger: dict, out_dir) -> Comparison:
    """Every finished run in ``out_dir/runs`` against the ledger's run of its row at its seed."""
    from ..experiments import list_experiments
    from .ledger import run_record, seed_folders
    from .session import RUNS

    root = Path(out_dir) / RUNS
    found = Comparison()
    for exp in list_experiments():
        record = ledger["rows"].get(exp.name)
        for folder in seed_folders(exp, root):
            run = run_record(exp, folder, "0000000")
            if run is None:
                continue
            label = f"{exp.name}@{run['seed']}"
            recorded = next((r for r in (record or {}).get("runs", []) if r["seed"] == run["seed"]), None)
            if recorded is None:
                found.not_recorded.append(label)
            elif recorded["settings"] != run["settings"] or recorded.get("epochs") != run.get("epochs") \
                    or recorded.get("max_batches") != run.get("max_batches"):
                found.other_settings.append(label)
            else:
                moved = {key: (value, run["metrics"].get(key)) for key, value in recorded["metrics"].items()
                         if run["metrics"].get(key) != value}
                (found.different.append((label, moved)) if moved else found.same.append(label))
    return found
