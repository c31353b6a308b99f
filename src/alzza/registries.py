"""One way to register a named class: a :class:`Registry` and its class decorator.

Layer types (``@register_layer('conv')``), model kinds (``@register_model_kind('gan')``),
optimisers (``@register_optimizer('adam')``), output modes (``@register_head('select')``) and
data sets (``@register_dataset('abalone', options=...)``, a class or a factory function)
are each a Registry: a dict of name → class, filled by decorating the class, which also
writes the name onto it. A name is never silently taken over by another class
(re-importing the same class is fine).
"""

from __future__ import annotations


class Registry(dict):
    """name → class for one kind of thing (``what``, e.g. ``'layer type'``)."""

    def __init__(self, what: str, name_attr: str):
        super().__init__()
        self.what = what
        #: the class attribute that receives the registered name (``type_name``, ``kind``...)
        self.name_attr = name_attr

    def register(self, name: str, base: type | None = None):
        """Class (or function) decorator: ``self[name] = cls``, ``cls.<name_attr> = name``.

        ``base``: the class must derive from it. A name already taken by a different class
        (another module or qualified name) is a ValueError.
        """

        def decorate(cls):
            if base is not None and not (isinstance(cls, type) and issubclass(cls, base)):
                raise TypeError(f"{self.what} {name!r}: the decorated class must derive from "
                                f"{base.__module__}.{base.__qualname__}, got {cls!r}")
            old = self.get(name)
            if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
                raise ValueError(f"{self.what} {name!r} is already {old.__module__}.{old.__qualname__}; "
                                 f"choose another name for {cls.__module__}.{cls.__qualname__}")
            setattr(cls, self.name_attr, name)
            self[name] = cls
            return cls

        return decorate
