"""``make package``: the one-folder app in build/package/satchel/, then the .deb, then its checks.

Run with the project's venv Python from anywhere: ``python packaging/build.py --pins "..."``
(the Makefile passes its torch/llama.cpp/model pins, which are part of the cache key). Steps:

1. the frozen dependency folder: reused when :mod:`cache_key` matches, else PyInstaller (minutes);
2. Satchel's source and bytecode copied in (seconds, every run);
3. icons rendered from the SVG; the .deb staged with hard links and built with dpkg-deb;
4. ``desktop-file-validate`` and ``lintian`` (the whole package once per dependency set, then
   only the part that can change: see :func:`check_package`); then the sizes and times.

This directory is deliberately not a Python package (no ``__init__.py``): a ``packaging``
package would shadow the PyPI ``packaging`` library that transformers and pip import. Its modules
import each other by plain name, which works because Python puts this script's folder on the path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import debian_package
import frozen
import icons
import system_libs
import third_party

ROOT = Path(__file__).resolve().parents[1]


def satchel_version() -> str:
    """``__version__`` from engine/__init__.py, read as text (nothing imported)."""
    text = (ROOT / "engine" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, flags=re.MULTILINE)
    if not match:
        raise SystemExit("engine/__init__.py has no __version__")
    return match.group(1)


def cached_json(path: Path, key: str, compute: object) -> object:
    """``compute()`` stored next to the folder under ``key``; recomputed when the key changes."""
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["value"]
    value = compute()  # type: ignore[operator]
    path.write_text(json.dumps({"key": key, "value": value}, indent=1) + "\n")
    return value


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (what a user's disk pays)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file())


def validate_desktop_file() -> None:
    """desktop-file-validate prints nothing for a clean file; anything it says fails the build."""
    desktop = ROOT / "packaging" / "satchel.desktop"
    out = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True,
                         check=False)
    said = (out.stdout + out.stderr).strip()
    print(f"desktop-file-validate: {said or 'no errors, warnings or hints'}")
    if out.returncode or said:
        raise SystemExit("desktop-file-validate found problems in packaging/satchel.desktop")


def lintian(deb: Path) -> float:
    """Run lintian (errors and warnings fail; overridden tags are listed in the overrides file);
    returns the seconds it took."""
    t0 = time.monotonic()
    out = subprocess.run(["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0",
                          str(deb)], capture_output=True, text=True, check=False)
    said = "\n".join(line for line in (out.stdout + out.stderr).splitlines()
                     if "root privileges is not recommended" not in line)
    print(said.strip() or "lintian: no errors or warnings (after the documented overrides)")
    if out.returncode:
        raise SystemExit("lintian reported errors or warnings (see above)")
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the folder, package it, check it, print sizes and times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pins", default="", help="the Makefile's pins (part of the cache key)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--compression", default="gzip", choices=["gzip", "xz", "zstd", "none"],
                        help="dpkg-deb compressor (see debian_package.build for measurements; "
                        "Debian 12's lintian rejects zstd)")
    parser.add_argument("--level", type=int, default=1, help="compression level")
    parser.add_argument("--full-lint", action="store_true",
                        help="lint the whole package even if its dependency part passed before")
    parser.add_argument("--no-checks", action="store_true", help="skip desktop-file-validate "
                        "and lintian")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    version = satchel_version()
    if debian_package.changelog_version() != version:
        raise SystemExit(f"engine.__version__ is {version} but packaging/debian/changelog's "
                         f"newest entry is {debian_package.changelog_version()}: add an entry")

    folder, rebuilt, key = frozen.ensure_frozen(ROOT, out, args.pins)
    if rebuilt:
        debian_package.normalize_modes(folder)
    frozen_s = time.monotonic() - started
    print(f"dependencies: {'built with PyInstaller' if rebuilt else 'cached'} (key {key}), "
          f"{frozen_s:.0f} s", flush=True)
    source = frozen.install_source(ROOT, folder)
    debian_package.normalize_modes(source)
    frozen_md5 = cached_json(out / "satchel.md5sums.json", key, lambda: debian_package.md5sums(
        folder.parent, folder.name))
    libs = cached_json(out / "satchel.system-libs.json", key, lambda: system_libs.scan(folder))
    not_found = [n for n in libs["not_found"] if n not in system_libs.OPTIONAL_LIBS]
    if not_found or libs["unresolved"]:
        print(f"warning: libraries not found on this machine: {not_found}; found but owned by "
              f"no Debian package: {libs['unresolved']}")

    rendered = icons.render(ROOT / "packaging" / "icons" / "satchel.svg", out / "icons")
    package_args = (rendered, version, system_libs.depends_field(libs),
                    system_libs.recommends(libs), third_party.listing(),
                    [line.replace(f"  {folder.name}/", f"  {debian_package.INSTALL_DIR}/", 1)
                     for line in frozen_md5])
    staged = debian_package.stage(folder, out / "deb-root", *package_args)
    t_deb = time.monotonic()
    deb = debian_package.build(staged, out / f"satchel_{version}_amd64.deb", args.compression,
                               args.level)
    deb_s = time.monotonic() - t_deb
    shutil.rmtree(staged)
    lint_note = "skipped"
    if not args.no_checks:
        validate_desktop_file()
        lint_note = check_package(deb, folder, out, key, package_args, args.full_lint)
    print(f"\nfolder   {folder.relative_to(ROOT)}: {folder_size(folder) / 2**20:,.0f} MiB"
          f"\npackage  {deb.relative_to(ROOT)}: {deb.stat().st_size / 2**20:,.0f} MiB "
          f"({args.compression} -{args.level}, dpkg-deb {deb_s:.0f} s)"
          f"\nlintian  {lint_note}"
          f"\ntime     {time.monotonic() - started:.0f} s in all (dependencies "
          f"{'rebuilt' if rebuilt else 'cached'})")
    return 0


def check_package(deb: Path, folder: Path, out: Path, key: str, package_args: tuple,
                  full: bool) -> str:
    """Lint the whole .deb once per dependency set and overrides file (4 to 7 minutes for
    13,000 files), and otherwise a small .deb with everything except the cached dependency files:
    Satchel's code, the launcher, control data, desktop entry, icons and docs, which is what can
    change (seconds). ``--full-lint`` forces the whole package."""
    stamp = out / "satchel.lintian-ok"
    overrides = ROOT / "packaging" / "debian" / "lintian-overrides"
    lint_key = f"{key}-{hashlib.sha256(overrides.read_bytes()).hexdigest()[:12]}"
    if full or not stamp.is_file() or stamp.read_text().strip() != lint_key:
        print("lintian on the whole package (minutes: 13,000 files)...", flush=True)
        seconds = lintian(deb)
        stamp.write_text(lint_key + "\n")
        return f"whole package clean ({seconds:.0f} s)"
    print("lintian on Satchel's part (the dependency files passed for this key before)...",
          flush=True)
    slim_dir = out / "lint"
    shutil.rmtree(slim_dir, ignore_errors=True)
    staged = debian_package.stage(folder, slim_dir / "root", *package_args, frozen=False)
    slim = debian_package.build(staged, slim_dir / deb.name, "gzip", 1)
    seconds = lintian(slim)
    shutil.rmtree(slim_dir)
    return f"Satchel's part clean ({seconds:.0f} s); dependency files passed for key {key}"


if __name__ == "__main__":
    sys.exit(main())
