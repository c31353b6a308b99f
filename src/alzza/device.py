"""Where a model's arrays live: the CPU (NumPy), a CUDA GPU (CuPy), or the stand-in device.

A :class:`Device` is an array module plus the two copies between it and the host::

    device = get_device("cuda")          # DeviceError naming alzza[gpu] without CuPy or a GPU
    a = device.asarray(host, dtype)      # host → device, once per batch
    h = to_host(a)                       # device → host (NumPy arrays pass through)

Layer math never names a device: it asks its input (``xp = array_module(x)``), so one code
path runs everywhere and the device is chosen per model (``Model(..., device="cuda")``),
never by a global switch. What stays on the host whatever the device: the model's seeded
generator (weight initialisation, shuffling, validation samples, GAN seeds), every piece
of bookkeeping (sequence lengths, step counts, indices, metrics), the data and its disk
cache, and model files (saved from host copies, so a GPU-trained model loads on a CPU).

Randomness inside layers (dropout masks, noise) is drawn on the device from the model's
device generator, seeded from the model's seed: the same seed on the same device repeats
a run, but CuPy's stream differs from NumPy's, so a CPU run and a GPU run with one seed
draw different masks (their initial weights are equal: those come from the host).

``DEFAULT_DEVICE`` is what ``device=None`` means (``alzza.book.device`` sets it for the
book's notebooks); ``"standin"`` is the strict stand-in device of :mod:`alzza.standin`.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import AlzzaError

DEVICES = ("cpu", "cuda", "standin")
#: the environment variable --device sets, so the child processes of ``alzza reproduce`` build there too
DEVICE_ENV = "ALZZA_DEVICE"
#: what ``device=None`` means (set by ``alzza.book.use_device``, ``set_default_device`` or $ALZZA_DEVICE)
DEFAULT_DEVICE = os.environ.get(DEVICE_ENV) or "cpu"

#: the pip extra that brings CuPy, and the wheel it pins (CUDA 12.x drivers)
GPU_EXTRA = "pip install 'alzza[gpu]'  (CuPy for CUDA 12: cupy-cuda12x)"


class DeviceError(AlzzaError):
    """A device was asked for that this machine cannot give (no CuPy, no GPU, unknown name)."""


class Device:
    """A place for arrays: ``name``, its array module ``xp``, copies in and out, a generator."""

    def __init__(self, name: str, xp):
        self.name, self.xp = name, xp

    @property
    def is_host(self) -> bool:
        return self.name == "cpu"

    def asarray(self, a, dtype=None):
        """``a`` on this device (C-contiguous, ``dtype`` when given): one copy from the host."""
        if self.is_host:
            return np.ascontiguousarray(a, dtype=dtype)
        return self.xp.ascontiguousarray(self.xp.asarray(a, dtype=dtype))

    def generator(self, seed=None):
        """The device's random generator seeded with ``seed`` (None on the CPU: layers then
        draw from the model's host generator, as they always have)."""
        if self.is_host:
            return None
        return self.xp.random.default_rng(seed)

    def __repr__(self):
        return f"Device({self.name!r})"

    def __eq__(self, other):
        return isinstance(other, Device) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __deepcopy__(self, memo):  # a place, not data: copies of a model share it
        return self

    def __reduce__(self):  # pickled by name (its array module is not picklable)
        return get_device, (self.name,)


CPU = Device("cpu", np)


def _cuda() -> Device:
    try:
        import cupy
    except ImportError:
        raise DeviceError(f"device 'cuda' needs CuPy, which is not installed: {GPU_EXTRA}; "
                          "or run on the CPU (--device cpu, the default)") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, no device
        raise DeviceError(f"device 'cuda': CuPy is installed but finds no CUDA GPU ({type(exc).__name__}: "
                          f"{exc}); run on the CPU (--device cpu), or check the driver (nvidia-smi)") from None
    if count < 1:
        raise DeviceError("device 'cuda': CuPy finds no CUDA GPU on this machine; run on the CPU (--device cpu)")
    return Device("cuda", cupy)


def get_device(spec=None) -> Device:
    """``None`` (the default device), ``'cpu'``, ``'cuda'``, ``'standin'`` or a Device → a Device."""
    if isinstance(spec, Device):
        return spec
    name = DEFAULT_DEVICE if spec is None else spec
    if name == "cpu":
        return CPU
    if name == "cuda":
        return _cuda()
    if name == "standin":
        from . import standin

        return Device("standin", standin.xp)
    raise DeviceError(f"unknown device {name!r}; use one of {', '.join(DEVICES)} (cuda needs {GPU_EXTRA})")


def set_default_device(name: str) -> Device:
    """Make ``name`` what ``device=None`` means from now on (checked first: a clear error, not a later one)."""
    global DEFAULT_DEVICE
    device = get_device(name)
    DEFAULT_DEVICE = device.name
    return device


#: the device the command line asked for (--device, or $ALZZA_DEVICE): it overrides an
#: experiment's ``train: device:``
COMMAND_LINE_DEVICE = os.environ.get(DEVICE_ENV) or None


def experiment_device(train: dict):
    """The device an experiment's model is built on: --device, else its ``train: device:``, else the default."""
    return COMMAND_LINE_DEVICE or train.get("device")


def add_device_option(parser) -> None:
    """``--device cpu|cuda|standin`` on a command (run, reproduce, bench)."""
    parser.add_argument("--device", choices=DEVICES,
                        help="where the model's arrays live: cpu (the default), cuda (a GPU through CuPy: "
                             "pip install 'alzza[gpu]'), standin (the strict stand-in GPU of the tests)")


def use_command_line_device(name) -> None:
    """What ``--device NAME`` does: checked at once (no CuPy → one clear DeviceError), then the
    default device of this process and the one experiments are built on."""
    global COMMAND_LINE_DEVICE
    if name:
        COMMAND_LINE_DEVICE = os.environ[DEVICE_ENV] = set_default_device(name).name


def to_host(a):
    """A NumPy copy of a device array (CuPy's ``.get()``); host arrays and non-arrays pass through;
    a :class:`~alzza.sequences.Sequences` brings its data home and keeps its lengths."""
    if isinstance(a, np.ndarray) or a is None:
        return a
    getter = getattr(a, "get", None)
    if getter is not None and type(a).__module__.split(".")[0] in ("cupy", "alzza"):
        return getter()
    if type(a).__name__ == "Sequences":
        return a.with_data(to_host(a.data))
    return a


def device_of(a) -> Device:
    """The device an array lives on (by its type; NumPy arrays: the CPU)."""
    module = type(a).__module__.split(".")[0]
    if module == "cupy":
        return _cuda()
    if type(a).__module__ == "alzza.standin":
        return get_device("standin")
    return CPU

