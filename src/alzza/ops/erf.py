"""The error function on arrays (NumPy has none): erf, erfc and the normal CDF Φ.

For z ≥ 0 (the form of Numerical Recipes' erfc, with coefficients of our own fit)::

    t = 2 / (2 + z)        erfc(z) = t · exp(−z² + f(t))        f(t) = Σ_k c_k T_k(2t − 1)

with T_k the Chebyshev polynomials, evaluated by Clenshaw's recurrence; erfc(−z) = 2 − erfc(z)
and erf = 1 − erfc. The 17 coefficients are a least-squares fit to Python's ``math.erfc``
in float64 (``python tools/fit_erf.py`` reproduces them); the largest absolute error of
erfc on [0, 26.5] is 1.4e-12 there, and tests/test_gelu.py measures erf against ``math.erf``
on a grid. Arrays are computed in their own dtype (float32 stays float32).
"""

from __future__ import annotations

import math

from ..backend import array_module

#: Chebyshev coefficients of f(t) (see the module docstring; from tools/fit_erf.py)
COEFFICIENTS = (
    -0.6513268654766927,
    0.6419698033577761,
    0.019476462700314986,
    -0.009561505067748577,
    -0.0009466040521541334,
    0.0003668470425381074,
    4.2517013923384696e-05,
    -2.0273493759074626e-05,
    -1.6282229901787874e-06,
    1.306564719834736e-06,
    1.3581167886770422e-08,
    -8.388204257572033e-08,
    5.691324167791076e-09,
    5.532512872828395e-09,
    -1.2277161510063126e-09,
    -1.300385695969614e-10,
    6.986815472825093e-11,
)

SQRT_HALF = math.sqrt(0.5)


def terms_for(dtype) -> int:
    """How many coefficients a dtype needs: the leading ones whose dropped tail Σ|c_k| is below
    an eighth of the dtype's epsilon (f enters as e^f, so that is its relative error) — all 17
    for float64, 12 for float32 (a third fewer passes of the recurrence)."""
    import numpy as np

    limit = float(np.finfo(dtype).eps) / 8
    count = len(COEFFICIENTS)
    while count > 2 and sum(abs(c) for c in COEFFICIENTS[count - 1:]) < limit:
        count -= 1
    return count


def _erfc_nonnegative(z):
    """erfc(z) for z ≥ 0 (elementwise).

    The recurrence runs in three buffers, in place (no array is allocated per term); each
    term is the same three operations in the same order as b_k = c_k + 2y·b_{k+1} − b_{k+2}
    written plainly, so the result is bit for bit that of the plain form."""
    xp = array_module(z)
    one = z.dtype.type(1)
    t = 2 / (2 + z)
    y2 = 2 * (2 * t - one)                    # 2y for Clenshaw, y = 2t − 1
    b1 = xp.zeros_like(z)
    b2 = xp.zeros_like(z)
    scratch = xp.empty_like(z)
    for c in COEFFICIENTS[terms_for(z.dtype) - 1:0:-1]:    # b_k = c_k + 2y·b_{k+1} − b_{k+2}
        xp.multiply(y2, b1, out=scratch)
        xp.subtract(scratch, b2, out=b2)
        xp.add(b2, z.dtype.type(c), out=b2)   # b2 now holds b_k
        b1, b2 = b2, b1
    f = 0.5 * y2 * b1 - b2 + z.dtype.type(COEFFICIENTS[0])
    return t * xp.exp(f - z * z)


def erfc(x):
    """The complementary error function 1 − erf(x), elementwise, in x's dtype."""
    xp = array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(xp.float64)
    value = _erfc_nonnegative(xp.abs(x))
    return xp.where(x < 0, 2 - value, value)


def erf(x):
    """The error function erf(x) = (2/√π)·∫₀ˣ e^(−s²) ds, elementwise, in x's dtype."""
    return 1 - erfc(x)


def normal_cdf(x):
    """Φ(x) = ½·erfc(−x/√2), the standard normal distribution function (exact to ~1e-12)."""
    return 0.5 * erfc(-x * x.dtype.type(SQRT_HALF))
