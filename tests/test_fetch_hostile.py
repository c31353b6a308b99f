"""Hostile servers and data folders for ``alzza fetch`` (issue 23: S2, H1, T5).

Each server runs on 127.0.0.1 (an ephemeral port), is started by the test and stops
with it; every case runs under a deadline, so a hang fails instead of waiting.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import yaml

from alzza.data.store import download as download_module
from alzza.data.store import fetch as fetch_module

from _fetch_env import isolate_fetch
from _hostile import run_cli

BODY = b"a,b\n1,2\n" * 100  # the file the registry knows: 800 bytes


@pytest.fixture(autouse=True)
def _own_folders(monkeypatch, tmp_path):
    isolate_fetch(monkeypatch, tmp_path)


class Hostile(http.server.BaseHTTPRequestHandler):
    """Answers every GET the way ``mode`` says; counts the body bytes it managed to send."""

    protocol_version = "HTTP/1.1"
    mode = "endless"
    sent = 0
    stop = threading.Event()

    def do_GET(self):  # noqa: N802 (http.server's name)
        cls = type(self)
        self.send_response(200)
        try:
            if cls.mode == "endless":  # no Content-Length, a body without end (64 MiB at most)
                self.send_header("Connection", "close")
                self.end_headers()
                block = b"x" * 65536
                while cls.sent < 64 * 1024 * 1024 and not cls.stop.is_set():
                    self.wfile.write(block)
                    cls.sent += len(block)
            elif cls.mode == "bomb":  # 50 MiB of zeros, sent gzip-encoded (about 50 kB)
                body = gzip.compress(b"\0" * (50 * 1024 * 1024))
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                cls.sent += len(body)
            elif cls.mode == "slow":  # one byte at a time, 0.2 s apart, for at most 30 s
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                for byte in BODY[:150]:
                    if cls.stop.wait(0.2):
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    cls.sent += 1
        except OSError:  # the client hung up: what a bounded client does
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile(tmp_path):
    handler = type("Handler", (Hostile,), {"sent": 0, "stop": threading.Event()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        handler.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def registry(tmp_path: Path, size: int | None = len(BODY)) -> Path:
    entry = {"title": "t", "datasets": ["steel"], "licence": "l", "citation": "c",
             "files": [{"path": "faults.csv", "url": "http://127.0.0.1:1/faults.csv",
                        "sha256": hashlib.sha256(BODY).hexdigest(), "size": size}]}
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"datasets": {"steel": entry}}))
    return path


def fetch(tmp_path, base, capsys, *extra):
    return run_cli(["fetch", "steel", "--registry", registry(tmp_path), "--mirror", base,
                    "--data-dir", tmp_path / "data", "--no-progress", *extra], capsys, seconds=60)


def leftovers(tmp_path) -> list[str]:
    folder = tmp_path / "data"
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# S2: an endless body stops at the registry's size
def test_an_endless_body_stops_at_the_registry_size(tmp_path, hostile, capsys):
    base, handler = hostile
    handler.mode = "endless"
    code, _, err = fetch(tmp_path, base, capsys)
    assert code == 2 and "Traceback" not in err
    assert "refused faults.csv" in err and f"more than the {len(BODY):,} bytes it may have" in err
    handler.stop.set()
    assert handler.sent < 64 * 1024 * 1024  # the client hung up long before the server's cap
    assert leftovers(tmp_path) == []


# S2: a gzip-encoded body is never decoded, so it cannot expand
def test_a_gzip_bomb_is_refused_without_expanding(tmp_path, hostile, capsys):
    base, handler = hostile
    handler.mode = "bomb"
    code, _, err = fetch(tmp_path, base, capsys)
    assert code == 2 and "Traceback" not in err
    assert "refused faults.csv" in err and "announced" in err
    assert leftovers(tmp_path) == []


# S2: where the registry gives no size, the setting bounds it
def test_a_file_without_a_size_is_bounded_by_the_setting(tmp_path, hostile, capsys, monkeypatch):
    base, handler = hostile
    handler.mode = "endless"
    monkeypatch.setenv(download_module.MAX_BYTES_ENV, "1M")
    code, _, err = run_cli(["fetch", "steel", "--registry", registry(tmp_path, size=None), "--mirror", base,
                            "--data-dir", tmp_path / "data"], capsys)
    assert code == 2 and f"more than the {1024 * 1024:,} bytes" in err and download_module.MAX_BYTES_ENV in err
    assert leftovers(tmp_path) == []


# S2: free space is checked before anything is downloaded
def test_too_little_free_space_is_refused_before_downloading(tmp_path, hostile, capsys, monkeypatch):
    base, handler = hostile
    handler.mode = "endless"
    real = fetch_module.shutil.disk_usage
    monkeypatch.setattr(fetch_module.shutil, "disk_usage",
                        lambda path: real(path)._replace(free=100))
    code, _, err = fetch(tmp_path, base, capsys)
    assert code == 2 and "not enough free space for steel" in err and f"{len(BODY):,} bytes" in err
    assert handler.sent == 0


# H1: a server that trickles one byte at a time meets the per-file deadline
def test_a_trickling_server_meets_the_deadline(tmp_path, hostile, capsys, monkeypatch):
    base, handler = hostile
    handler.mode = "slow"
    monkeypatch.setenv(download_module.DEADLINE_ENV, "1")
    start = time.monotonic()
    code, _, err = fetch(tmp_path, base, capsys)
    took = time.monotonic() - start
    assert code == 2 and "Traceback" not in err
    assert "gave up on faults.csv" in err and "longer than 1 s" in err and download_module.DEADLINE_ENV in err
    assert handler.sent < 150 and took < 30  # stopped by the deadline, not by the end of the trickle
    assert leftovers(tmp_path) == []


def test_a_bad_deadline_setting_is_one_error(tmp_path, hostile, capsys, monkeypatch):
    base, _ = hostile
    monkeypatch.setenv(download_module.DEADLINE_ENV, "soon")
    code, _, err = fetch(tmp_path, base, capsys)
    assert code == 2 and "ALZZA_FETCH_DEADLINE='soon' must be a number" in err


# T5: the target name is a folder (or a link to a device) → one clear error
@pytest.mark.parametrize("kind", ["folder", "device link"])
def test_a_target_that_is_not_a_file_is_one_clear_error(tmp_path, hostile, capsys, kind):
    base, handler = hostile
    data = tmp_path / "data"
    data.mkdir()
    if kind == "folder":
        (data / "faults.csv").mkdir()
    else:
        (data / "faults.csv").symlink_to("/dev/zero")
    code, _, err = fetch(tmp_path, base, capsys)
    assert code == 2 and "Traceback" not in err
    assert f"{data / 'faults.csv'} is already there but is" in err and "move it away" in err
    assert handler.sent == 0


def test_a_file_where_a_folder_should_be_is_one_clear_error(tmp_path, capsys):
    served = tmp_path / "served"
    (served / "pictures").mkdir(parents=True)
    (served / "pictures" / "a.jpg").write_bytes(b"jpeg")
    entry = {"title": "t", "datasets": ["gan-picture"], "licence": "l", "citation": "c",
             "files": [{"path": "pictures/a.jpg", "url": "http://127.0.0.1:1/x",
                        "sha256": hashlib.sha256(b"jpeg").hexdigest(), "size": 4}]}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"datasets": {"pictures": entry}}))
    data = tmp_path / "data"
    data.mkdir()
    (data / "pictures").write_text("a file, not a folder")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(http.server.SimpleHTTPRequestHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        code, _, err = run_cli(["fetch", "pictures", "--registry", tmp_path / "r.yaml", "--mirror",
                                f"http://127.0.0.1:{httpd.server_address[1]}", "--data-dir", data], capsys)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 2 and "Traceback" not in err and "cannot put a.jpg in place" in err


@pytest.mark.parametrize("mirror", ["file:///etc", "ftp://127.0.0.1/x"])
def test_a_mirror_that_is_not_http_is_refused(tmp_path, capsys, mirror):
    code, _, err = fetch(tmp_path, mirror, capsys)
    assert code == 2 and "not an http:// or https:// address" in err
