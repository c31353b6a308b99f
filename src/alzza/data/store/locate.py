"""Where data files live: one rule, and one clear error when a file is not there.

The rule (README.md, the settings table under "Install"): the folder given explicitly (the command line's
``--data-dir``), else the ``ALZZA_DATA`` environment variable, else a per-user cache
folder (``platformdirs.user_cache_dir('alzza')/data``). Every reader asks this module
for its files, so a user learns the rule once, and a missing file always produces the
same kind of message: which file, the full path searched, which rule chose that folder,
where the data comes from, and how to fix it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import DataError

ENV_VAR = "ALZZA_DATA"

RULE_EXPLICIT = "--data-dir"
RULE_ENV = ENV_VAR
RULE_DEFAULT = "default cache"


def default_data_root() -> Path:
    """The per-user cache folder used when neither ``--data-dir`` nor ``ALZZA_DATA`` is set."""
    import platformdirs  # imported here: only needed when the default is used

    return Path(platformdirs.user_cache_dir("alzza")) / "data"


def resolve_data_root(data_dir=None) -> tuple[Path, str]:
    """The data folder and the name of the rule that chose it.

    Returns ``(folder, rule)`` where ``rule`` is ``'--data-dir'``, ``'ALZZA_DATA'`` or
    ``'default cache'``. An empty ``data_dir`` or an empty ``ALZZA_DATA`` counts as unset.
    ``~`` is expanded; a relative folder is taken relative to the working directory
    (made absolute so messages show the full path).
    """
    if data_dir is not None and str(data_dir) != "":
        return _absolute(data_dir), RULE_EXPLICIT
    env = os.environ.get(ENV_VAR, "")
    if env.strip():
        return _absolute(env.strip()), RULE_ENV
    return default_data_root(), RULE_DEFAULT


def data_root(data_dir=None) -> Path:
    """The data folder chosen by the rule (see :func:`resolve_data_root`)."""
    return resolve_data_root(data_dir)[0]


def describe_rule(rule: str, root: Path) -> str:
    """One phrase saying why ``root`` was searched, for messages."""
    if rule == RULE_EXPLICIT:
        return f"the folder given by --data-dir ({root})"
    if rule == RULE_ENV:
        return f"the folder named by the {ENV_VAR} environment variable ({root})"
    return (
        f"the default cache folder ({root}), used because neither --data-dir "
        f"nor {ENV_VAR} is set"
    )


def find_data_file(relative, data_dir=None, dataset: str | None = None,
                   source: str | None = None) -> Path:
    """The path of ``relative`` inside the data folder, or one :class:`DataError`.

    ``relative`` is a file (or folder) name relative to the data folder, e.g.
    ``'abalone.csv'`` or ``'flowers'``. ``dataset`` and ``source`` only enrich the
    error: the data set that needs the file and where its data comes from (e.g.
    ``'UCI Machine Learning Repository "Abalone" — https://...'``).
    """
    root, rule = resolve_data_root(data_dir)
    path = root / relative
    if path.exists():
        return path
    raise DataError(missing_file_message(relative, path, root, rule, dataset, source))


def missing_file_message(relative, path: Path, root: Path, rule: str,
                         dataset: str | None = None, source: str | None = None) -> str:
    """The text of the missing-file error (shared by readers that look for folders too)."""
    who = f"data set '{dataset}' needs" if dataset else "needed"
    lines = [f"data file not found: {who} '{relative}'",
             f"  looked for: {path}",
             f"  searched {describe_rule(rule, root)}"]
    if not root.exists():
        lines.append("  (that folder does not exist)")
    if source:
        lines.append(f"  the data comes from: {source}")
    lines += how_to_get_lines(relative, root)
    lines.append(
        f"  to fix: put '{relative}' in {root}, or point alzza at the folder that has it "
        f"with --data-dir DIR or the {ENV_VAR} environment variable"
    )
    return "\n".join(lines)


def how_to_get_lines(relative, root: Path) -> list[str]:
    """'to get it: alzza fetch NAME', or the manual steps, from the data registry."""
    from .sources import source_for_path  # the registry is read only when a file is missing

    entry = source_for_path(relative)
    if entry is None:
        return []
    if entry.downloadable:
        return [f"  to get it: alzza fetch {entry.name}   (checked against its published hash; "
                "alzza fetch --list shows every data set)"]
    steps = (entry.manual or "").rstrip().replace("DATA/", f"{root}/")
    return ([f"  to get it (by hand; expected layout {entry.layout or entry.folder}):"]
            + ["  " + line for line in steps.splitlines()])


def _absolute(folder) -> Path:
    return Path(os.path.expanduser(str(folder))).absolute()
