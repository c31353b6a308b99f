"""Every data set through a mirror (issue 26, point 1).

A mirror is any served data folder. These tests serve folders they write, or the
shared data folder in place, from a 127.0.0.1 HTTP server they start and stop: a data
set whose origin needs an account (a listing names its files), recompressed gzip copies
checked by their content, optional files a mirror lacks, ``--all`` going on after a
failure and ending with a table, and ``alzza data`` naming the files of a partly
present data set.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import yaml

from alzza.cli import main

from _fetch_env import isolate_fetch

SHARED = Path(os.environ.get("ALZZA_DATA", "") or "/nonexistent")


@pytest.fixture(autouse=True)
def _own_folders(monkeypatch, tmp_path):
    isolate_fetch(monkeypatch, tmp_path)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: thousands of small files

    def log_message(self, *args):
        pass


def serve(folder: Path):
    """Start a loopback server for ``folder``; returns (base URL, stop function)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop():
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)

    return f"http://127.0.0.1:{httpd.server_address[1]}", stop


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    base, stop = serve(folder)
    yield base, folder
    stop()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- a listed folder (flowers)
def photos_registry(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A registry with a data set known only by a listing (its origin needs an account)."""
    names = sorted(files)
    (tmp_path / "photos.txt").write_text("".join(f"{len(files[n])} {n}\n" for n in names))
    manifest = "".join(f"{sha256(files[n])}  {n}\n" for n in names)
    entry = {"title": "photos", "datasets": ["flowers"], "licence": "l", "citation": "c", "folder": "photos",
             "layout": "photos/<kind>/*.jpg", "manual": "1. sign in at Kaggle\n",
             "listing": {"file": "photos.txt", "manifest_sha256": sha256(manifest.encode()),
                         "description": "the test photos"}}
    path = tmp_path / "photos.yaml"
    path.write_text(yaml.safe_dump({"datasets": {"photos": entry}}))
    return path


PHOTOS = {"daisy/a.jpg": b"\xff\xd8daisy-a", "daisy/b b.jpg": b"\xff\xd8daisy-b", "rose/c.jpg": b"\xff\xd8rose"}


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def test_a_data_set_whose_origin_needs_an_account_comes_from_a_mirror(served, tmp_path, capsys):
    base, folder = served
    write_tree(folder / "photos", PHOTOS)
    registry = photos_registry(tmp_path, PHOTOS)
    data = tmp_path / "data"
    # without a mirror: the steps by hand, and the mirror way
    assert main(["fetch", "photos", "--registry", str(registry), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "1. sign in at Kaggle" in err and "alzza fetch photos --mirror URL" in err
    assert main(["fetch", "photos", "--registry", str(registry), "--data-dir", str(data), "--mirror", base,
                 "--no-progress"]) == 0
    assert "checked (3 files, sizes, file-list SHA-256)" in capsys.readouterr().out
    assert {n: (data / "photos" / n).read_bytes() for n in PHOTOS} == PHOTOS


def test_a_listed_folder_with_a_changed_file_is_refused(served, tmp_path, capsys):
    base, folder = served
    changed = dict(PHOTOS, **{"rose/c.jpg": b"\xff\xd8ROSE"})  # same size, other bytes
    write_tree(folder / "photos", changed)
    registry = photos_registry(tmp_path, PHOTOS)
    data = tmp_path / "data"
    assert main(["fetch", "photos", "--registry", str(registry), "--data-dir", str(data), "--mirror", base]) == 2
    err = capsys.readouterr().err
    assert "refused the photos files: the SHA-256 of the file list does not match" in err
    assert not (data / "photos").exists()


# ----------------------------------------------------------------------------- gzip files (MNIST)
IMAGES = bytes(range(256)) * 400
LABELS = bytes(range(10)) * 50


def digits_registry(tmp_path: Path, published: dict[str, bytes]) -> Path:
    """Two required gzip files and one optional, each with its content's size and hashes."""
    contents = {"t10k-images.gz": IMAGES, "t10k-labels.gz": LABELS, "train-labels.gz": LABELS[::-1]}
    files = []
    for name, content in contents.items():
        files.append({"path": f"digits/{name}", "url": f"http://127.0.0.1:1/{name}", "md5": md5(published[name]),
                      "size": len(published[name]), "optional": name.startswith("train"),
                      "gunzipped": {"md5": md5(content), "sha256": sha256(content), "size": len(content)}})
    entry = {"title": "digits", "datasets": ["mnist"], "licence": "l", "citation": "c", "files": files}
    path = tmp_path / "digits.yaml"
    path.write_text(yaml.safe_dump({"datasets": {"digits": entry}}))
    return path


def published_files() -> dict[str, bytes]:
    return {"t10k-images.gz": gzip.compress(IMAGES, 9, mtime=1), "t10k-labels.gz": gzip.compress(LABELS, 9, mtime=1),
            "train-labels.gz": gzip.compress(LABELS[::-1], 9, mtime=1)}


def test_recompressed_copies_pass_by_content_and_optional_files_may_be_missing(served, tmp_path, capsys):
    base, folder = served
    published = published_files()
    (folder / "digits").mkdir()
    (folder / "digits" / "t10k-images.gz").write_bytes(gzip.compress(IMAGES, 1, mtime=7))  # recompressed
    (folder / "digits" / "t10k-labels.gz").write_bytes(published["t10k-labels.gz"])       # the published bytes
    assert md5((folder / "digits" / "t10k-images.gz").read_bytes()) != md5(published["t10k-images.gz"])
    registry = digits_registry(tmp_path, published)
    data = tmp_path / "data"
    assert main(["fetch", "digits", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "t10k-images.gz: checked (SHA-256 and MD5 of the decompressed content: a recompressed copy)" in out
    assert "t10k-labels.gz: checked (MD5)" in out
    assert "train-labels.gz: not on the server; optional" in out
    assert sorted(p.name for p in (data / "digits").iterdir()) == ["t10k-images.gz", "t10k-labels.gz"]

    assert main(["data", "--data-dir", str(data)]) == 0  # the packaged registry: mnist is not here
    assert main(["fetch", "digits", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    assert "already there, checked (SHA-256 and MD5 of the decompressed content" in capsys.readouterr().out


@pytest.mark.parametrize("served_bytes, message", [
    (gzip.compress(IMAGES[:-1], mtime=1), "decompresses to only"),
    (gzip.compress(IMAGES + b"\0" * 5_000_000, mtime=1), "decompresses to more than"),  # a small bomb
    (gzip.compress(IMAGES[::-1], mtime=1), "of its decompressed content is"),
    (b"not gzip at all", "not a readable gzip file"),
])
def test_a_copy_whose_content_differs_is_refused(served, tmp_path, capsys, served_bytes, message):
    base, folder = served
    (folder / "digits").mkdir()
    (folder / "digits" / "t10k-images.gz").write_bytes(served_bytes)
    registry = digits_registry(tmp_path, published_files())
    data = tmp_path / "data"
    assert main(["fetch", "digits", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "refused digits/t10k-images.gz" in err and message in err and "Traceback" not in err
    assert not (data / "digits" / "t10k-images.gz").exists()


# ----------------------------------------------------------------------------- --all
def test_all_goes_on_after_a_failure_and_ends_with_a_table(served, tmp_path, capsys):
    base, folder = served
    write_tree(folder / "photos", PHOTOS)
    (folder / "digits").mkdir()
    (folder / "digits" / "t10k-images.gz").write_bytes(b"tampered")
    published = published_files()
    photos = yaml.safe_load(photos_registry(tmp_path, PHOTOS).read_text())["datasets"]
    digits = yaml.safe_load(digits_registry(tmp_path, published).read_text())["datasets"]
    by_hand = {"hand": {"title": "by hand", "datasets": ["office31"], "licence": "l", "citation": "c",
                        "folder": "hand", "manual": "1. ask the authors\n"}}
    registry = tmp_path / "all.yaml"
    registry.write_text(yaml.safe_dump({"datasets": {**digits, **photos, **by_hand}}))
    data = tmp_path / "data"
    assert main(["fetch", "--all", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 2
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines()[-3:]}
    assert "FAILED" in rows["digits"] and "refused digits/t10k-images.gz" in rows["digits"]
    assert "fetched" in rows["photos"] and "by hand" in rows["hand"]
    assert "1 of 3 data sets failed: digits" in captured.err
    assert sorted(p.name for p in (data / "photos").rglob("*.jpg")) == ["a.jpg", "b b.jpg", "c.jpg"]


# ----------------------------------------------------------------------------- alzza data
def test_data_names_the_files_of_a_partly_present_data_set(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "fsdd" / "recordings").mkdir(parents=True)
    (data / "fsdd" / "recordings" / "0_george_0.wav").write_bytes(b"RIFF")
    (data / "mnist").mkdir()
    (data / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    assert main(["data", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "fsdd: partly (1 of 3000 files)" in out and "missing: fsdd/recordings/0_george_1.wav" in out
    assert "mnist: partly (1 of 4 files)" in out
    assert "  there: mnist/train-images-idx3-ubyte.gz\n" in out
    assert "missing: mnist/train-labels-idx1-ubyte.gz (optional), mnist/t10k-images-idx3-ubyte.gz," in out
    assert "flowers: missing" in out and "alzza fetch flowers --mirror URL" in out


# ----------------------------------------------------------------------------- the reader's path
@pytest.mark.skipif(not (SHARED / "flowers").is_dir() or not (SHARED / "fsdd").is_dir(),
                    reason="needs ALZZA_DATA with the shared data folder")
def test_every_data_set_from_a_loopback_mirror_of_the_shared_data(tmp_path, capsys):
    """``alzza fetch --all --mirror URL`` with the packaged registry, the shared data served in place."""
    base, stop = serve(SHARED)
    data = tmp_path / "data"
    start = time.monotonic()
    try:
        code = main(["fetch", "--all", "--mirror", base, "--data-dir", str(data), "--no-progress"])
    finally:
        stop()
    took = time.monotonic() - start
    out = capsys.readouterr().out
    print(f"fetched the shared data from a loopback mirror in {took:.1f} s")
    assert code == 0, out[-3000:]
    table = {line.split()[0]: line for line in out.splitlines()[out.splitlines().index(
        next(line for line in out.splitlines() if line.startswith("data set "))) + 1:]}
    for name in ("abalone", "pulsar", "steel", "pictures", "fsdd", "flowers"):
        assert "fetched" in table[name], table[name]
    assert "partly" in table["mnist"] and "train-images-idx3-ubyte.gz" in table["mnist"]
    for name in ("urban-sound", "office31", "movie"):
        assert "by hand" in table[name]
    for relative in ("abalone.csv", "mnist/t10k-images-idx3-ubyte.gz", "pictures/gogh.jpg"):
        assert (data / relative).read_bytes() == (SHARED / relative).read_bytes()
    assert len(list((data / "flowers").rglob("*.jpg"))) == 4317
    assert len(list((data / "fsdd" / "recordings").iterdir())) == 3000
    assert main(["run", "mnist-mlp-10", "--epochs", "1", "--max-batches", "2", "--data-dir", str(data),
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
