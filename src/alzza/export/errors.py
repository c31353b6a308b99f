"""The one error of the exporter."""

from ..errors import AlzzaError


class ExportError(AlzzaError):
    """A model (or one of its layers) cannot be written as ONNX; the message says which and why."""
