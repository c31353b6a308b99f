"""ONNX export: a trained alzza model as a graph every runtime reads.

    import alzza
    from alzza.export import to_onnx
    model = alzza.load("runs/steel-std/model.npz")
    to_onnx(model, "steel.onnx")                  # or model.to_onnx("steel.onnx")

The graph equals ``model.predict`` (see :mod:`alzza.export.plans` for the families'
graphs), takes float32 in alzza's layout with a dynamic batch axis, and is written for
ONNX opset :data:`~alzza.export.build.OPSET`. It needs the ``onnx`` package
(``pip install 'alzza[onnx]'``); running it needs a runtime such as onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

from .build import OPSET, build_model
from .errors import ExportError
from .graph import Value
from .layers import emitter
from .plans import GraphPlan, plans_of

__all__ = ["OPSET", "ExportError", "GraphPlan", "Value", "emitter", "export_all", "graph_names", "plans_of",
           "to_onnx"]


def graph_names(model) -> list[str]:
    """The graphs ``model`` exports, the default first (``['predict']`` for a plain network)."""
    return list(plans_of(model))


def to_onnx(model, path=None, *, part: str | None = None, class_names=None, opset: int = OPSET,
            check: bool = True):
    """The ONNX model of one graph of ``model`` (the default, or ``part``); written to
    ``path`` (atomically) when given. Returns the ``onnx.ModelProto``, checked by
    ``onnx.checker`` first (``check=False`` skips that, for callers who check it themselves)."""
    plans = plans_of(model)
    name = part or next(iter(plans))
    if name not in plans:
        why = (" (a translator's decoder runs one step per output symbol, reading the encoder's output "
               "by cross-attention: a loop ONNX export does not write)"
               if getattr(model, "kind", "") == "translator" and name == "decoder" else "")
        raise ExportError(f"{model.name} has no graph {name!r} to export{why}; it has {', '.join(plans)}")
    proto = build_model(model, plans[name], class_names=class_names, opset=opset, check=check)
    if path is not None:
        write_atomic(Path(path), proto.SerializeToString())
    return proto


def part_path(path, part: str) -> Path:
    """``out.onnx`` → ``out.<part>.onnx`` (where the non-default graphs of a family go)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{part}{path.suffix or '.onnx'}")


def export_all(model, path, *, class_names=None, opset: int = OPSET) -> dict[str, Path]:
    """Every graph of ``model``: the default at ``path``, each other one at ``out.<part>.onnx``.
    Returns {graph name: path written}."""
    written = {}
    for i, name in enumerate(plans_of(model)):
        target = Path(path) if i == 0 else part_path(path, name)
        to_onnx(model, target, part=name, class_names=class_names, opset=opset)
        written[name] = target
    return written


def check_output(path: Path, source=None) -> None:
    """Refuse an output that is not a new file nor a regular one (a folder, a FIFO, a device
    such as /dev/null), one under a file, and ``source`` itself (the model file read)."""
    from ..saving.atomic import target_problem

    problem = target_problem(path)
    if problem:
        raise ExportError(f"{path}: {problem}; give the path of a new .onnx file (or of one to replace)")
    if source is not None and path.exists() and Path(source).exists() and path.samefile(source):
        raise ExportError(f"{path} is the model file {source} itself: exporting there would overwrite the "
                          f"trained model; give another name, e.g. {Path(source).with_suffix('.onnx')}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it into place
    (:mod:`alzza.saving.atomic`: mode 0644 under the usual umask, killed saves' temp files cleaned).
    Only a regular file is written: see :func:`check_output`."""
    from ..saving.atomic import write_bytes_atomic

    check_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)
    except (FileExistsError, NotADirectoryError):
        raise ExportError(f"{path}: a part of this path is a file, not a folder") from None
    except IsADirectoryError:
        raise ExportError(f"{path}: is a folder, not a file; give the path of a .onnx file") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot write there ({exc.strerror or exc}); give a writable place") from None
