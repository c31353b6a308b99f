"""Saving and loading models: one ``.npz`` holding the description as JSON and the arrays.

Layout of the archive (NumPy's zip of ``.npy`` files, read with ``allow_pickle=False``):

* ``__alzza__`` — uint8 bytes of a UTF-8 JSON document: format name and version, the
  package version, the model config (spec, shapes, mode, head, init, optimiser), and
  the name, shape and dtype of every stored array;
* ``param:<name>`` — each trainable array, e.g. ``param:layers[0]/w``;
* ``state:<name>`` — non-trained buffers (e.g. batch-norm running statistics);
* ``optim:<name>`` — the optimiser's state (Adam's moments and step counts).

Saving writes a temporary file beside the target and renames it, so a crash never
leaves a half-written model under the real name. Loading rebuilds the model from the
JSON spec, then checks that every array is present with the declared shape before
copying it in; nothing in the file is ever executed or unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import AlzzaError, ModelFileError

FORMAT = "alzza-model"
FORMAT_VERSION = 1
META_KEY = "__alzza__"


def _package_version() -> str:
    from . import __version__

    return __version__


def _state_entries(model):
    for layer in model.network.walk():
        for key, value in layer.state.items():
            yield f"{layer.path}/{key}", layer, key, value


def save_model(model, path) -> Path:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing), atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = {f"param:{slot.name}": slot.value for slot in model.slots}
    arrays.update({f"state:{name}": value for name, _, _, value in _state_entries(model)})
    arrays.update({f"optim:{name}": value for name, value in model.optimizer.state_arrays().items()})
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "alzza_version": _package_version(),
        "config": model.config(),
        "arrays": {name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in arrays.items()},
    }
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a model file is as readable as the pictures
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array, not an archive
            raise ValueError("it holds a single array, not an .npz archive")
        with loaded as archive:
            return {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable alzza model file (truncated or corrupt?): {exc}") from None


def load_model(path, dataset=None, printer=print):
    """Rebuild a model saved by :func:`save_model`; ``dataset`` may be attached for training.

    A config with ``kind`` (autoencoder, encoder_decoder, gan) is rebuilt by that
    family's ``from_config``; weights are matched by their flat names either way.
    """
    from .models import Model

    path = Path(path)
    arrays = _read_archive(path)
    if META_KEY not in arrays:
        raise ModelFileError(f"{path} has no alzza description ('{META_KEY}'); it was not written by alzza's save()")
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: the model description is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an alzza model file (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model file format {meta.get('format_version')} is not supported "
                             f"(this alzza reads format {FORMAT_VERSION})")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: the description has no model config")
    try:
        kind = config.get("kind", "network")
        if kind != "network":
            from .models import FAMILIES

            if kind not in FAMILIES:
                raise AlzzaError(f"unknown model kind {kind!r} (known: network, {', '.join(FAMILIES)})")
            model = FAMILIES[kind].from_config(config, dataset, printer)
        else:
            model = Model(
                dataset, config["layers"], name=config.get("name"), optimizer=config.get("optimizer"),
                init=config.get("init"), dtype=config.get("dtype"), macros=config.get("macros"),
                head=config.get("head"), input_shape=config["input_shape"], output_shape=config["output_shape"],
                mode=config["mode"], head_sizes=config.get("head_sizes"), printer=printer,
            )
    except KeyError as exc:
        raise ModelFileError(f"{path}: the model config lacks {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the stored model description has values of the wrong kind: {exc}") from None
    except AlzzaError as exc:
        raise ModelFileError(f"{path}: the stored model description is invalid: {exc}") from None

    def take(name, shape, dtype):
        if name not in arrays:
            raise ModelFileError(f"{path}: array {name!r} is missing (file does not match its description)")
        value = arrays.pop(name)
        if value.shape != tuple(shape):
            raise ModelFileError(f"{path}: array {name!r} has shape {value.shape}, the model needs {tuple(shape)}")
        if value.dtype.kind != "f":
            raise ModelFileError(f"{path}: array {name!r} has dtype {value.dtype}, expected floating point")
        return value.astype(dtype, copy=False)

    for slot in model.slots:
        slot.value[...] = take(f"param:{slot.name}", slot.value.shape, slot.value.dtype)
    for name, layer, key, value in _state_entries(model):
        value[...] = take(f"state:{name}", value.shape, value.dtype)
    optim = {name[len("optim:"):]: arrays.pop(name) for name in list(arrays) if name.startswith("optim:")}
    try:
        model.optimizer.load_state_arrays(optim, model.slots)
    except ValueError as exc:
        raise ModelFileError(f"{path}: optimiser state does not match the model: {exc}") from None
    if arrays:
        raise ModelFileError(f"{path}: unexpected arrays {sorted(arrays)[:5]} (file does not match its description)")
    return model


def load_weights(model, path) -> None:
    """Copy the weights, layer state and optimiser state saved in ``path`` into ``model``
    (built from the same description), by their flat names; shapes must agree.

    This is how a run resumes from a checkpoint: the model is built afresh from its
    experiment, then takes the saved arrays.
    """
    path = Path(path)
    saved = load_model(path, printer=lambda *_: None)
    by_name = {slot.name: slot for slot in saved.slots}
    mine = {slot.name for slot in model.slots}
    if set(by_name) != mine:
        missing = sorted(mine - set(by_name))[:3] or sorted(set(by_name) - mine)[:3]
        raise ModelFileError(f"{path}: its parameters do not match this model's (e.g. {missing}); "
                             f"was it written by another experiment?")
    for slot in model.slots:
        value = by_name[slot.name].value
        if value.shape != slot.value.shape:
            raise ModelFileError(f"{path}: {slot.name} has shape {value.shape}, this model needs {slot.value.shape}")
        slot.value[...] = value
    states = {name: value for name, _, _, value in _state_entries(saved)}
    for name, _, _, value in _state_entries(model):
        if name not in states or states[name].shape != value.shape:
            raise ModelFileError(f"{path}: layer state {name!r} is missing or has another shape")
        value[...] = states[name]
    if type(saved.optimizer) is not type(model.optimizer):
        raise ModelFileError(f"{path}: saved with the {saved.optimizer.name} optimiser, this model uses "
                             f"{model.optimizer.name}")
    try:
        model.optimizer.load_state_arrays(saved.optimizer.state_arrays(), model.slots)
    except ValueError as exc:
        raise ModelFileError(f"{path}: optimiser state does not match the model: {exc}") from None
