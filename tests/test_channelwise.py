"""ops.channelwise: per-channel operations on widened rows give the broadcast's exact numbers."""

from __future__ import annotations

import numpy as np
import pytest

from alzza.ops import channelwise
from alzza.ops.channelwise import WIDE_ROW, per_channel, row_fold


@pytest.fixture(params=["widened", "plain"])
def small(request, monkeypatch):
    # every size through the widened view, and the plain broadcast below SMALL
    if request.param == "widened":
        monkeypatch.setattr(channelwise, "SMALL", 0)
        monkeypatch.setattr(channelwise, "WIDE_FROM", 10 ** 6)
    return request.param


@pytest.mark.parametrize("m,c", [(64 * 32 * 32, 16), (1024, 64), (97, 6), (12, 700), (1, 3), (36, 1)])
@pytest.mark.parametrize("ufunc", [np.multiply, np.add, np.subtract])
def test_per_channel_equals_broadcasting(m, c, ufunc, small):
    rng = np.random.default_rng(m + c)
    a2 = rng.standard_normal((m, c)).astype(np.float32)
    v = rng.standard_normal(c).astype(np.float32)
    expected = ufunc(a2, v)
    np.testing.assert_array_equal(per_channel(ufunc, a2, v), expected)
    out = np.empty_like(a2)
    assert per_channel(ufunc, a2, v, out=out) is out
    np.testing.assert_array_equal(out, expected)
    in_place = a2.copy()
    per_channel(ufunc, in_place, v, out=in_place)
    np.testing.assert_array_equal(in_place, expected)


def test_per_channel_non_contiguous_and_mixed_dtypes(small):
    rng = np.random.default_rng(1)
    a2 = rng.standard_normal((40, 12))[:, ::2]          # (40, 6), not contiguous
    v = rng.standard_normal(6).astype(np.float32)
    np.testing.assert_array_equal(per_channel(np.multiply, a2, v), a2 * v)
    assert per_channel(np.multiply, a2, v).dtype == np.float64


def test_row_fold_divides_and_stays_within_a_wide_row():
    for m, c in [(65536, 16), (589824, 6), (97, 6), (1024, 64), (10, 1000)]:
        r = row_fold(m, c)
        assert m % r == 0 and 1 <= r and (r == 1 or r * c <= WIDE_ROW)
    assert row_fold(65536, 16) == WIDE_ROW // 16
    assert row_fold(97, 6) == 1  # a prime number of rows: nothing to fold
