"""A user's own code for a test: a module file and an experiment that uses it, written
side by side (one helper for the user layer, head and data-set tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

import alzza
from alzza.errors import ModelFileError


def write_user_files(folder: Path, name: str, code: str, experiment: str, **fields) -> tuple[Path, Path]:
    """(``folder/name.py``, ``folder/name.yaml``): ``code`` and ``experiment`` with ``{name}``
    and ``fields`` filled in (their literal braces doubled, as ``str.format`` wants)."""
    module = folder / f"{name}.py"
    module.write_text(code.format(name=name, **fields))
    spec = folder / f"{name}.yaml"
    spec.write_text(experiment.format(name=name, **fields))
    return module, spec


def load_error_without(registry, name: str, path: Path) -> ModelFileError:
    """The ModelFileError of ``alzza.load(path)`` while ``name`` is out of ``registry``
    (as in a process that has not imported the user's module); the name is put back after."""
    registered = registry.pop(name)
    try:
        with pytest.raises(ModelFileError) as info:
            alzza.load(path)
    finally:
        registry[name] = registered
    return info.value
