"""Saving and loading models: one ``.npz`` holding the description as JSON and the arrays.

Layout of the archive (NumPy's zip of ``.npy`` files, read with ``allow_pickle=False``):

* ``__alzza__`` — uint8 bytes of a UTF-8 JSON document: format name and version, the
  package version, the model config (spec, shapes, mode, head, init, optimiser), the
  data set's class names (``labels``: target_names, ... — put back on the loaded model
  as attributes), and the name, shape and dtype of every stored array;
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
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from ..device import CPU, get_device, to_host
from ..errors import AlzzaError, ModelFileError, UnknownLayerTypeError
from ..models.kinds import model_class
from ..limits import check_tree, max_spec_bytes
from .npz import NpzError, read_npz
from ..version import __version__

FORMAT = "alzza-model"
FORMAT_VERSION = 1
META_KEY = "__alzza__"
#: levels of the description around the spec itself
DESCRIPTION_DEPTH = 8


def _state_entries(model):
    for layer in model.network.walk():
        for key, value in layer.state.items():
            yield f"{layer.path}/{key}", layer, key, value


#: what the data set's targets are called, kept with the model (export metadata, reports)
LABEL_ATTRS = ("target_names", "encoder_target_names", "head_names")


def _labels(model) -> dict:
    """The class / group names of the model's data set (or of the file it was loaded from)."""
    dataset = getattr(model, "dataset", None)
    labels = {}
    for attr in LABEL_ATTRS:
        names = getattr(dataset, attr, None) if dataset is not None else None
        names = names if names is not None else getattr(model, attr, None)
        if names is not None:
            labels[attr] = json.loads(json.dumps(names, default=str))
    return labels


def save_model(model, path) -> Path:
    """Write ``model`` to ``path`` (``.npz`` is appended if missing), atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    # host copies: a model file is device-free (a GPU-trained model loads on a CPU-only machine)
    arrays = {f"param:{slot.name}": to_host(slot.value) for slot in model.slots}
    arrays.update({f"state:{name}": to_host(value) for name, _, _, value in _state_entries(model)})
    arrays.update({f"optim:{name}": to_host(value) for name, value in model.optimizer.state_arrays().items()})
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "alzza_version": __version__,
        "config": model.config(),
        "labels": _labels(model),
        "arrays": {name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in arrays.items()},
    }
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:  # temp file + rename; stale temps of killed saves removed
        np.savez(handle, **arrays)
    return path


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file")
    try:
        # the JSON description is bounded by its own limit before it is inflated (a zip bomb
        # there would otherwise be allowed all of ALZZA_MAX_MEMORY)
        return read_npz(path, member_limits={META_KEY: (max_spec_bytes(), "ALZZA_MAX_SPEC_BYTES")})
    except NpzError as exc:
        raise ModelFileError(f"{path} is not a readable alzza model file: {exc}") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file: {exc.strerror or exc}") from None


def _parse_description(raw: np.ndarray, path: Path) -> dict:
    """The JSON description, bounded in size and depth; every failure a ModelFileError."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: the model description ('{META_KEY}') is not a byte string")
    if raw.size > max_spec_bytes():
        raise ModelFileError(f"{path}: the model description is {raw.size} bytes, more than the limit of "
                             f"{max_spec_bytes()} (ALZZA_MAX_SPEC_BYTES)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        raise ModelFileError(f"{path}: the model description nests too deeply to read") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and Python's int-digits limit
        raise ModelFileError(f"{path}: the model description is not valid JSON ({exc})") from None
    # the spec sits a few levels down (meta → config → parts → layers): what could be
    # built can always be loaded back
    check_tree(meta, f"{path}: the model description", ModelFileError, depth_slack=DESCRIPTION_DEPTH)
    return meta


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON value")


def _check_finite(value: np.ndarray, name: str, path: Path) -> None:
    """A NaN or infinite weight would only show up later as a NaN prediction: refuse it here."""
    if not np.isfinite(value).all():
        bad = np.flatnonzero(~np.isfinite(value))
        raise ModelFileError(f"{path}: array {name!r} holds {bad.size} non-finite value(s) (NaN or inf), the first "
                             f"at flat index {int(bad[0])}; the file is damaged or the model diverged before it "
                             "was saved")


def load_model(path, dataset=None, printer=print, device=None):
    """Rebuild a model saved by :func:`save_model`; ``dataset`` may be attached for training.

    The file is device-free: the arrays are copied in on the host, then the model goes
    to ``device`` (default: the default device, :mod:`alzza.device`).

    The config's ``kind`` (default ``network``; autoencoder, encoder_decoder, gan) names
    the class that rebuilds it (:mod:`alzza.models.kinds`); weights are matched by their flat
    names either way.
    """
    path = Path(path)
    arrays = _read_archive(path)
    if META_KEY not in arrays:
        raise ModelFileError(f"{path} has no alzza description ('{META_KEY}'); it was not written by alzza's save()")
    meta = _parse_description(arrays.pop(META_KEY), path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(f"{path}: not an alzza model file (format {found!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model file format {meta.get('format_version')} is not supported "
                             f"(this alzza reads format {FORMAT_VERSION})")
    config = meta.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: the description has no model config")
    try:
        model = model_class(config.get("kind", "network")).from_config(config, dataset, printer)
    except UnknownLayerTypeError as exc:
        raise ModelFileError(f"{path}: the model uses layer type {exc.type_name!r} (at {exc.path}), which no imported "
                             f"module defines. A model file never imports code: import the module that registers "
                             f"{exc.type_name!r} first (Python: import it before alzza.load; command line: "
                             "--import MODULE_OR_PATH)") from None
    except KeyError as exc:
        raise ModelFileError(f"{path}: the model config lacks {exc}") from None
    except (TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise ModelFileError(f"{path}: the stored model description has values of the wrong kind: {exc}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: the stored model description nests too deeply") from None
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
        _check_finite(value, name, path)
        return value.astype(dtype, copy=False)

    target = model.device if device is None else get_device(device)
    model.to(CPU)  # the file's arrays are host arrays: copied in there
    for slot in model.slots:
        slot.value[...] = take(f"param:{slot.name}", slot.value.shape, slot.value.dtype)
    for name, _layer, _key, value in _state_entries(model):
        value[...] = take(f"state:{name}", value.shape, value.dtype)
    optim = {name[len("optim:"):]: arrays.pop(name) for name in list(arrays) if name.startswith("optim:")}
    for name, value in optim.items():
        if value.dtype.kind == "f":
            _check_finite(value, f"optim:{name}", path)
    try:
        model.optimizer.load_state_arrays(optim, model.slots)
    except ValueError as exc:
        raise ModelFileError(f"{path}: optimiser state does not match the model: {exc}") from None
    model.to(target)
    if arrays:
        raise ModelFileError(f"{path}: unexpected arrays {sorted(arrays)[:5]} (file does not match its description)")
    labels = meta.get("labels")
    for attr in LABEL_ATTRS:
        if isinstance(labels, dict) and isinstance(labels.get(attr), list):
            setattr(model, attr, labels[attr])
    return model


def load_weights(model, path) -> None:
    """Copy the weights, layer state and optimiser state saved in ``path`` into ``model``
    (built from the same description), by their flat names; shapes must agree.

    This is how a run resumes from a checkpoint: the model is built afresh from its
    experiment, then takes the saved arrays.
    """
    path = Path(path)
    saved = load_model(path, printer=lambda *_: None, device="cpu")  # read on the host: only copied from
    with model.on_host():  # copied in on the host; a device model takes the arrays back with it
        _copy_weights(model, saved, path)


def _copy_weights(model, saved, path) -> None:
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
