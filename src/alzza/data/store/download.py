"""One file over HTTP(S) into a staging file, bounded in size and in time (``alzza fetch``).

The standard library's ``urllib`` does the HTTP (it honours the ``https_proxy`` /
``no_proxy`` environment variables); alzza adds the bounds a hostile or broken server
must not get past:

- **size**: the body may not exceed ``limit`` bytes (the registry's size, see
  :func:`size_limit`); a ``Content-Length`` over it is refused before the body is read,
  and the reading stops at the first byte past it. Bodies are never decoded
  (``Accept-Encoding: identity``; a ``Content-Encoding`` the server sends anyway is
  stored as is and fails the check), so a gzip bomb cannot expand here.
- **time**: each read waits at most ``TIMEOUT`` seconds, and the whole file — connection,
  headers, redirects, body — at most the deadline (``ALZZA_FETCH_DEADLINE``): a watchdog
  shuts the connection down when it passes, whatever read is waiting.
- **schemes**: only ``http`` and ``https``, redirects included (never ``file:`` or ``ftp:``).
- **retries**: a failed connection, a 5xx answer or a cut-off body is tried again
  (``RETRIES`` more times, 1 s then 2 s apart); a 4xx answer, a body too big and a
  deadline are not.

Settings (environment variables, read when a download starts):

=========================  ========  ====================================================
ALZZA_FETCH_DEADLINE       600       seconds one file's download may take, all in all
ALZZA_FETCH_MARGIN         0.5       where the registry only estimates a size (a release
                                     archive), how much more than the estimate is allowed
ALZZA_FETCH_MAX_BYTES      1G        the size limit of a file the registry gives no size
=========================  ========  ====================================================
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ...errors import DataError

__all__ = ["DEADLINE_ENV", "MARGIN_ENV", "MAX_BYTES_ENV", "NotOnServer", "check_url", "deadline_seconds",
           "download", "size_limit"]

DEADLINE_ENV = "ALZZA_FETCH_DEADLINE"
MARGIN_ENV = "ALZZA_FETCH_MARGIN"
MAX_BYTES_ENV = "ALZZA_FETCH_MAX_BYTES"
DEFAULT_DEADLINE = 600.0
DEFAULT_MARGIN = 0.5
DEFAULT_MAX_BYTES = 1024**3
RETRIES = 2          # 3 attempts in all, 1 s then 2 s apart
TIMEOUT = 60         # seconds one read may wait for data
BLOCK = 1 << 16
SCHEMES = ("http", "https")


class NotOnServer(DataError):
    """The server answered 404 or 410: it has no such file (an optional file may be skipped)."""


# --------------------------------------------------------------------------- settings
def _number(name: str, default: float, minimum: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= minimum or value == float("inf"):
        raise DataError(f"{name}={text!r} must be a number of at least {minimum:g}")
    return value


def deadline_seconds() -> float:
    """ALZZA_FETCH_DEADLINE: the seconds one file's download may take (default 600)."""
    return _number(DEADLINE_ENV, DEFAULT_DEADLINE, 0.1)


def size_limit(size: int | None, estimate: int | None = None) -> int:
    """The most bytes a download may have: the registry's ``size`` exactly; else an
    ``estimate`` plus ALZZA_FETCH_MARGIN (a fraction, default 0.5); else
    ALZZA_FETCH_MAX_BYTES (bytes, K/M/G suffixes, default 1G)."""
    if size is not None:
        return size
    if estimate is not None:
        return int(estimate * (1 + _number(MARGIN_ENV, DEFAULT_MARGIN, 0.0)))
    text = os.environ.get(MAX_BYTES_ENV, "").strip().upper().removesuffix("B").removesuffix("I")
    if not text:
        return DEFAULT_MAX_BYTES
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    scale = units.get(text[-1:], 1)
    try:
        value = int(float(text.rstrip("KMGT")) * scale)
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{MAX_BYTES_ENV}={os.environ[MAX_BYTES_ENV]!r} must be a number of bytes, e.g. 512M")
    return value


