"""A strict stand-in GPU for machines without one: NumPy behind a wall, CuPy's rules in front.

CI has no GPU, yet the GPU path must not rot. The stand-in device keeps every array in
a :class:`DeviceArray` (a NumPy array inside, unreachable from NumPy) and offers an array
module, :data:`xp`, with only functions CuPy also has. It refuses, with a
:class:`StandinLeak` that names the rule, each of the ways NumPy code breaks on CuPy:

1. a host ndarray meets a device array — in an operator (``host + dev``), a ufunc, an
   index (``dev[host_mask]``), an assignment (``dev[...] = host``) or a stand-in function
   (``xp.concatenate([dev, host])``);
2. a NumPy function is given a device array (``np.tanh(dev)``, ``np.sum(dev)``): layer
   math must use ``xp = array_module(x)`` (a NumPy *scalar* with a device array in an
   operator, ``np.float32(0.5) * dev``, is computed, as CuPy does);
3. a device array becomes a host value implicitly: ``np.asarray(dev)`` (``__array__``
   raises as CuPy's does), or a device scalar is used as a Python int, index or truth
   value (``range(dev_count)``, ``h[:counts[t]]``, ``if dev_flag:``). CuPy would sync the
   device there (and some of those raise); bookkeeping belongs on the host. ``float(dev)``,
   ``dev.item()`` and ``dev.get()`` are the explicit ways back, as on CuPy;
4. a function CuPy lacks: ``xp.add.at`` (CuPy's is ``cupyx.scatter_add``),
   ``as_strided(..., writeable=False)``, ``np.errstate`` — anything outside :data:`ALLOWED`.

Leaving the stand-in is :func:`to_host` (``.get()``); entering it is :func:`asarray`
(``xp.asarray(host)``, CuPy's one host → device copy). The values are NumPy's exactly,
so a model on the stand-in computes what it computes on the CPU, bit for bit.
"""

from __future__ import annotations

import operator
import types

import numpy as np


class StandinLeak(TypeError):
    """Code that would break (or silently sync) on a real GPU did something the stand-in refuses."""


def _leak(rule: str, what: str) -> StandinLeak:
    return StandinLeak(f"stand-in device: {what} ({rule}); a GPU run would fail or sync here. "
                       "Layer math uses xp = alzza.backend.array_module(x); host bookkeeping stays NumPy")


HOST_MEETS_DEVICE = "a host ndarray meets a device array"
NUMPY_ON_DEVICE = "a NumPy function given a device array"
IMPLICIT_HOST = "an implicit device → host conversion"
MISSING_IN_CUPY = "a function CuPy does not have"


def _in(value, what: str):
    """Unwrap one argument: device arrays to their NumPy inside; host ndarrays refused."""
    if isinstance(value, DeviceArray):
        return value._a
    if isinstance(value, np.ndarray):
        raise _leak(HOST_MEETS_DEVICE, f"{what} got a host ndarray of shape {value.shape}")
    if isinstance(value, (list, tuple)):
        return type(value)(_in(v, what) for v in value)
    return value


def _out(value):
    """Wrap a result: every array (and NumPy scalar) comes back as a device array, as on CuPy."""
    if isinstance(value, np.ndarray):
        return DeviceArray(value)
    if isinstance(value, np.generic):
        return DeviceArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_out(v) for v in value)
    if isinstance(value, list):
        return [_out(v) for v in value]
    return value


def _call(fn, name, args, kwargs):
    args = [_in(a, name) for a in args]
    kwargs = {k: _in(v, name) for k, v in kwargs.items()}
    return _out(fn(*args, **kwargs))


def _binary(op, name):
    def method(self, other):
        return _out(op(self._a, _in(other, f"the operator {name}")))
    method.__name__ = name
    return method


def _inplace(op, name):
    def method(self, other):
        op(self._a, _in(other, f"the operator {name}"))  # NumPy's in-place operator writes into self._a
        return self
    method.__name__ = name
    return method


#: ndarray methods CuPy's ndarray has too (called on the inside, results wrapped)
METHODS = frozenset("""astype reshape transpose sum max min mean argmax argmin copy fill ravel flatten clip std var
any all dot swapaxes squeeze cumsum prod repeat take nonzero argsort sort conj round view""".split())


