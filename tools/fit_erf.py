"""Fit the Chebyshev coefficients of alzza.ops.erf (run: python tools/fit_erf.py).

erfc(z) = t·exp(−z² + f(t)) with t = 2/(2 + z), z ≥ 0 (the form of Numerical Recipes'
erfc); f is smooth on t ∈ (0, 1], so a degree-16 Chebyshev series in y = 2t − 1 fits it.
The fit is a least-squares fit at Chebyshev nodes to Python's math.erfc (float64) for
z ∈ [0, 27] (erfc(27) ≈ 5e-319: beyond it erfc is 0 in float64). Prints the coefficients
and the largest absolute error of erfc on 200,001 points of [0, 26.5].
"""

import math

import numpy as np
from numpy.polynomial import chebyshev

DEGREE = 16
NODES = 4000


def fit():
    k = np.arange(NODES)
    y = np.cos(np.pi * (k + 0.5) / NODES)
    t = (y + 1) / 2
    keep = t >= 2 / 29
    t, y = t[keep], y[keep]
    z = 2 / t - 2
    f = np.array([math.log(math.erfc(zz) / tt) + zz * zz for zz, tt in zip(z, t, strict=True)])
    return chebyshev.chebfit(y, f, DEGREE)


def main():
    c = fit()
    z = np.linspace(0, 26.5, 200001)
    t = 2 / (2 + z)
    approx = t * np.exp(-z * z + chebyshev.chebval(2 * t - 1, c))
    exact = np.array([math.erfc(v) for v in z])
    print("COEFFICIENTS = (")
    for value in c:
        print(f"    {float(value)!r},")
    print(")")
    print(f"max |erfc error| on [0, 26.5]: {np.max(np.abs(approx - exact)):.3g}")


if __name__ == "__main__":
    main()
