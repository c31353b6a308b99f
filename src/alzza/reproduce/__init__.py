"""``alzza reproduce``: many experiments as one report, on local worker processes or a Dask cluster.

- ``fingerprint``: what made a result.json (code hash, settings, seed) — for ``--resume``;
- ``tasks``: one experiment as one task, run as its own ``alzza run`` process;
- ``executors``: the local pool and the Dask cluster that run the tasks;
- ``progress``: done / running / failed / time left;
- ``report``: report.md and the self-contained report.html;
- ``document``: docs/reproduction.md from a report's run folders.

This file imports nothing, so the runner can import ``fingerprint`` without a cycle.
"""