class DeviceArray:
    """An array on the stand-in device: a NumPy array NumPy cannot see (module docstring)."""

    __slots__ = ("_a",)

    def __init__(self, a: np.ndarray):
        self._a = a

    # --- what CuPy's ndarray shares with NumPy's, as host values ------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: DeviceArray(self._a.T))

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return f"standin.DeviceArray({self._a!r})"

    def __getattr__(self, name):
        if name in METHODS:
            method = getattr(self._a, name)
            return lambda *args, **kwargs: _call(method, f"ndarray.{name}", args, kwargs)
        raise AttributeError(f"stand-in DeviceArray has no attribute {name!r} (CuPy's ndarray may lack it too; "
                             f"add it to alzza.standin.METHODS once checked)")

    # --- the explicit ways back to the host (CuPy: .get(), .item(), float()) -------------
    def get(self) -> np.ndarray:
        return self._a.copy()

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    # --- the implicit ones: refused ------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise _leak(IMPLICIT_HOST, "np.asarray / np.array of a device array (use .get() or alzza.device.to_host)")

    def __int__(self):
        raise _leak(IMPLICIT_HOST, "int() of a device array: a count or length computed on the device")

    def __index__(self):
        raise _leak(IMPLICIT_HOST, "a device array used as an index or size: host bookkeeping must stay NumPy")

    def __bool__(self):
        raise _leak(IMPLICIT_HOST, "a device array used as a truth value (if / and / or)")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and any(isinstance(v, np.generic) for v in inputs) and "out" not in kwargs:
            # a NumPy scalar on the left of an operator (np.float32(0.5) * dev): CuPy computes it
            return _call(ufunc, f"the operator {ufunc.__name__}", inputs, kwargs)
        raise _leak(NUMPY_ON_DEVICE, f"NumPy's {ufunc.__name__}.{method} was given a device array "
                                     "(or a host array met a device array in an operator)")

    def __array_function__(self, func, types, args, kwargs):
        raise _leak(NUMPY_ON_DEVICE, f"np.{func.__name__} was given a device array")

    # --- indexing ------------------------------------------------------------------------
    def __getitem__(self, key):
        return _out(self._a[_in(key, "an index")])

    def __setitem__(self, key, value):
        self._a[_in(key, "an index")] = _in(value, "an assignment")

    def __iter__(self):
        return (DeviceArray(row) if isinstance(row, np.ndarray) else DeviceArray(np.asarray(row)) for row in self._a)

    # --- operators -----------------------------------------------------------------------
    __add__ = _binary(operator.add, "+")
    __radd__ = _binary(lambda a, b: b + a, "+")
    __sub__ = _binary(operator.sub, "-")
    __rsub__ = _binary(lambda a, b: b - a, "-")
    __mul__ = _binary(operator.mul, "*")
    __rmul__ = _binary(lambda a, b: b * a, "*")
    __truediv__ = _binary(operator.truediv, "/")
    __rtruediv__ = _binary(lambda a, b: b / a, "/")
    __floordiv__ = _binary(operator.floordiv, "//")
    __mod__ = _binary(operator.mod, "%")
    __pow__ = _binary(operator.pow, "**")
    __rpow__ = _binary(lambda a, b: b ** a, "**")
    __matmul__ = _binary(operator.matmul, "@")
    __rmatmul__ = _binary(lambda a, b: b @ a, "@")
    __and__ = _binary(operator.and_, "&")
    __rand__ = _binary(lambda a, b: b & a, "&")
    __or__ = _binary(operator.or_, "|")
    __ror__ = _binary(lambda a, b: b | a, "|")
    __xor__ = _binary(operator.xor, "^")
    __lt__ = _binary(operator.lt, "<")
    __le__ = _binary(operator.le, "<=")
    __gt__ = _binary(operator.gt, ">")
    __ge__ = _binary(operator.ge, ">=")
    __eq__ = _binary(operator.eq, "==")
    __ne__ = _binary(operator.ne, "!=")
    __iadd__ = _inplace(operator.iadd, "+=")
    __isub__ = _inplace(operator.isub, "-=")
    __imul__ = _inplace(operator.imul, "*=")
    __itruediv__ = _inplace(operator.itruediv, "/=")
    __iand__ = _inplace(operator.iand, "&=")
    __ior__ = _inplace(operator.ior, "|=")
    __hash__ = None

    def __neg__(self):
        return DeviceArray(-self._a)

    def __pos__(self):
        return self

    def __abs__(self):
        return DeviceArray(abs(self._a))

    def __invert__(self):
        return DeviceArray(~self._a)


def asarray(a, dtype=None, order=None) -> DeviceArray:
    """Host → device (CuPy's ``cupy.asarray``): the one way in."""
    if isinstance(a, DeviceArray):
        return a if dtype is None or a.dtype == dtype else DeviceArray(a._a.astype(dtype))
    return DeviceArray(np.array(a, dtype=dtype, order=order or "K", copy=True))


