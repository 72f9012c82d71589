"""Watch folders and call back, debounced, when files in them change (watchdog).

Why debounced: saving a document produces a burst of events (temp file, rename, modify); copying
a folder produces thousands. One callback after the burst settles (``quiet_s`` without events)
turns that into one incremental index run, which costs almost nothing for unchanged files.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any


def _indexable(path: str) -> bool:
    """Whether a change at ``path`` can matter to an index run: not a hidden file or program
    clutter (a mail program rewrites its .msf and index files all the time), not inside a
    folder the scan skips (:func:`engine.ingest.scan.skipped_folder`)."""
    from engine.ingest.loaders.formats import is_clutter
    from engine.ingest.scan import skipped_folder

    folder, name = os.path.split(path)
    if is_clutter(name):
        return False
    parts = folder.split(os.sep)
    return not any(part and skipped_folder(os.sep.join(parts[:i]) or os.sep, part)
                   for i, part in enumerate(parts))


class FolderWatcher:
    """Calls ``on_change(changed_paths)`` from a background thread after changes settle."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]],
                 on_change: Callable[[list[str]], None], quiet_s: float = 1.0) -> None:
        self.roots = [os.path.abspath(os.fspath(p)) for p in paths]
        self.on_change = on_change
        self.quiet_s = quiet_s
        self._changed: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer: Any = None
        self._thread: threading.Thread | None = None

    def _record(self, *paths: str) -> None:
        relevant = [p for p in paths if p and _indexable(p)]
        if not relevant:
            return
        with self._lock:
            self._changed.update(relevant)
        self._wake.set()

    def start(self) -> FolderWatcher:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                watcher._record(os.fsdecode(event.src_path),
                                os.fsdecode(getattr(event, "dest_path", "") or ""))

        self._observer = Observer()
        for root in self.roots:
            folder = root if os.path.isdir(root) else os.path.dirname(root)
            self._observer.schedule(Handler(), folder, recursive=os.path.isdir(root))
        self._observer.start()
        self._thread = threading.Thread(target=self._debounce, name="satchel-watch", daemon=True)
        self._thread.start()
        return self

    def _debounce(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.2):
                continue
            # wait until no new event arrived for quiet_s
            while self._wake.is_set() and not self._stop.is_set():
                self._wake.clear()
                self._stop.wait(self.quiet_s)
            with self._lock:
                changed, self._changed = sorted(self._changed), set()
            if changed and not self._stop.is_set():
                self.on_change(changed)

    def wait(self) -> None:
        """Block until :meth:`stop` (or Ctrl-C in the CLI)."""
        while not self._stop.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop watching and join the threads (safe to call twice)."""
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> FolderWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
