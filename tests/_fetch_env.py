"""The environment every fetch test runs in: no data folder, mirror or proxy from the
machine, its own cache and per-user folder, no retries (a refused download fails at once)."""

from __future__ import annotations

from alzza.data.store import download as download_module
from alzza.data.store import fetch as fetch_module
from alzza.data.store import locate

PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def isolate_fetch(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    monkeypatch.delenv(fetch_module.MIRROR_ENV, raising=False)
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locate, "default_data_root", lambda: tmp_path / "user-cache" / "data")
    monkeypatch.setattr(download_module, "RETRIES", 0)