def ascontiguousarray(a, dtype=None) -> DeviceArray:
    if isinstance(a, DeviceArray):
        return DeviceArray(np.ascontiguousarray(a._a, dtype=dtype))
    return DeviceArray(np.ascontiguousarray(np.array(a, dtype=dtype, copy=True)))


def to_host(a) -> np.ndarray:
    """Device → host (CuPy's ``.get()``); host arrays pass through."""
    return a.get() if isinstance(a, DeviceArray) else a


#: NumPy functions and constants CuPy has under the same name (checked against CuPy 13/14's
#: reference); anything else is refused as MISSING_IN_CUPY
ALLOWED = frozenset("""
zeros ones empty full zeros_like ones_like empty_like full_like arange array
concatenate stack split broadcast_to tile repeat pad transpose moveaxis swapaxes expand_dims squeeze flip roll
reshape ravel where copyto clip take take_along_axis argsort sort argmax argmin cumsum diff outer
maximum minimum tanh exp log log1p expm1 sqrt square abs absolute sign negative multiply add subtract divide
true_divide power reciprocal floor ceil rint isfinite isnan isinf logical_and logical_or logical_not
greater greater_equal less less_equal equal not_equal
matmul dot vdot tensordot einsum inner
sum prod mean var std max min amax amin all any count_nonzero nonzero unique bincount searchsorted
result_type dtype float16 float32 float64 int8 int16 int32 int64 uint8 bool_ newaxis pi inf nan
shape ndim size
""".split())

#: ufuncs whose ``.reduce`` CuPy's ufunc has; ``.at`` is what older CuPy lacks (``cupyx.scatter_add``)
UFUNC_METHODS = frozenset({"reduce"})


class _Ufunc:
    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _call(self._u, f"xp.{self.__name__}", args, kwargs)

    def __getattr__(self, name):
        if name in UFUNC_METHODS:
            method = getattr(self._u, name)
            return lambda *args, **kwargs: _call(method, f"xp.{self.__name__}.{name}", args, kwargs)
        hint = " (on CuPy: cupyx.scatter_add)" if name == "at" else ""
        raise _leak(MISSING_IN_CUPY, f"xp.{self.__name__}.{name}{hint}")


def _as_strided(x, shape=None, strides=None, **kwargs):
    """CuPy's ``as_strided`` takes (x, shape, strides) only: no ``writeable``, no ``subok``."""
    if kwargs:
        raise _leak(MISSING_IN_CUPY, f"as_strided({', '.join(kwargs)}=...): CuPy's as_strided has no "
                                     f"{', '.join(kwargs)}")
    inner = _in(x, "as_strided")
    return DeviceArray(np.lib.stride_tricks.as_strided(inner, shape, strides, writeable=False))


class _Namespace(types.ModuleType):
    """The stand-in device's array module (what ``array_module`` returns for a DeviceArray)."""

    asarray = staticmethod(asarray)
    ascontiguousarray = staticmethod(ascontiguousarray)
    ndarray = DeviceArray

    def __getattr__(self, name):
        if name not in ALLOWED:
            raise _leak(MISSING_IN_CUPY, f"xp.{name} is not in the stand-in's list of functions CuPy has")
        value = getattr(np, name)
        if isinstance(value, np.ufunc):
            return _Ufunc(value)
        if callable(value) and not isinstance(value, type):
            if name in ("zeros", "ones", "empty", "full", "arange"):  # creation from host numbers and shapes
                return lambda *args, **kwargs: DeviceArray(np.asarray(value(*args, **kwargs)))
            if name == "array":  # a copy: of a device array on the device, of host data (one transfer in)
                return lambda a, dtype=None, copy=True, order="K": DeviceArray(
                    np.array(a._a if isinstance(a, DeviceArray) else a, dtype=dtype, copy=True, order=order))
            return lambda *args, **kwargs: _call(value, f"xp.{name}", args, kwargs)
        return value


xp = _Namespace("alzza.standin.xp", "The stand-in device's array module")
xp.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))


class Generator:
    """The stand-in device's random generator (CuPy's ``cupy.random.Generator`` subset):
    NumPy's PCG64 stream, every draw a device array."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float32):
        return DeviceArray(np.asarray(self._g.random(size, dtype=dtype)))

    def standard_normal(self, size=None, dtype=np.float32):
        return DeviceArray(np.asarray(self._g.standard_normal(size, dtype=dtype)))

    def uniform(self, low=0.0, high=1.0, size=None):
        return DeviceArray(np.asarray(self._g.uniform(low, high, size)))


def default_rng(seed=None) -> Generator:
    return Generator(seed)


xp.random = types.SimpleNamespace(default_rng=default_rng, Generator=Generator)
