"""Where the index lives: the data dir's own folder, or an object store shared by machines.

The location is a property of the data dir, set once per process:

- :func:`configure` (``satchel`` calls it with ``index_uri`` / ``storage_options`` after loading
  settings and applying ``--index-uri``) records the location *for the current data dir*. Keying
  it by data dir keeps tests isolated (each test has its own SATCHEL_HOME) and lets one process
  serve windows with different data dirs.
- A process that serves several data dirs whose settings change while it runs (the GUI's engine
  worker, which receives only a data dir with each task) calls :func:`follow_settings` once: a
  data dir nobody configured then uses what its ``settings.json`` says, re-read when the file
  changes, so the index moves as soon as the settings screen saved.
- Otherwise, and for an empty ``index_uri``: the data dir's ``index`` folder, exactly as before
  (``collections.json`` written atomically, one ``fcntl`` writer lock per collection that fails
  fast).

On an object store (``s3://bucket/prefix``; ``gs://`` and ``az://`` go through the same code but
only S3 is tested) several machines share one index, so neither a local file nor a local lock
will do:

- Collection metadata is one row of a LanceDB table next to the collections' tables, changed
  by compare-and-swap (:mod:`engine.storage_meta`): writers of two different collections both
  succeed, one after a retry.
- Writers of the *same* collection take turns, under a lease kept in that same row (see
  :mod:`engine.storage_lease`): measured with lancedb 0.40, two ``merge_insert`` calls that insert
  the same new keys at the same time both commit (duplicate chunk ids), so idempotent upserts
  alone are not enough. The second writer waits (it does not fail: it indexes what is still to do
  once the first is finished, usually nothing), a crashed holder's lease is taken over, and
  everything the existing crash-safety relies on (chunks before documents, deterministic chunk
  ids, pending generations) holds unchanged.
- Every request to a store costs a round trip, so a reader trusts what it read for
  :data:`READ_TTL_S` (the metadata row, opened tables and their version): another machine's
  writes show up within a second. A search that fails on such a read drops them and runs once
  more (:func:`refresh`), and a writer drops them all when it takes its lease, so it never
  writes against a table version older than the previous holder's last commit.
- Requests get timeouts and a bounded retry budget (:data:`DEFAULT_OPTIONS`), and the first
  contact checks the bucket: a bad URI, a missing bucket, refused credentials or an unreachable
  endpoint is one :class:`StorageError` line, never a hang or a traceback. Credentials are never
  part of a message, a ``repr`` or a log line.
- The network guard lets this process (and its children) reach exactly the configured endpoint
  (:func:`engine.netguard.allow_endpoint`). LanceDB's own HTTP client is native code the guard
  cannot see; allowing the endpoint matters for Python clients and documents the intent.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine import paths
from engine.errors import SatchelError

REMOTE_SCHEMES = ("s3", "gs", "az")
#: Added unless the user set them: a dead endpoint fails in seconds, not after object_store's
#: default 180 s retry budget. ``timeout`` bounds one request (a large data file included).
DEFAULT_OPTIONS = {"connect_timeout": "5s", "timeout": "120s", "client_max_retries": "3",
                   "client_retry_timeout": "30"}
ENDPOINT_KEYS = ("aws_endpoint", "aws_endpoint_url", "endpoint", "endpoint_url",
                 "google_service_endpoint", "azure_endpoint")
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
#: Option names whose values are never shown (keys, secrets, tokens, passwords, SAS...).
SECRET_WORDS = ("secret", "key", "token", "password", "sas", "credential", "signature")
#: Seconds a reader trusts cached object-store reads (see the module docstring).
READ_TTL_S = 1.0
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class StorageError(SatchelError):
    """The index location is unusable (bad URI, bucket, credentials, endpoint); one line."""


@dataclass(frozen=True)
class Location:
    """One index location: a local folder, or a remote URI with its storage options."""

    uri: str
    remote: bool = False
    options: tuple[tuple[str, str], ...] = ()

    @property
    def storage_options(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def endpoint(self) -> str:
        """The configured endpoint URL ('' for the provider's default)."""
        return endpoint_of(self.storage_options)

    @property
    def display(self) -> str:
        """The URI as the user may see it (credentials in the URI itself are dropped)."""
        if not self.remote:
            return self.uri
        parts = urlsplit(self.uri)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"

    def __repr__(self) -> str:  # never the option values: they include credentials
        return f"Location({self.display!r}, options={sorted(k for k, _ in self.options)})"


def endpoint_of(options: Mapping[str, str]) -> str:
    for key in ENDPOINT_KEYS:
        if options.get(key):
            return options[key]
    return next((os.environ[k] for k in ENDPOINT_ENV if os.environ.get(k)), "")


def is_secret(option: str) -> bool:
    return any(word in option.lower() for word in SECRET_WORDS)


def scrub(text: str, options: Mapping[str, str]) -> str:
    """``text`` with every secret option value (and any AWS_* secret from the environment)
    replaced by ``***``."""
    secrets = [v for k, v in options.items() if is_secret(k) and v]
    secrets += [v for k, v in os.environ.items() if k.startswith("AWS_") and is_secret(k) and v]
    for value in sorted(set(secrets), key=len, reverse=True):
        if len(value) >= 3:
            text = text.replace(value, "***")
    return text


# -- configuration --------------------------------------------------------------------------------
_lock = threading.RLock()
_configured: dict[str, Location] = {}  # data dir -> location set by configure()
_follow = [False]  # follow_settings() was called
_from_settings: dict[str, tuple[tuple[int, int], Location]] = {}  # data dir -> (stat, location)


def _data_dir_key() -> str:
    return str(paths.data_dir(create=False))


def parse_location(index_uri: str, storage_options: Mapping[str, str] | None = None) -> Location:
    """Validate ``index_uri`` and its options; no I/O. Empty: the data dir's index folder."""
    uri = (index_uri or "").strip()
    if not uri:  # the folder is created when the index is first used, as before
        return Location(str(paths.data_dir(create=False) / "index"))
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not parts.path.startswith("/"):
            raise StorageError(f"index URI {uri!r} must be an absolute file:///path")
        return Location(str(Path(parts.path)))
    if scheme not in REMOTE_SCHEMES:
        raise StorageError(f"index URI {uri!r} is not supported: use s3://bucket/path, or leave "
                           "index_uri empty for the data dir")
    bucket = parts.hostname or ""
    if scheme == "s3" and not _BUCKET_RE.match(bucket):
        raise StorageError(f"index URI {uri!r} has no valid bucket name (s3://bucket/path)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise StorageError("the index URI must not carry credentials or options; put them in "
                           "the storage_options setting")
    options = {str(k).lower(): str(v) for k, v in (storage_options or {}).items()}
    for key, value in DEFAULT_OPTIONS.items():
        options.setdefault(key, value)
    endpoint = endpoint_of(options)
    if endpoint:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname:
            raise StorageError(f"storage endpoint {endpoint!r} is not an http(s):// URL")
        allow = options.get("allow_http", options.get("aws_allow_http", os.environ.get(
            "AWS_ALLOW_HTTP", ""))).lower()
        if ep.scheme == "http" and allow not in ("true", "1", "yes"):
            raise StorageError(f"storage endpoint {endpoint} uses plain http: set the storage "
                               "option allow_http to \"true\" (only for a local or trusted "
                               "network)")
    path = parts.path.rstrip("/")
    return Location(f"{scheme}://{bucket}{path}", True, tuple(sorted(options.items())))


def _allow(location: Location) -> None:
    """Let the network guard through to the configured endpoint, and nothing else."""
    if not location.remote or not location.endpoint:
        return
    from engine import netguard

    ep = urlsplit(location.endpoint)
    try:
        port = ep.port or (443 if ep.scheme == "https" else 80)
    except ValueError:
        raise StorageError(f"storage endpoint {location.endpoint!r} has a bad port") from None
    netguard.allow_endpoint(ep.hostname or "", port)


def configure(index_uri: str = "", storage_options: Mapping[str, str] | None = None
              ) -> Location:
    """Use this index location for the current data dir in this process; returns it.

    Validates without any network I/O (a command that never opens the index never contacts the
    store); raises :class:`StorageError` with one line for a URI or option that cannot work.
    """
    location = parse_location(index_uri, storage_options)
    _allow(location)
    with _lock:
        _configured[_data_dir_key()] = location
    return location


def configure_from(settings: Any) -> Location:
    """:func:`configure` with a :class:`engine.settings.Settings`' ``index_uri`` and
    ``storage_options``."""
    return configure(settings.index_uri, settings.storage_options)


def follow_settings(on: bool = True) -> None:
    """Let data dirs nobody configured use the location their settings file names (re-read
    when it changes); for a long-running process serving windows (see the module docstring)."""
    with _lock:
        _follow[0] = on


def reset() -> None:
    """Forget every configured location and cached connection (tests; data dir switches)."""
    from engine import storage_lease, storage_meta

    with _lock:
        _follow[0] = False
        _configured.clear()
        _from_settings.clear()
        _dbs.clear()
        _tables.clear()
    storage_meta.forget()
    storage_lease.forget()


def _settings_location(key: str) -> Location:
    """The location the data dir's settings file names (re-read only when the file changes)."""
    from engine import settings as settings_mod

    file = Path(key) / "settings.json"
    try:
        st = file.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)
    with _lock:
        cached = _from_settings.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    uri, options = "", {}
    if stamp != (0, 0):
        try:  # read, never repair: settings.load() backs up a corrupt file, not our job here
            loaded, _ = settings_mod.from_dict(json.loads(file.read_text(encoding="utf-8")))
            uri, options = loaded.index_uri, loaded.storage_options
        except (OSError, ValueError, TypeError, AttributeError):
            pass  # unreadable settings mean default settings everywhere else too
    location = parse_location(uri, options)
    _allow(location)
    with _lock:
        _from_settings[key] = (stamp, location)
    return location


