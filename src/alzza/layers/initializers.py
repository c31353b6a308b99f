"""Weight initialisation schemes.

=========  ===============================================  ====================
scheme     W ~                                              note
=========  ===============================================  ====================
normal     N(0, std²), std = 0.03 by default                 the book's choice
he         N(0, 2 / fan_in)                                  suits relu
glorot     U(−a, a), a = √(6 / (fan_in + fan_out))           suits tanh/sigmoid
=========  ===============================================  ====================

Biases start at zero in every scheme. A scheme is written in a spec as a name
(``'he'``) or a mapping (``{'scheme': 'normal', 'std': 0.003}``).

:class:`ShapeOnly` stands in for an initialiser when only shapes and parameter counts
are wanted (``alzza summary``, the spec check before training): its "weights" take no
memory and draw no random number.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError

SCHEMES = ("normal", "he", "glorot")


class Initializer:
    """Draws initial weights with the generator it is given."""

    def __init__(self, scheme: str = "normal", std: float = 0.03):
        if scheme not in SCHEMES:
            raise SpecError("init", f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
        self.scheme = scheme
        self.std = float(std)

    @classmethod
    def from_spec(cls, spec) -> Initializer:
        """``None`` → default; ``'he'``; ``{'scheme': 'normal', 'std': 0.003}``; an Initializer as is."""
        if isinstance(spec, Initializer):
            return spec
        if spec is None:
            return cls()
        if isinstance(spec, str):
            return cls(spec)
        if isinstance(spec, dict):
            unknown = set(spec) - {"scheme", "std"}
            if unknown:
                raise SpecError("init", f"unknown option(s) {sorted(unknown)}; known: scheme, std")
            std = spec.get("std", 0.03)
            if not isinstance(std, (int, float)) or std <= 0:
                raise SpecError("init.std", f"must be a positive number, got {std!r}")
            return cls(spec.get("scheme", "normal"), std)
        raise SpecError("init", f"must be a scheme name or a mapping, got {spec!r}")

    def to_spec(self):
        return {"scheme": self.scheme, "std": self.std} if self.scheme == "normal" else self.scheme

    #: bytes of the weight arrays drawn so far (one Initializer per model build)
    drawn_bytes = 0

    def _count_bytes(self, shape, dtype) -> None:
        """Refuse a weight array before allocating it when the model's weights so far
        would pass ALZZA_MAX_MEMORY (biases are one row of their weights, and are drawn
        after them: the weights are the ones that can be huge)."""
        from ..limits import check_memory

        size = 1
        for d in shape:
            size *= int(d)
        nbytes = size * dtype.itemsize
        others = f" after {self.drawn_bytes:,} bytes of others" if self.drawn_bytes else ""
        check_memory(self.drawn_bytes + nbytes, f"the parameters (a weight array of shape {tuple(shape)}{others})")
        self.drawn_bytes += nbytes

    def weights(self, shape, fan_in: int, fan_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
        """A new weight array of ``shape`` drawn by this scheme, in ``dtype``.

        Drawn directly in ``dtype`` (float32 by default): a float64 draw converted
        afterwards would need a temporary twice the size — 0.8 GB for VGG-19's first
        fully connected layer.
        """
        dtype = np.dtype(dtype)
        self._count_bytes(shape, dtype)
        if self.scheme == "glorot":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.random(shape, dtype=dtype)
            w *= 2 * limit
            w -= limit
            return w
        std = self.std if self.scheme == "normal" else np.sqrt(2.0 / fan_in)
        w = rng.standard_normal(shape, dtype=dtype)
        w *= std
        return w


class ShapeOnly(Initializer):
    """An initialiser whose weights have the right shape and size and no memory.

    Each "weight array" is ``np.broadcast_to`` of a single zero: ``shape`` and ``size``
    are those of the real array (so output shapes and parameter counts are exact), but
    no memory is allocated and no random number is drawn, and the array is read-only,
    so a model built this way cannot be trained by mistake (the first update fails).
    VGG-19's 143 M weights cost nothing to summarise this way.
    """

    def __init__(self, spec=None):
        base = Initializer.from_spec(spec)
        super().__init__(base.scheme, base.std)

    def weights(self, shape, fan_in: int, fan_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
        # counted like real weights: a model too big to build is refused here too, before
        # its biases (real arrays) are allocated
        self._count_bytes(shape, np.dtype(dtype))
        return np.broadcast_to(np.zeros((), dtype=np.dtype(dtype)), tuple(shape))
