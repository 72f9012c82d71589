"""Every place Satchel writes, in one module.

One data dir holds everything (settings, index, chat sessions, adapters, reports, logs), so a user
can back it up, move it, or wipe it, and tests can point it at a temp folder. Resolution order:
a thread's own override (:func:`thread_data_dir`), then the process-wide override (the
``--data-dir`` flag calls :func:`set_data_dir`), then ``SATCHEL_HOME``, then the platform's user
data dir (platformdirs).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

from engine.errors import SatchelError

APP_NAME = "Satchel"
ENV_HOME = "SATCHEL_HOME"

_override: Path | None = None
_thread_override: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "satchel_data_dir", default=None)


class DataDirError(SatchelError):
    """The data dir cannot be created or written; the message is one line for the user."""


def set_data_dir(path: str | os.PathLike[str] | None) -> None:
    """Override the data dir for this process (``--data-dir``); ``None`` clears the override."""
    global _override
    _override = Path(path).expanduser().resolve() if path is not None else None


@contextlib.contextmanager
def thread_data_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Use ``path`` as the data dir in the calling thread only, until the block ends.

    Why: the GUI's engine worker runs short tasks on a second thread beside the serial one, each
    task with the data dir of the window that sent it; :func:`set_data_dir` there would switch
    the data dir under the serial lane's running task. The override is a ``ContextVar``, so it
    is also safe if an event loop ever runs in that thread. Threads started inside the block do
    NOT see it (Python 3.11 starts every thread with an empty context, just as a
    ``threading.local`` starts empty): work that starts threads calling this module (the
    indexer, hybrid search) must run under :func:`set_data_dir` instead, or start its threads
    with ``contextvars.copy_context().run``.
    """
    root = Path(path).expanduser().resolve()
    token = _thread_override.set(root)
    try:
        yield root
    finally:
        _thread_override.reset(token)


def data_dir(create: bool = True) -> Path:
    """The root of everything Satchel writes; created (and checked writable) on first use."""
    if (local := _thread_override.get()) is not None:
        root = local
    elif _override is not None:
        root = _override
    elif os.environ.get(ENV_HOME):
        root = Path(os.environ[ENV_HOME]).expanduser().resolve()
    else:
        from platformdirs import user_data_dir

        root = Path(user_data_dir(APP_NAME, appauthor=False))
        if create and root not in _made_private:
            _make_private(root)
    if create:
        ensure_writable_dir(root)
    return root


#: Default data dirs already made private by this process (one stat, not one per call).
_made_private: set[Path] = set()


def _make_private(root: Path) -> None:
    """Create the default data dir readable by its owner only, and make one an earlier version
    created (with the umask's 755) so: it holds the text of the user's documents, their
    questions and answers, and adapters trained on them, which other accounts of a shared
    computer could otherwise read. A data dir the user chose (SATCHEL_HOME, --data-dir) keeps
    the permissions its owner gave it; a new one is made private all the same."""
    _made_private.add(root)
    if os.name != "posix":  # Windows: a profile is private to its owner already
        return
    try:
        if not root.exists():
            root.parent.mkdir(parents=True, exist_ok=True)
            root.mkdir(mode=0o700)
        elif root.stat().st_uid == os.getuid() and root.stat().st_mode & 0o077:
            root.chmod(0o700)
    except OSError:
        pass  # ensure_writable_dir says what is wrong, in one line


def ensure_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it is writable, or raise :class:`DataDirError`."""
    if path.exists() and not path.is_dir():
        raise DataDirError(f"data dir {path} exists but is not a folder")
    try:
        if not path.exists():  # a new data dir is private to its owner (see _make_private)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot create data dir {path}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise DataDirError(f"data dir {path} exists but is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataDirError(f"data dir {path} is not writable")
    return path


def _sub(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_file() -> Path:
    """The typed settings (JSON, written atomically)."""
    return data_dir() / "settings.json"


def index_dir() -> Path:
    """The LanceDB database folder (collections, documents and chunks tables)."""
    return _sub("index")


def models_dir() -> Path:
    """User-registered GGUF models (the registry file) and downloaded-by-user copies."""
    return _sub("models")


def adapters_dir() -> Path:
    """Trained LoRA adapters (GGUF) with their manifests."""
    return _sub("adapters")


def sessions_dir() -> Path:
    """Chat sessions database."""
    return _sub("sessions")


def reports_dir() -> Path:
    """Evaluation reports (JSON, Markdown, PNG charts)."""
    return _sub("reports")


def cache_dir() -> Path:
    """Disposable data: training checkpoints, temp files of atomic writes, job journals."""
    return _sub("cache")


def collection_cache(name: str) -> Path:
    """Disposable files derived from one collection's text: drafted training questions, the
    answers of an evaluation that was stopped, and the checkpoints of trainings on it. They quote
    or learned the user's documents, so removing the collection removes them
    (:func:`engine.index.remove_collection`)."""
    return cache_dir() / "collections" / name


def derived_cache(name: str, env: str) -> Path:
    """Files derived from a model file (an ONNX export, a faster weights copy): ``cache/name``
    in the data dir, or where ``$env`` points (the test suite shares one across its data dirs)."""
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser()
    return cache_dir() / name


def logs_dir() -> Path:
    """Log files, one per process start, rotated."""
    return _sub("logs")


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync it and rename it over ``path``.

    Readers see the old or the new file, never half of one (same folder, so the rename is atomic);
    on an exception the temp file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half of one."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))