def check_url(url: str, what: str) -> str:
    """``url`` if its scheme is http or https, else one DataError (no ``file:``, no ``ftp:``)."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in SCHEMES or not urllib.parse.urlsplit(url).netloc:
        raise DataError(f"{what}: {url!r} is not an http:// or https:// address; alzza fetch downloads only "
                        "over HTTP(S) (a mirror is a web server serving a data folder, e.g. "
                        "python -m http.server in that folder)")
    return url


# --------------------------------------------------------------------------- the watchdog
class _Watchdog:
    """Shuts down every connection of one download when its deadline passes."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked on it
    except OSError:
        pass


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """An opener for http and https only, whose connections the watchdog can shut down."""

    def connect(*args, **kwargs):
        sock = socket.create_connection(*args, **kwargs)
        watchdog.watch(sock)  # the plain socket, before any TLS handshake
        return sock

    class Connection(http.client.HTTPConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class SecureConnection(http.client.HTTPSConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(Connection, req)

    class Secure(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(SecureConnection, req, context=_tls_context())

    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if urllib.parse.urlsplit(newurl).scheme.lower() not in SCHEMES:
                raise urllib.error.HTTPError(newurl, code, f"a redirect to {newurl} (not http or https)",
                                             headers, fp)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), Plain(), Secure(), Redirects(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


_CONTEXT: list[ssl.SSLContext] = []


def _tls_context() -> ssl.SSLContext:
    """The system's certificates; certifi's where the system gives none (some Python installs)."""
    if not _CONTEXT:
        context = ssl.create_default_context()
        if not context.cert_store_stats().get("x509_ca"):
            try:
                import certifi

                context.load_verify_locations(certifi.where())
            except (ImportError, OSError):
                pass
        _CONTEXT.append(context)
    return _CONTEXT[0]


# --------------------------------------------------------------------------- downloading
class _Retry(Exception):
    """One attempt failed in a way worth another (the reason, for the message)."""


def download(url: str, target: Path, *, limit: int, what: str, root: Path, progress=None) -> int:
    """``url`` → the file ``target`` (created or replaced), at most ``limit`` bytes, within the
    deadline; returns the byte count. Every failure is one :class:`DataError` (a 404 or 410
    is :class:`NotOnServer`) and leaves no ``target`` behind."""
    check_url(url, f"cannot download {what}")
    seconds = deadline_seconds()
    reason = ""
    for attempt in range(RETRIES + 1):
        if attempt:
            time.sleep(attempt)
        try:
            return _attempt(url, target, limit, seconds, what, root, progress)
        except _Retry as failed:
            reason = str(failed)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        target.unlink(missing_ok=True)
    raise DataError(_network_message(what, url, reason, root, tries=RETRIES + 1))


def _attempt(url, target: Path, limit: int, seconds: float, what: str, root: Path, progress) -> int:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity", "User-Agent": "alzza-fetch"})
    start = time.monotonic()
    got = 0
    try:
        out = open(target, "wb")
    except OSError as exc:
        raise _unwritable(what, root, exc) from None
    with out, _Watchdog(seconds) as watchdog:
        try:
            response = _opener(watchdog).open(request, timeout=min(TIMEOUT, seconds))
        except urllib.error.HTTPError as exc:
            exc.close()
            if watchdog.expired:
                raise _too_slow(url, what, root, seconds, got) from None
            why = f"the server answered {exc.code} {exc.reason}"
            if exc.code in (404, 410):
                raise NotOnServer(_network_message(what, url, why, root, tries=1, missing=True)) from None
            if 500 <= exc.code < 600:
                raise _Retry(why) from None
            raise DataError(_network_message(what, url, why, root, tries=1)) from None
        except (http.client.HTTPException, OSError) as exc:  # URLError, timeouts, resets
            if watchdog.expired or time.monotonic() - start > seconds:
                raise _too_slow(url, what, root, seconds, got) from None
            raise _Retry(_reason(exc)) from None
        with response:
            _check_length(response, limit, url, what, root)
            while True:
                try:
                    block = response.read1(BLOCK)
                except (http.client.HTTPException, OSError) as exc:
                    block = exc
                if watchdog.expired or time.monotonic() - start > seconds:
                    raise _too_slow(url, what, root, seconds, got)
                if isinstance(block, BaseException):
                    raise _Retry(_reason(block))
                if not block:
                    return got
                got += len(block)
                if got > limit:
                    raise _too_big(url, what, root, limit, f"sent more; stopped at {got:,} bytes")
                try:
                    out.write(block)
                except OSError as exc:
                    raise _unwritable(what, root, exc) from None
                if progress is not None:
                    progress(len(block))


def _unwritable(what: str, root: Path, exc: OSError) -> DataError:
    return DataError(f"could not write {what} into {root}: {exc.strerror or exc}\n"
                     "  to fix: free some space or choose another data folder (--data-dir DIR or ALZZA_DATA)")


def _check_length(response, limit: int, url: str, what: str, root: Path) -> None:
    length = response.headers.get("Content-Length", "")
    if length.strip().isdigit() and int(length) > limit:
        raise _too_big(url, what, root, limit, f"announced {int(length):,} bytes")


def _reason(exc: Exception) -> str:
    inner = getattr(exc, "reason", None)
    if isinstance(inner, BaseException):
        exc = inner
    text = str(exc) or "the connection was closed"
    return f"{type(exc).__name__}: {text[:300]}"


def _too_big(url, what, root, limit, how) -> DataError:
    return DataError("\n".join([
        f"refused {what}: the server {how}, more than the {limit:,} bytes it may have",
        f"  from: {url}",
        f"  the download was deleted; nothing was written to {root}",
        "  to fix: the server sends something else than the data set's file (an endless or compressed "
        "body, an error page); try another mirror or the origin. Where the registry gives no size, "
        f"{MAX_BYTES_ENV} (bytes) or {MARGIN_ENV} (a fraction over an estimate) allows more",
    ]))


def _too_slow(url, what, root, seconds, got) -> DataError:
    return DataError("\n".join([
        f"gave up on {what}: it took longer than {seconds:g} s ({got:,} bytes by then)",
        f"  from: {url}",
        f"  the download was deleted; nothing was written to {root}",
        f"  to fix: try again, or a faster mirror; on a slow connection allow more time with {DEADLINE_ENV}"
        f"=SECONDS (now {seconds:g}; the time one file may take, all in all)",
    ]))


def _network_message(what: str, url: str, why: str, root: Path, *, tries: int, missing: bool = False) -> str:
    if missing:
        fix = ("  to fix: the server has no such file; a mirror must serve a data folder's layout "
               "(MIRROR/<path in the data folder>); check the URL, or drop --mirror / "
               "ALZZA_DATA_MIRROR to fetch from the origin")
    else:
        fix = ("  to fix: check the network connection and run the command again; or fetch from a mirror "
               "(--mirror URL or the ALZZA_DATA_MIRROR environment variable: any web server holding a data "
               "folder); or download the file yourself and put it in the data folder (alzza fetch --list "
               "shows where)")
    return "\n".join([
        f"could not download {what}",
        f"  from: {url}",
        f"  because: {why}" + (f" (tried {tries} times)" if tries > 1 else ""),
        f"  nothing was written to {root}",
        fix,
    ])