def location() -> Location:
    """Where the current data dir's index lives: as configured, else as its settings say when
    following them, else its own ``index`` folder."""
    key = _data_dir_key()
    with _lock:
        configured = _configured.get(key)
        follow = _follow[0]
    if configured is not None:
        return configured
    return _settings_location(key) if follow else Location(str(Path(key) / "index"))


# -- errors ---------------------------------------------------------------------------------------
_REASONS = (
    (("NoSuchBucket",), "the bucket {bucket!r} does not exist"),
    (("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
      "status: 403", "status: 401", "Forbidden", "Unauthorized"),
     "access was refused: check the credentials (storage_options aws_access_key_id / "
     "aws_secret_access_key, or the AWS_* environment variables)"),
    (("URL scheme is not allowed", "builder error"), "the endpoint needs allow_http for http://"),
    (("kind: Connect", "Connection refused", "dns error", "error trying to connect",
      "operation timed out", "timed out", "Timeout", "tcp connect"),
     "cannot reach the storage endpoint {endpoint}"),
)


def explain(exc: BaseException, location: Location) -> str:
    """One line saying what went wrong with the store, without credentials or a Rust dump."""
    text = str(exc)
    bucket = urlsplit(location.uri).hostname or ""
    endpoint = location.endpoint or "(the provider's default endpoint)"
    for needles, reason in _REASONS:
        if any(n in text for n in needles):
            return f"index at {location.display}: {reason.format(bucket=bucket, endpoint=endpoint)}"
    first = scrub(text.splitlines()[0] if text else type(exc).__name__, location.storage_options)
    return f"index at {location.display}: {first[:240]}"


