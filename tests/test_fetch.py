"""``alzza fetch`` and ``alzza data``: checked, atomic downloads from a loopback server.

No test touches the internet. A fixture starts an HTTP server on 127.0.0.1 (an
ephemeral port, stopped at the end) serving a folder the test writes — a mirror is any
served data folder — and the tests use a registry of their own whose hashes are those
of the files they wrote (the packaged registry's hashes are those of the real files;
the last test checks them against the real data when ALZZA_DATA has it).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import yaml

from alzza.cli import main
from alzza.data import _BUILTIN_FACTORIES
from alzza.data import dataset_names
from alzza.data.store import fetch as fetch_module
from alzza.data.store import download as download_module
from alzza.data.store import locate
from alzza.data.store.sources import load_registry, parse_registry, source_for_path
from alzza.data.readers.wav import write_wav
from alzza.errors import DataError

REAL_DATA = os.environ.get("ALZZA_DATA", "")
PREFIX = "free-spoken-digit-dataset-1.0.10/recordings/"


@pytest.fixture(autouse=True)
def _no_ambient_folders(monkeypatch, tmp_path):
    """Tests choose their folders: no ALZZA_DATA, no mirror from the environment, own cache."""
    monkeypatch.delenv("ALZZA_DATA", raising=False)
    monkeypatch.delenv(fetch_module.MIRROR_ENV, raising=False)
    monkeypatch.setenv("ALZZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ALZZA_CACHE_LIMIT", raising=False)
    monkeypatch.setattr(locate, "default_data_root", lambda: tmp_path / "user-cache" / "data")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; ``fail_first`` paths answer 503 once (to see the retry)."""

    fail_first: set = set()
    requests: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).requests.append(self.path)
        if self.path in type(self).fail_first:
            type(self).fail_first.discard(self.path)
            self.send_error(503, "busy")
            return
        super().do_GET()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server(tmp_path):
    """``(base URL, served folder, handler class)`` of a loopback HTTP server."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = type("Handler", (_Handler,), {"fail_first": set(), "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tabular_registry(path: Path, files: dict[str, Path], base: str, tamper: dict | None = None) -> Path:
    """A registry for pulsar, abalone and steel whose hashes are those of ``files`` (name → file)."""
    names = {"pulsar": ("pulsar_stars.csv", ["pulsar", "pulsar-select"]),
             "abalone": ("abalone.csv", ["abalone"]), "steel": ("faults.csv", ["steel"])}
    entries = {}
    for name, (relative, datasets) in names.items():
        digest = (tamper or {}).get(relative) or sha256(files[relative])
        entries[name] = {"title": f"test {name}", "datasets": datasets, "licence": "CC BY 4.0",
                         "citation": "test", "homepage": None,
                         "files": [{"path": relative, "url": f"{base}/origin/{relative}", "sha256": digest,
                                    "size": files[relative].stat().st_size}]}
    path.write_text(yaml.safe_dump({"datasets": entries}), encoding="utf-8")
    return path


@pytest.fixture
def mirror(server, tabular_files, tmp_path):
    """The server serving a data folder with the three tables, and a registry that matches them."""
    base, folder, handler = server
    files = {"abalone.csv": tabular_files.abalone(folder), "pulsar_stars.csv": tabular_files.pulsar(folder),
             "faults.csv": tabular_files.faults(folder)}
    registry = tabular_registry(tmp_path / "registry.yaml", files, base)
    return base, folder, handler, registry, files


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# ----------------------------------------------------------------------------- fetch
def test_fetch_from_a_mirror_into_an_empty_folder_then_run(mirror, tmp_path, capsys):
    base, _, handler, registry, files = mirror
    data = tmp_path / "empty-data"
    code = main(["fetch", "pulsar", "abalone", "steel", "--registry", str(registry), "--mirror", base,
                 "--data-dir", str(data), "--no-progress"])
    assert code == 0
    assert files_under(data) == ["abalone.csv", "faults.csv", "pulsar_stars.csv"]
    for name, original in files.items():
        assert (data / name).read_bytes() == original.read_bytes()
        assert ((data / name).stat().st_mode & 0o777) == 0o666 & ~_umask()  # not a private temp file
    assert sorted(handler.requests) == ["/abalone.csv", "/faults.csv", "/pulsar_stars.csv"]  # mirror, not origin
    assert "checked (SHA-256)" in capsys.readouterr().out

    out = tmp_path / "run"
    assert main(["run", "pulsar-slp", "--epochs", "1", "--max-batches", "2", "--data-dir", str(data),
                 "--out", str(out), "--no-progress"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["experiment"] == "pulsar-slp" and "accuracy" in result["metrics"]

    # a second fetch checks what is there and downloads nothing
    handler.requests.clear()
    assert main(["fetch", "pulsar", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    assert handler.requests == []
    assert "already there, checked" in capsys.readouterr().out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_mirror_from_the_environment_and_an_alzza_data_set_name(mirror, tmp_path, monkeypatch):
    base, _, handler, registry, _ = mirror
    monkeypatch.setenv(fetch_module.MIRROR_ENV, base)
    data = tmp_path / "data"
    assert main(["fetch", "pulsar-select", "--registry", str(registry), "--data-dir", str(data)]) == 0
    assert files_under(data) == ["pulsar_stars.csv"]
    assert handler.requests == ["/pulsar_stars.csv"]


def test_origin_url_is_used_without_a_mirror(mirror, tmp_path):
    base, folder, handler, registry, _ = mirror
    (folder / "origin").mkdir()
    (folder / "abalone.csv").rename(folder / "origin" / "abalone.csv")
    data = tmp_path / "data"
    assert main(["fetch", "abalone", "--registry", str(registry), "--data-dir", str(data)]) == 0
    assert handler.requests == ["/origin/abalone.csv"]
    assert files_under(data) == ["abalone.csv"]


def test_a_tampered_file_is_refused_and_nothing_is_left(mirror, tmp_path, capsys):
    base, folder, _, registry, files = mirror
    expected = sha256(files["abalone.csv"])
    text = (folder / "abalone.csv").read_text()
    (folder / "abalone.csv").write_text(text.replace("M,", "F,", 1))  # one changed letter
    got = sha256(folder / "abalone.csv")
    data = tmp_path / "data"
    code = main(["fetch", "abalone", "--registry", str(registry), "--mirror", base, "--data-dir", str(data),
                 "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "refused abalone.csv" in err and "SHA-256 does not match" in err
    assert f"{base}/abalone.csv" in err
    assert f"expected: {expected}" in err and f"got:      {got}" in err
    assert "nothing was written" in err and "Traceback" not in err
    assert files_under(data) == []  # no file, no staging folder


def test_a_failed_data_set_keeps_the_checked_ones_before_it(mirror, tmp_path, capsys):
    base, folder, _, registry, _ = mirror
    (folder / "faults.csv").write_text("tampered\n")
    data = tmp_path / "data"
    assert main(["fetch", "pulsar", "steel", "--registry", str(registry), "--mirror", base,
                 "--data-dir", str(data)]) == 2
    assert files_under(data) == ["pulsar_stars.csv"]
    assert sha256(data / "pulsar_stars.csv") == sha256(folder / "pulsar_stars.csv")


def test_network_failure_is_one_clear_error(mirror, tmp_path, capsys, monkeypatch):
    _, _, _, registry, _ = mirror
    monkeypatch.setattr(download_module, "RETRIES", 1)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path / "data"
    code = main(["fetch", "steel", "--registry", str(registry), "--mirror", f"http://127.0.0.1:{port}",
                 "--data-dir", str(data)])
    assert code == 2
    err = capsys.readouterr().err
    assert "could not download faults.csv (data set 'steel')" in err
    assert f"from: http://127.0.0.1:{port}/faults.csv" in err
    assert "ConnectionRefusedError" in err and "tried 2 times" in err
    assert "check the network connection" in err and "--mirror URL" in err
    assert "Traceback" not in err and files_under(data) == []


def test_a_file_the_mirror_lacks_says_so(mirror, tmp_path, capsys, monkeypatch):
    base, folder, _, registry, _ = mirror
    monkeypatch.setattr(download_module, "RETRIES", 0)
    (folder / "faults.csv").unlink()
    assert main(["fetch", "steel", "--registry", str(registry), "--mirror", base,
                 "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "the server answered 404" in err and "the server has no such file" in err


def test_a_failed_request_is_retried(mirror, tmp_path, monkeypatch):
    base, _, handler, registry, _ = mirror
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # no waiting between attempts
    handler.fail_first.add("/abalone.csv")
    data = tmp_path / "data"
    assert main(["fetch", "abalone", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    assert handler.requests == ["/abalone.csv", "/abalone.csv"]
    assert files_under(data) == ["abalone.csv"]


def test_a_different_file_already_there_is_never_overwritten(mirror, tmp_path, capsys):
    base, _, _, registry, _ = mirror
    data = tmp_path / "data"
    data.mkdir()
    (data / "abalone.csv").write_text("my own version\n")
    assert main(["fetch", "abalone", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 2
    assert (data / "abalone.csv").read_text() == "my own version\n"
    assert "already there but differs" in capsys.readouterr().err


def test_a_stale_staging_folder_is_removed(mirror, tmp_path):
    base, _, _, registry, _ = mirror
    data = tmp_path / "data"
    stale = data / f"{fetch_module.STAGING_PREFIX}killed"
    stale.mkdir(parents=True)
    (stale / "half.csv").write_text("partial")
    assert main(["fetch", "abalone", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    assert files_under(data) == ["abalone.csv"]


def test_unknown_and_manual_names(tmp_path, capsys):
    assert main(["fetch", "abalon", "--data-dir", str(tmp_path)]) == 2
    assert "unknown data set 'abalon'" in capsys.readouterr().err
    assert main(["fetch", "flowers", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot be downloaded by alzza" in err
    assert "flowers/{daisy,dandelion,rose,sunflower,tulip}/*.jpg" in err
    assert "kaggle datasets download -d alxmamaev/flowers-recognition" in err
    assert f"{tmp_path}/flowers/daisy/*.jpg" in err  # the steps name the real data folder
    assert main(["fetch", "--data-dir", str(tmp_path)]) == 2
    assert "name the data sets" in capsys.readouterr().err


# ----------------------------------------------------------------------------- FSDD
def recordings(folder: Path, speakers=("ann", "bob"), per=1, rate=8000) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for digit in range(10):
        for speaker in speakers:
            for n in range(per):
                name = f"{digit}_{speaker}_{n}.wav"
                write_wav(folder / name, rng.uniform(-0.5, 0.5, 400 + 10 * digit).astype(np.float32), rate)
                names.append(name)
    return sorted(names)


def manifest(folder: Path, names) -> str:
    lines = "".join(f"{sha256(folder / n)}  {n}\n" for n in sorted(names))
    return hashlib.sha256(lines.encode()).hexdigest()


def fsdd_registry(path: Path, base: str, digest: str, speakers=("ann", "bob")) -> Path:
    entry = {"title": "test fsdd", "datasets": ["fsdd"], "licence": "CC BY-SA 4.0", "citation": "test",
             "homepage": None, "folder": "fsdd/recordings",
             "archive": {"url": f"{base}/fsdd.tar.gz", "members": PREFIX, "size": None},
             "content": {"count": 10 * len(speakers), "name_pattern": r"^(\d)_([a-z]+)_(\d+)\.wav$",
                         "digits": 10, "speakers": list(speakers), "per_speaker_digit": 1,
                         "wav": {"channels": 1, "rate": 8000, "bits": 16}, "manifest_sha256": digest}}
    path.write_text(yaml.safe_dump({"datasets": {"fsdd": entry}}), encoding="utf-8")
    return path


def write_archive(path: Path, folder: Path, names, extra: bool = True) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            tar.add(folder / name, arcname=PREFIX + name)
        if extra:  # things that must never be extracted
            readme = b"not a recording"
            info = tarfile.TarInfo("free-spoken-digit-dataset-1.0.10/README.md")
            info.size = len(readme)
            tar.addfile(info, io.BytesIO(readme))
            link = tarfile.TarInfo(PREFIX + "0_eve_0.wav")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
            sneaky = tarfile.TarInfo(PREFIX + "../../escape.wav")
            sneaky.size = len(readme)
            tar.addfile(sneaky, io.BytesIO(readme))


def test_fsdd_from_its_release_archive_checked_by_content(server, tmp_path, capsys):
    base, folder, _ = server
    source = tmp_path / "source"
    names = recordings(source)
    write_archive(folder / "fsdd.tar.gz", source, names)
    registry = fsdd_registry(tmp_path / "fsdd.yaml", base, manifest(source, names))
    data = tmp_path / "data"
    assert main(["fetch", "fsdd", "--registry", str(registry), "--data-dir", str(data), "--no-progress"]) == 0
    assert files_under(data) == ["fsdd", "fsdd/recordings"] + [f"fsdd/recordings/{n}" for n in names]
    assert all((data / "fsdd/recordings" / n).read_bytes() == (source / n).read_bytes() for n in names)
    assert "20 recordings, WAV headers, file-list SHA-256" in capsys.readouterr().out
    assert not (tmp_path / "escape.wav").exists()

    # and the data set reads what was fetched
    from alzza.data import make_dataset

    dataset = make_dataset({"name": "fsdd", "window": 10, "interval": 10}, data_dir=data, seed=1)
    assert dataset.train_count + dataset.validate_count + dataset.test_count == 20


def test_fsdd_with_a_changed_recording_is_refused(server, tmp_path, capsys):
    base, folder, _ = server
    source = tmp_path / "source"
    names = recordings(source)
    digest = manifest(source, names)
    write_wav(source / names[3], np.zeros(500, np.float32), 8000)  # a different recording, same header
    write_archive(folder / "fsdd.tar.gz", source, names)
    registry = fsdd_registry(tmp_path / "fsdd.yaml", base, digest)
    data = tmp_path / "data"
    assert main(["fetch", "fsdd", "--registry", str(registry), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "refused the fsdd recordings" in err and f"expected: {digest}" in err
    assert files_under(data) == []


def test_fsdd_with_wrong_wav_headers_or_missing_files_is_refused(server, tmp_path, capsys):
    base, folder, _ = server
    source = tmp_path / "source"
    names = recordings(source, rate=16000)
    write_archive(folder / "fsdd.tar.gz", source, names[:-1])
    registry = fsdd_registry(tmp_path / "fsdd.yaml", base, manifest(source, names))
    assert main(["fetch", "fsdd", "--registry", str(registry), "--data-dir", str(tmp_path / "d")]) == 2
    assert "19 files, expected 20; missing 9_bob_0.wav" in capsys.readouterr().err
    write_archive(folder / "fsdd.tar.gz", source, names)
    assert main(["fetch", "fsdd", "--registry", str(registry), "--data-dir", str(tmp_path / "d")]) == 2
    assert "16000 Hz, 16-bit; expected 1, 8000 Hz, 16-bit" in capsys.readouterr().err
    assert files_under(tmp_path / "d") == []


def test_fsdd_from_a_mirror_one_recording_at_a_time(server, tmp_path):
    base, folder, handler = server
    names = recordings(folder / "fsdd" / "recordings")
    registry = fsdd_registry(tmp_path / "fsdd.yaml", "http://127.0.0.1:1", manifest(folder / "fsdd/recordings",
                                                                                   names))
    data = tmp_path / "data"
    assert main(["fetch", "fsdd", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    assert sorted(handler.requests) == sorted(f"/fsdd/recordings/{n}" for n in names)
    assert sorted(p.name for p in (data / "fsdd/recordings").iterdir()) == names


# ----------------------------------------------------------------------------- the registry
def test_list_names_every_data_set_with_its_origin_and_how_to_get_it(capsys):
    assert main(["fetch", "--list"]) == 0
    out = capsys.readouterr().out
    registry = load_registry()
    for source in registry.values():
        assert f"\n{source.name} — {source.title}\n" in out
        assert f"licence: {source.licence}" in out and f"cite: {source.citation}" in out
        for spec in source.files:
            assert spec.url in out and spec.digest in out
        if source.archive:
            assert source.archive.url in out and "no published hash for the archive" in out
        if source.downloadable:
            assert f"how to get it: alzza fetch {source.name}" in out
        else:
            assert source.manual.splitlines()[0] in out and (source.layout or source.folder) in out
    # every shipped data set that reads files is in the registry (generated ones need nothing)
    served = {d for s in registry.values() for d in s.datasets}
    assert set(_BUILTIN_FACTORIES) - {"automata", "dummy", "korean-numbers", "expressions"} <= served
    assert {"abalone", "fsdd", "flowers", "videoshot-or-standin"} <= set(_BUILTIN_FACTORIES) <= set(dataset_names())


def test_the_packaged_registry_pins_its_sources():
    registry = load_registry()
    book = yaml.safe_load((Path(fetch_module.__file__).parent / "registry.yaml").read_text())["book_commit"]
    for source in registry.values():
        for spec in source.files:
            assert spec.algorithm is not None and spec.size, spec.path  # every download has a known hash
            if "KONANtechnology" in spec.url:
                assert f"/{book}/" in spec.url  # a fixed commit, not a branch
    fsdd = registry["fsdd"]
    assert "/refs/tags/v1.0.10." in fsdd.archive.url and fsdd.content.count == len(fsdd.content.names()) == 3000
    assert {f.digest for f in registry["mnist"].files} == {
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"}
    assert source_for_path("fsdd").name == "fsdd" and source_for_path("mnist/t10k-images-idx3-ubyte").name == "mnist"


@pytest.mark.parametrize("broken, message", [
    ("datasets: {x: {title: t, datasets: [x], licence: l, citation: c, files: [{path: ../a, url: u}]}}",
     "must be relative"),
    ("datasets: {x: {title: t, datasets: [x], licence: l, citation: c, files: [{path: a, url: u, md5: zz}]}}",
     "md5 must be 32 hex digits"),
    ("datasets: {x: {title: t, datasets: [x], licence: l, citation: c}}", "give 'files', an 'archive'"),
    ("datasets: {x: {title: t, licence: l, citation: c}}", "'datasets' must list"),
    ("[1, 2]", "a mapping with 'datasets'"),
])
def test_a_broken_registry_is_one_clear_error(broken, message):
    with pytest.raises(DataError, match=message):
        parse_registry(broken, "my.yaml")


def test_missing_file_error_says_how_to_get_it(tmp_path, capsys):
    assert main(["run", "steel-slp", "--data-dir", str(tmp_path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "to get it: alzza fetch steel" in err
    assert "Faults.NNA" in err  # UCI's own file is read too
    from alzza.data import make_dataset

    with pytest.raises(DataError) as missing:
        make_dataset({"name": "office31", "resolution": [8, 8]}, data_dir=tmp_path)
    assert ("to get it (by hand; expected layout office31/{amazon,dslr,webcam}/images/<object>/*.jpg)"
            in str(missing.value))
    assert f"{tmp_path}/office31/amazon/images/back_pack/*.jpg" in str(missing.value)


@pytest.mark.skipif(not all((Path(REAL_DATA) / p).is_file() for p in
                            ("abalone.csv", "pulsar_stars.csv", "faults.csv", "pictures/gogh.jpg")),
                    reason="needs ALZZA_DATA with the real data files")
def test_real_files_match_the_packaged_registry(tmp_path, monkeypatch):
    """The shared data served as a mirror passes the packaged registry's real hashes."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=REAL_DATA))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        data = tmp_path / "data"
        assert main(["fetch", "abalone", "pulsar", "steel", "pictures", "--mirror",
                     f"http://127.0.0.1:{httpd.server_address[1]}", "--data-dir", str(data)]) == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert files_under(data) == ["abalone.csv", "faults.csv", "pictures", "pictures/gogh.jpg",
                                 "pictures/jungsun.jpg", "pulsar_stars.csv"]


