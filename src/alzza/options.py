"""Declared options: what a layer type, an output mode or a data set accepts, and the one
check of a value.

A layer class and a head class list their options once, in ``OPTIONS`` (name →
:class:`Option`); a data set gives the same kind of mapping to ``@register_dataset``. The
spec front end, ``make_head`` and ``make_dataset`` all ask :func:`option_problem` about
every given value, so a bad value is described the same way everywhere, and a layer reads its options back for its spec
and its summary line from the same declaration (see :meth:`alzza.layers.base.Layer.options`).
"""

from __future__ import annotations

import math
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
    elif isinstance(value, int):
        ok = int in types or float in types
    else:
        ok = isinstance(value, types)
    if not ok:
        return value, f"must be {type_names(types)}, got {value!r}"
    if float in types and int not in types and isinstance(value, int) and not isinstance(value, bool):
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