# -- connections ----------------------------------------------------------------------------------
_dbs: dict[Location, Any] = {}


def connect(location_: Location | None = None) -> Any:
    """The LanceDB connection for a location (cached). A remote one is checked on first use:
    listing the tables proves the endpoint, the bucket and the credentials in one request."""
    import lancedb

    loc = location_ or location()
    with _lock:
        db = _dbs.get(loc)
    if db is not None:
        return db
    if not loc.remote:
        db = lancedb.connect(str(local_folder(loc)))
    else:
        try:
            db = lancedb.connect(loc.uri, storage_options=loc.storage_options,
                                 read_consistency_interval=timedelta(seconds=READ_TTL_S))
            db.list_tables()
        except Exception as exc:  # lancedb raises ValueError/OSError/RuntimeError alike
            raise StorageError(explain(exc, loc)) from None
    with _lock:
        return _dbs.setdefault(loc, db)


_tables: dict[tuple[Location, str], Any] = {}


def open_table(loc: Location, name: str) -> Any:
    """Open a table; on an object store the handle is kept and follows new versions by itself
    (at most :data:`READ_TTL_S` late) instead of listing the table's versions on every open."""
    if not loc.remote:
        return connect(loc).open_table(name)
    with _lock:
        table = _tables.get((loc, name))
    if table is None:
        table = connect(loc).open_table(name)
        with _lock:
            table = _tables.setdefault((loc, name), table)
    return table


def drop_table(loc: Location, name: str) -> None:
    connect(loc).drop_table(name)
    with _lock:
        _tables.pop((loc, name), None)


def refresh(loc: Location | None = None) -> bool:
    """Drop the cached reads of an object store (tables, metadata); False for a local index,
    which caches nothing."""
    from engine import storage_meta

    loc = loc or location()
    if not loc.remote:
        return False
    with _lock:
        for key in [k for k in _tables if k[0] == loc]:
            del _tables[key]
    storage_meta.forget(loc)
    return True


def local_folder(loc: Location) -> Path:
    """A local location's folder, created (and checked writable) on first use."""
    return paths.ensure_writable_dir(Path(loc.uri))
