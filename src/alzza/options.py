"""Declared options: what a layer type, an output mode or a data set accepts, and the one
check of a value.

A layer class, a head class, an optimiser and a learning-rate schedule list their options
once, in ``OPTIONS`` (name → :class:`Option`); a data set gives the same kind of mapping to
``@register_dataset``. The spec front end, every layer's constructor (the base class checks
the arguments, see :class:`alzza.layers.base.Layer`), ``make_head``, ``make_optimizer``,
``make_schedule`` and ``make_dataset`` all ask :func:`option_problem` about every given
value, so a bad value is described the same way everywhere, and a layer reads its options
back for its spec and its summary line from the same declaration (see
:meth:`alzza.layers.base.Layer.options`).

The usual kinds of option are written with a helper, each one line::

    "width": positive_int("number of outputs"),
    "keep_prob": probability("probability of keeping a unit", 1.0, low_open=True),

and a value outside any declaration (a training setting, a reader's argument) is checked
by the same words with :func:`checked` (``checked(epochs, positive_int(), "epochs")``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: the default of an option that must be given
REQUIRED = object()


@dataclass(frozen=True)
class Option:
    """One option: accepted Python types, default (or required), choices and a check.

    ``types`` is a type or a tuple of types; ``bool`` is never accepted for ``int`` or
    ``float`` (YAML's ``true`` is not a number), and an ``int`` is accepted for ``float``.
    ``check(value)`` may return ``False`` (then the message says the value must be
    ``expects``) or a problem text; ``True`` or ``None`` mean the value is fine.
    ``attr`` names the layer attribute holding the value when it is not the option's
    name, and ``plain`` turns that attribute back into spec data (e.g. (3, 3) → 3).
    """

    types: Any
    default: Any = REQUIRED
    choices: tuple | None = None
    doc: str = ""
    check: Callable[[Any], Any] | None = None
    expects: str = ""
    attr: str | None = None
    plain: Callable[[Any], Any] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_tuple(self) -> tuple:
        return self.types if isinstance(self.types, tuple) else (self.types,)


def type_names(types: tuple) -> str:
    """The accepted types in words: ``an integer or a list``."""
    words = {bool: "true or false", int: "an integer", float: "a number", str: "text",
             list: "a list", tuple: "a list", dict: "a mapping"}
    return " or ".join(dict.fromkeys(words.get(t, t.__name__) for t in types))


def option_problem(option: Option, value) -> tuple[Any, str | None]:
    """``(value, None)`` when ``value`` fits ``option`` (an int given for a float option
    becomes a float), else ``(value, what is wrong)`` in words a user reads."""
    types = option.type_tuple
    if isinstance(value, bool):
        ok = bool in types
    elif isinstance(value, numbers.Integral):  # NumPy's integers too
        ok = int in types or float in types
    elif isinstance(value, numbers.Real) and not isinstance(value, float):  # NumPy's float32
        ok = float in types
    else:
        ok = isinstance(value, types)
    if not ok:
        return value, f"must be {type_names(types)}, got {value!r}"
    if float in types and int not in types and isinstance(value, numbers.Real) and not isinstance(value, float):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):  # YAML's .inf / .nan: never a sensible option
        return value, f"must be a finite number, got {value!r}"
    if option.choices is not None and value not in option.choices:
        return value, f"must be one of {list(option.choices)}, got {value!r}"
    if option.check is not None:
        verdict = option.check(value)
        if verdict is False:
            return value, f"must be {option.expects or 'valid'}, got {value!r}"
        if isinstance(verdict, str) and verdict:
            return value, verdict
    return value, None


# --- the usual kinds of option, one line each ------------------------------------------------
def positive_int(doc: str = "", default=REQUIRED, **more) -> Option:
    """An integer > 0 (never a bool)."""
    return Option((int,), default, doc=doc, check=lambda v: v > 0, expects="a positive integer", **more)


def non_negative_int(doc: str = "", default=REQUIRED, **more) -> Option:
    """An integer >= 0 (never a bool)."""
    return Option((int,), default, doc=doc, check=lambda v: v >= 0, expects="a non-negative integer", **more)


def int_in(low: int, high: int | None = None, doc: str = "", default=REQUIRED, **more) -> Option:
    """An integer in [low, high] (``high`` None: no upper bound)."""
    if high is None:
        return Option((int,), default, doc=doc, check=lambda v: v >= low, expects=f"an integer >= {low}", **more)
    return Option((int,), default, doc=doc, check=lambda v: low <= v <= high,
                  expects=f"an integer in [{low}, {high}]", **more)


def positive_float(doc: str = "", default=REQUIRED, **more) -> Option:
    """A finite number > 0 (an int is accepted and becomes a float)."""
    return Option((float,), default, doc=doc, check=lambda v: v > 0, expects="a positive number", **more)


def non_negative_float(doc: str = "", default=REQUIRED, **more) -> Option:
    """A finite number >= 0."""
    return Option((float,), default, doc=doc, check=lambda v: v >= 0, expects="a non-negative number", **more)


def probability(doc: str = "", default=REQUIRED, *, low_open: bool = False, high_open: bool = False,
                **more) -> Option:
    """A number in [0, 1]; ``low_open`` leaves 0 out, ``high_open`` leaves 1 out."""
    def check(v):
        return (v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)
    expects = f"a number in {'(' if low_open else '['}0, 1{')' if high_open else ']'}"
    return Option((float,), default, doc=doc, check=check, expects=expects, **more)


def one_of(choices, doc: str = "", default=REQUIRED, **more) -> Option:
    """Text, one of ``choices``."""
    return Option((str,), default, tuple(choices), doc, **more)


def flag(doc: str = "", default=REQUIRED, **more) -> Option:
    """True or false."""
    return Option((bool,), default, doc=doc, **more)


def checked(value, option: Option, name: str, error: Callable[[str], Exception] = ValueError, where: str = ""):
    """``value`` (an int made a float for a float option) when it fits ``option``, else
    ``error("<where>: <name> must be ..., got ...")``: the check of a value that is not a
    registered thing's option (a training setting, a reader's argument). ``error`` is an
    exception class or any callable making one from the message
    (``functools.partial(SpecError, 'optimizer')``)."""
    value, problem = option_problem(option, value)
    if problem:
        raise error(f"{where + ': ' if where else ''}{name} {problem}")
    return value


def check_arguments(declared: dict[str, Option], values: dict, prefix: str = "",
                    error: Callable[[str], Exception] = ValueError) -> dict:
    """The constructor arguments of an optimiser or a schedule, each checked against its
    declared Option (message ``<prefix><name> must be ...``); returns them, ints made floats
    for float options. A value left at its default is not checked again."""
    out = {}
    for key, value in values.items():
        option = declared[key]
        if not option.required and value is option.default:
            out[key] = value
        else:
            out[key] = checked(value, option, prefix + key, error)
    return out


def check_declared(declared: dict[str, Option], values: dict, what: str,
                   error: Callable[[str], Exception] = ValueError) -> dict:
    """Every value in ``values`` checked against its declaration in ``declared`` (an unknown
    name is an error naming the known ones); returns the values, ints made floats where the
    option is a float. ``what`` names the thing in messages (``"optimizer 'adam'"``)."""
    out = {}
    for key, value in values.items():
        option = declared.get(key)
        if option is None:
            known = ", ".join(declared) or "none"
            raise error(f"{what} has no option {key!r}; known options: {known}")
        value, problem = option_problem(option, value)
        if problem:
            raise error(f"{what}: option {key!r} {problem}" + (f" ({option.doc})" if option.doc else ""))
        out[key] = value
    return out
