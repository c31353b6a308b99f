"""The disk cache's size limit: least recently used entries go first (ALZZA_CACHE_LIMIT)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from alzza.data.store.cache import DEFAULT_LIMIT, DiskCache, cache_key, cache_limit, parse_size
from alzza.errors import DataError

ENTRY = 40_000  # bytes of array data per entry (the .npz adds a few hundred)


def entry(cache: DiskCache, name: str, clock: int | None = None) -> str:
    key = cache_key(name, {}, [])
    assert cache.save(key, {"a": np.full(ENTRY // 4, len(name), np.float32)})
    if clock is not None:  # a fixed "last used" time, so the order does not depend on timer resolution
        os.utime(cache.path(key), ns=(clock, clock))
    return key


def kept(cache: DiskCache, keys) -> list[bool]:
    return [cache.path(k).exists() for k in keys]


def test_least_recently_used_entries_are_evicted_first(tmp_path):
    cache = DiskCache(tmp_path, limit=int(3.5 * ENTRY))
    a, b, c = (entry(cache, n, clock=t * 10**9) for n, t in (("a", 1), ("b", 2), ("c", 3)))
    assert kept(cache, [a, b, c]) == [True, True, True]
    assert cache.load(a, expected=["a"]) is not None  # a read makes a the most recently used
    d = entry(cache, "d")
    assert kept(cache, [a, b, c, d]) == [True, False, True, True]  # b was the least recently used
    assert cache.size() <= cache.limit
    e = entry(cache, "e")
    assert kept(cache, [a, c, d, e]) == [True, False, True, True]
    assert [p.name for p, _, _ in cache.entries()][-1] == cache.path(e).name  # newest last


def test_an_entry_bigger_than_the_limit_is_kept_until_the_next_save(tmp_path):
    cache = DiskCache(tmp_path, limit=ENTRY // 2)
    a = entry(cache, "a")
    assert kept(cache, [a]) == [True]
    b = entry(cache, "b")
    assert kept(cache, [a, b]) == [False, True]


def test_unlimited_never_evicts_and_clear_empties(tmp_path):
    cache = DiskCache(tmp_path, limit=None)
    keys = [entry(cache, n) for n in "abcdef"]
    assert all(kept(cache, keys))
    (tmp_path / f".{keys[0]}.x.tmp").write_bytes(b"left over")  # a killed save's temporary file
    count, _ = cache.clear()
    assert count == 7 and list(tmp_path.iterdir()) == []


def test_clear_reports_files_and_bytes(tmp_path):
    cache = DiskCache(tmp_path, limit=None)
    keys = [entry(cache, n) for n in "abc"]
    total = sum(cache.path(k).stat().st_size for k in keys)
    assert cache.clear() == (3, total)
    assert cache.size() == 0 and cache.entries() == []


@pytest.mark.parametrize("text, size", [("500MB", 500 * 10**6), ("5 GB", 5 * 10**9), ("2GiB", 2 * 2**30),
                                        ("1048576", 1048576), ("1.5g", 1_500_000_000), ("unlimited", None)])
def test_sizes(text, size):
    assert parse_size(text) == size


def test_the_limit_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("ALZZA_CACHE_LIMIT", raising=False)
    assert cache_limit() == DEFAULT_LIMIT == 5 * 10**9
    monkeypatch.setenv("ALZZA_CACHE_LIMIT", "80kB")
    assert DiskCache(tmp_path).limit == 80_000
    monkeypatch.setenv("ALZZA_CACHE_LIMIT", "lots")
    with pytest.raises(DataError, match="ALZZA_CACHE_LIMIT.*500MB, 5GB"):
        DiskCache(tmp_path)


def test_a_read_only_cache_still_loads(tmp_path, monkeypatch):
    cache = DiskCache(tmp_path, limit=None)
    key = entry(cache, "a")

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "utime", refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load(key, expected=["a"])["a"].shape == (ENTRY // 4,)