# ----------------------------------------------------------------------------- alzza data
def test_data_command_shows_found_missing_sizes_experiments_and_cache(tmp_path, tabular_files, capsys):
    data = tmp_path / "data"
    tabular_files.abalone(data)
    (data / "mnist").mkdir()
    (data / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"x" * 2000)
    (data / "Faults.NNA").write_text("1\t2\n")
    from alzza.data.store.cache import DiskCache, cache_key

    cache = DiskCache()
    cache.save(cache_key("test", {}, []), {"a": np.zeros(1000, np.float32)})
    assert main(["data", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    size = (data / "abalone.csv").stat().st_size
    assert f"data folder: {data}" in out
    assert f"abalone: found, {size / 1000:.1f} kB — abalone.csv" in out
    assert "pulsar: missing — pulsar_stars.csv" in out and "to get it: alzza fetch pulsar" in out
    assert "steel: found as Faults.NNA, 4 B — faults.csv" in out  # UCI's own file, which the reader takes
    assert "mnist: partly (1 of 4 files), 2.0 kB" in out
    assert "abalone-slp" in out and "steel-std" in out  # experiments that use them
    assert "flowers: missing" in out and "by hand, see alzza fetch --list" in out
    assert f"cache: {tmp_path / 'cache'}: 1 entry," in out and "of 5.0 GB" in out

    assert main(["data", "--clear-cache"]) == 0
    assert "1 file(s)" in capsys.readouterr().out
    assert list((tmp_path / "cache").glob("*.npz")) == []
    assert (data / "abalone.csv").exists()  # the data folder is never touched


def test_all_fetches_what_can_be_downloaded_and_lists_the_manual_steps(mirror, tmp_path, capsys):
    base, _, _, registry, _ = mirror
    entries = yaml.safe_load(registry.read_text())
    entries["datasets"]["handmade"] = {"title": "a data set with an account", "datasets": ["flowers"],
                                       "licence": "l", "citation": "c", "folder": "handmade",
                                       "layout": "handmade/<class>/*.jpg", "manual": "1. sign in at DATA/x\n"}
    registry.write_text(yaml.safe_dump(entries))
    data = tmp_path / "data"
    assert main(["fetch", "--all", "--registry", str(registry), "--mirror", base, "--data-dir", str(data)]) == 0
    assert files_under(data) == ["abalone.csv", "faults.csv", "pulsar_stars.csv"]
    out = capsys.readouterr().out
    assert "handmade: a data set with an account cannot be downloaded by alzza" in out
    assert "handmade/<class>/*.jpg" in out and f"1. sign in at {data}/x" in out
    assert main(["fetch", "--all", "abalone"]) == 2


def test_a_data_folder_that_cannot_be_written_is_one_error(mirror, tmp_path, capsys):
    base, _, _, registry, _ = mirror
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["fetch", "abalone", "--registry", str(registry), "--mirror", base,
                 "--data-dir", str(blocker / "data")]) == 2
    err = capsys.readouterr().err
    assert f"cannot write to the data folder {blocker / 'data'}" in err and "Traceback" not in err
