"""Which Debian packages the frozen folder needs from the system: the .deb's ``Depends``.

Why computed: PyInstaller copies most shared libraries into the folder, but leaves out the C
library, the OpenGL/EGL stack and a few others on purpose, and Qt's xcb platform plugin links
some of them. ``ldd`` on every ELF file in the folder (with the folder's own library dirs on the
search path, as the bootloader sets it) lists what is resolved outside the folder, and ``dpkg -S``
names the packages. ``objdump -T`` gives the newest glibc symbol version any file needs, so the
``libc6`` dependency carries the right minimum version. A hand-kept list would rot each time a
dependency changes; this runs once per dependency set (the result is cached with the folder).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: Libraries that optional Qt plugins load, absent from a minimal build machine: the package to
#: recommend, or None. Without the Wayland ones Qt falls back to X11 (XWayland); GTK is only for
#: Qt's GTK theme plugin, which a GTK desktop has anyway: not worth pulling GTK onto others.
OPTIONAL_LIBS: dict[str, str | None] = {
    "libwayland-cursor.so.0": "libwayland-cursor0", "libwayland-egl.so.1": "libwayland-egl1",
    "libgtk-3.so.0": None, "libgdk-3.so.0": None}
#: Needed without being linked: the bundled fontconfig reads the system's configuration (which
#: in turn depends on a font), or Qt draws no text at all.
EXTRA_DEPENDS = ("fontconfig-config",)

_LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(not found|\S+)")
_GLIBC = re.compile(r"GLIBC_(\d+)\.(\d+)")


def elf_files(folder: Path) -> list[Path]:
    """Regular files in ``folder`` that start with the ELF magic number."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    found.append(path)
    return sorted(found)


def _ldd(path: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env,
                         check=False).stdout
    return [(m[1], m[2]) for m in map(_LDD_LINE.match, out.splitlines()) if m]


def _glibc_version(path: Path) -> tuple[int, int]:
    out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True,
                         check=False).stdout
    return max(((int(a), int(b)) for a, b in _GLIBC.findall(out)), default=(0, 0))


def _owners(paths: Iterable[str]) -> dict[str, str]:
    """System library path -> Debian package that installed it (merged /usr aware)."""
    owners: dict[str, str] = {}
    for path in sorted(set(paths)):
        candidates = [path, os.path.realpath(path)]
        candidates += [c.removeprefix("/usr") for c in candidates if c.startswith("/usr/")]
        for candidate in candidates:
            out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True,
                                 text=True, check=False)
            if out.returncode == 0:
                owners[path] = out.stdout.split(":", 1)[0].strip()
                break
    return owners


def scan(folder: Path) -> dict[str, object]:
    """``{"packages": [...], "glibc": "2.x", "unresolved": [...], "not_found": [...]}``.

    ``not_found``: libraries no file could resolve, e.g. GTK for Qt's optional GTK theme plugin
    when GTK is not installed; the plugin is then simply not used, so they are not dependencies.
    """
    files = elf_files(folder)
    lib_dirs = sorted({str(p.parent) for p in files if ".so" in p.name})
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(lib_dirs)}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        linked = list(pool.map(lambda p: _ldd(p, env), files))
        glibc = max(pool.map(_glibc_version, files), default=(0, 0))
    root = str(folder.resolve())
    system, missing = set(), set()
    for deps in linked:
        for name, where in deps:
            if where == "not found":
                missing.add(name)
            elif not os.path.realpath(where).startswith(root):
                system.add(where)
    owners = _owners(system)
    return {"packages": sorted(set(owners.values())), "glibc": f"{glibc[0]}.{glibc[1]}",
            "unresolved": sorted(system - set(owners)), "not_found": sorted(missing)}


def recommends(result: dict[str, object]) -> list[str]:
    """Packages for the optional libraries :func:`scan` could not resolve (see OPTIONAL_LIBS)."""
    return sorted({str(OPTIONAL_LIBS[n]) for n in result["not_found"]  # type: ignore[union-attr]
                   if OPTIONAL_LIBS.get(n)})


def depends_field(result: dict[str, object]) -> str:
    """The control file's ``Depends`` value from :func:`scan`'s result."""
    parts = list(EXTRA_DEPENDS)
    for package in result["packages"]:  # type: ignore[union-attr]
        if package == "libc6":
            parts.append(f"libc6 (>= {result['glibc']})")
        else:
            parts.append(str(package))
    if "libc6" not in result["packages"]:  # type: ignore[operator]
        parts.insert(0, f"libc6 (>= {result['glibc']})")
    return ", ".join(sorted(parts))
