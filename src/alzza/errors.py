"""The errors alzza raises for things a user can fix.

Every user-facing error derives from :class:`AlzzaError`; the command line prints its
message (no traceback) and exits non-zero. Messages say what is wrong, where, and how
to fix it.
"""


class AlzzaError(Exception):
    """Base class of errors caused by input a user controls (specs, files, options)."""


class SpecError(AlzzaError):
    """A model description is wrong. ``path`` names the bad spec, e.g. ``layers[3]``."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)


class UnknownLayerTypeError(SpecError):
    """A spec names a layer type no imported module has registered (``type_name`` says which)."""

    def __init__(self, path: str, message: str, type_name: str):
        self.type_name = type_name
        super().__init__(path, message)


class DataError(AlzzaError):
    """A data file is missing or malformed, or a data set is asked for something it lacks."""


class ModelFileError(AlzzaError):
    """A saved model file is malformed, truncated or does not match its description."""


class TrainingError(AlzzaError):
    """Training cannot go on (for example the loss became NaN or infinite)."""


class ExperimentError(AlzzaError):
    """An experiment file or name is wrong."""


class LayerContractError(AlzzaError):
    """A layer breaks the layer contract (see :mod:`alzza.layers.base`): a parameter of the
    wrong dtype, gradients missing after backward, two parameters with one name."""
