"""The fingerprint of a run: which code, settings and seed made a result.json.

``alzza reproduce --resume`` skips an experiment whose result.json carries the fingerprint
the new run would have. The fingerprint needs no git: the code is identified by a hash of
the package's own source files (``*.py`` and the shipped ``*.yaml``), so an installed
wheel, an editable checkout and a Dask worker's copy all hash the same when their files
agree, and any edit changes it.

This module is a leaf (standard library only): the experiment runner imports it to stamp
every result.json, and nothing here imports the runner back.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

#: the training settings that change a run's outcome (``report`` only changes what is printed)
SETTING_KEYS = ("epochs", "batch_size", "learning_rate", "optimizer", "l2_decay", "l1_decay")
SOURCE_SUFFIXES = (".py", ".yaml")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def code_hash() -> str:
    """A short hash of every source file of the installed alzza package (path and bytes)."""
    return _package_hash(str(Path(__file__).resolve().parent.parent))


@functools.lru_cache(maxsize=4)
def _package_hash(folder: str) -> str:
    return source_hash(Path(folder))


def source_hash(root: Path) -> str:
    """A short hash of the ``*.py`` and ``*.yaml`` files under ``root``: names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file()):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def experiment_hash(exp) -> str:
    """A hash of the experiment's definition (covers experiment files outside the package)."""
    data = dataclasses.asdict(exp) if dataclasses.is_dataclass(exp) else dict(exp)
    data.pop("source", None)  # where the file sits does not change what it runs
    return _digest(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))


#: the keys of an experiment file that decide what its run computes (titles, notes, the book's
#: figures and the report interval do not)
OUTCOME_KEYS = ("kind", "dataset", "model", "macros", "macro_files", "train", "seed", "generator", "discriminator")


def settings_fingerprint(data: dict) -> str:
    """A short hash of an experiment file's outcome-changing part (``data`` as YAML loads it).

    It depends on the file alone, not on alzza's code, so the fingerprint of a row run
    long ago can be recomputed from the file as it was then (``git show COMMIT:FILE``)."""
    part = {key: data.get(key) for key in OUTCOME_KEYS if data.get(key) is not None}
    if isinstance(part.get("train"), dict):
        part["train"] = {k: v for k, v in part["train"].items() if k != "report"}
    return _digest(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str))


def settings_fingerprint_of(exp) -> str:
    """The settings fingerprint of an experiment (a shipped one is read from the package's
    ``alzza/experiments/<folder>/NAME.yaml`` — book/ or beyond/ — a user's from its file)."""

    import yaml

    from .catalogue import shipped_file

    path = Path(exp.source)
    text = (path if path.is_file() else shipped_file(exp.source)).read_text(encoding="utf-8")
    return settings_fingerprint(yaml.safe_load(text) or {})


def run_settings(settings: dict) -> dict:
    """The outcome-changing part of a run's training settings."""
    return {key: settings.get(key) for key in SETTING_KEYS}


def fingerprint(exp, settings: dict, seed: int, max_batches=None) -> dict:
    """The record result.json keeps: version, code hash, experiment hash, settings, seed and
    their combined ``digest`` (the one value ``--resume`` compares)."""
    from ..version import __version__

    parts = {"version": __version__, "code": code_hash(), "experiment": experiment_hash(exp),
             "settings": run_settings(settings), "seed": seed, "max_batches": max_batches}
    device = run_device(settings)
    if device != "cpu":  # a GPU draws other random streams: its runs are other results. A CPU run
        parts["device"] = device  # names none, so its digest (and every recorded one) stays as it was
    return {**parts, "digest": _digest(json.dumps(parts, sort_keys=True, default=str)), "device": device}


def run_device(settings: dict) -> str:
    """The name of the device a run with these training settings builds its model on
    (--device / $ALZZA_DEVICE, else ``train: device:``, else the default)."""
    from .. import device

    return device.experiment_device(settings or {}) or device.DEFAULT_DEVICE
