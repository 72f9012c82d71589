"""Turn the paths a user dropped into the list of files to index.

Folders are walked with symlinks followed but every real folder visited once (symlink loops end),
hidden entries (Maildir++ mail folders aside) and tool folders skipped, permission errors
reported per folder instead of ending the walk. Files with types Satchel cannot read are listed
as skipped with the reason, so a folder full of photos is not a wall of errors but is not
silently ignored either. A folder that is one document (an iWork package) is one skipped item
saying what to do, not walked into.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import SatchelError
from engine.ingest.file_names import NOT_UTF8_FILE, NOT_UTF8_FOLDER, is_text, printable

#: Folders that hold tool state, never documents.
SKIP_DIRS = {"__pycache__", "node_modules", ".git", ".hg", ".svn", ".venv", "venv", ".tox",
             ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode"}


@dataclass
class ScanResult:
    """Files found, in a stable order, plus what could not be used and why."""

    files: list[str] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)  # absolute input paths (scope for removals)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _abs(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def scan(inputs: list[str | os.PathLike[str]]) -> ScanResult:
    """Expand files and folders into supported files; a missing input is a user error."""
    from engine.ingest.loaders import is_supported_name
    from engine.ingest.loaders.formats import is_clutter
    from engine.ingest.loaders.iwork import folder_reason, package_folder

    result = ScanResult()
    missing = [os.fspath(p) for p in inputs if not os.path.lexists(_abs(p))]
    if missing:
        raise SatchelError(f"no such file or folder: {printable(missing[0])}")
    if unnamed := [_abs(p) for p in inputs if not is_text(_abs(p))]:
        what = NOT_UTF8_FOLDER if os.path.isdir(unnamed[0]) else NOT_UTF8_FILE
        raise SatchelError(f"{printable(unnamed[0])}: {what}")
    seen_files: set[str] = set()
    seen_dirs: set[str] = set()

    def add_file(path: str, explicit: bool) -> None:
        if not is_text(path):  # the index stores text: reported under a name it can store
            result.failed.append((printable(path), NOT_UTF8_FILE))
            return
        if not explicit and not is_supported_name(path):
            # a font or a program in a folder is skipped by its name, even as a dangling link
            # (calibre's fonts link to system fonts: 10 "broken symbolic link" failures)
            result.skipped.append((path, unsupported(path)))
            return
        try:
            real = os.path.realpath(path)
            if not os.path.exists(real):
                result.failed.append((path, "broken symbolic link"))
                return
            if not stat.S_ISREG(os.stat(real).st_mode):  # FIFOs, sockets, devices would block
                result.failed.append((path, "not a regular file"))
                return
        except OSError as exc:
            result.failed.append((path, f"cannot resolve path: {exc.strerror or exc}"))
            return
        if real in seen_files:
            return
        seen_files.add(real)
        if is_supported_name(path):
            result.files.append(path)
        else:
            result.failed.append((path, unsupported(path)))  # named by the user: a failure

    for raw in inputs:
        root = _abs(raw)
        result.roots.append(root)
        if not os.path.isdir(root):
            add_file(root, explicit=True)
            continue
        if package := package_folder(root):  # dropped on its own: what the user asked for
            result.failed.append((root, folder_reason(package)))
            continue

        def on_error(exc: OSError, root: str = root) -> None:
            reason = "permission denied" if isinstance(exc, PermissionError) else (
                exc.strerror or str(exc))
            result.failed.append((exc.filename or root, f"cannot read folder: {reason}"))

        for folder, dirs, files in os.walk(root, onerror=on_error, followlinks=True):
            real = os.path.realpath(folder)
            if real in seen_dirs:  # a symlink loop or a second link to the same folder
                dirs[:] = []
                continue
            seen_dirs.add(real)
            dirs[:] = sorted(d for d in dirs if not skipped_folder(folder, d))
            for name in [d for d in dirs if not is_text(d)]:  # reported once, not per file
                result.failed.append((printable(os.path.join(folder, name)), NOT_UTF8_FOLDER))
                dirs.remove(name)
            for name in list(dirs):
                if package := package_folder(os.path.join(folder, name)):
                    result.skipped.append((os.path.join(folder, name), folder_reason(package)))
                    dirs.remove(name)
            for name in sorted(files):
                if is_clutter(name):  # hidden files, caches, mail programs' indexes
                    continue
                add_file(os.path.join(folder, name), explicit=False)
    return result


def unsupported(path: str) -> str:
    """The reason a file of a type Satchel does not read is left out."""
    return f"unsupported file type ({Path(path).suffix or 'no extension'})"


def skipped_folder(parent: str, name: str) -> bool:
    """Folders never indexed: tool state, and hidden ones. A Maildir++ folder (Dovecot,
    Courier: ".Sent", ".Archive" beside the inbox's cur/ and new/) is hidden by name but holds
    mail, unlike the tool state other dot-folders hold, so it is walked."""
    from engine.ingest.loaders.formats import is_clutter

    if name in SKIP_DIRS or (is_clutter(name) and not name.startswith(".")):
        return True
    return name.startswith(".") and not os.path.isdir(os.path.join(parent, name, "cur"))


def is_under(path: str, roots: list[str]) -> bool:
    """True when ``path`` is one of ``roots`` or inside one of them (for removal scope)."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)
