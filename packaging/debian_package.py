"""Build ``satchel_<version>_amd64.deb`` from the one-folder app, and check it.

Layout: the folder goes to ``/opt/satchel`` (a self-contained bundle, not a Debian Python module),
``/usr/bin/satchel`` links to it, and the desktop entry, icons, man page, copyright, changelog and
lintian overrides go where Debian expects them. The staging tree hard-links the folder's files
instead of copying 1.7 GB on every run, and ``dpkg-deb --root-owner-group`` makes everything
root-owned without fakeroot.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from launcher import SOURCE_DIR_NAME

HERE = Path(__file__).resolve().parent
DEBIAN = HERE / "debian"
INSTALL_DIR = "opt/satchel"


def link_tree(src: Path, dest: Path) -> None:
    """Mirror ``src`` at ``dest`` with hard links (same file system: instant, no extra space)."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            source, target = Path(dirpath) / name, dest / rel / name
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
            else:
                os.link(source, target)


def normalize_modes(folder: Path) -> None:
    """0755 for directories and executables (ELF programs and shared libraries need no x bit,
    but PyInstaller and wheels set it inconsistently), 0644 for everything else."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for d in dirnames:
            os.chmod(Path(dirpath) / d, 0o755)
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            with path.open("rb") as fh:
                elf = fh.read(4) == b"\x7fELF"
            executable = elf and ".so" not in name
            os.chmod(path, 0o755 if executable else 0o644)


def changelog_version() -> str:
    """The version of the newest entry in packaging/debian/changelog."""
    first = (DEBIAN / "changelog").read_text(encoding="utf-8").splitlines()[0]
    match = re.match(r"satchel \(([^)]+)\)", first)
    if not match:
        raise ValueError("packaging/debian/changelog does not start with 'satchel (VERSION)'")
    return match.group(1)


def md5sums(root: Path, rel_dir: str) -> list[str]:
    """``md5sums`` lines for the regular files under ``root/rel_dir`` (paths relative to root)."""
    lines = []
    for path in sorted((root / rel_dir).rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(root)}")
    return lines


def stage(folder: Path, stage_dir: Path, icons: dict[int, Path], version: str,
          depends: str, recommends: list[str], third_party: str,
          frozen_md5: list[str], *, frozen: bool = True) -> Path:
    """Lay out the package's file tree and DEBIAN/ control files under ``stage_dir``.

    ``frozen=False`` leaves out the cached dependency files (everything in ``_internal`` but
    Satchel's source): a small package for linting what changes between dependency builds.
    """
    shutil.rmtree(stage_dir, ignore_errors=True)
    if frozen:
        link_tree(folder, stage_dir / INSTALL_DIR)
    else:
        internal = stage_dir / INSTALL_DIR / "_internal"
        internal.mkdir(parents=True)
        os.link(folder / "satchel", stage_dir / INSTALL_DIR / "satchel")
        link_tree(folder / "_internal" / SOURCE_DIR_NAME, internal / SOURCE_DIR_NAME)
        frozen_md5 = [line for line in frozen_md5 if _md5_path(line) == f"{INSTALL_DIR}/satchel"]
    share = stage_dir / "usr" / "share"
    (stage_dir / "usr" / "bin").mkdir(parents=True)
    (stage_dir / "usr" / "bin" / "satchel").symlink_to(f"/{INSTALL_DIR}/satchel")
    _put(HERE / "satchel.desktop", share / "applications" / "satchel.desktop")
    _put(HERE / "icons" / "satchel.svg", share / "icons/hicolor/scalable/apps/satchel.svg")
    for size, png in icons.items():
        _put(png, share / f"icons/hicolor/{size}x{size}/apps/satchel.png")
    doc = share / "doc" / "satchel"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        (DEBIAN / "copyright").read_text(encoding="utf-8") + third_party, encoding="utf-8")
    # A native package (Satchel's packaging lives upstream; the version has no Debian revision),
    # so the changelog is changelog.gz, not changelog.Debian.gz (lintian checks the name).
    _gzip(DEBIAN / "changelog", doc / "changelog.gz")
    _gzip(DEBIAN / "satchel.1", share / "man" / "man1" / "satchel.1.gz")
    overrides = share / "lintian" / "overrides" / "satchel"
    _put(DEBIAN / "lintian-overrides", overrides)
    if not frozen:  # an override naming a dependency file would not match in the small package
        lines = overrides.read_text(encoding="utf-8").splitlines(keepends=True)
        overrides.write_text("".join(line for line in lines if not _names_frozen_file(line)))
    control_dir = stage_dir / "DEBIAN"
    control_dir.mkdir(mode=0o755)
    size_kb = sum(p.lstat().st_size for p in stage_dir.rglob("*")) // 1024 + 1
    extra_recommends = "".join(f", {r}" for r in recommends)
    control = (DEBIAN / "control.in").read_text(encoding="utf-8")
    control = (control.replace("@VERSION@", version).replace("@INSTALLED_SIZE@", str(size_kb))
               .replace("@DEPENDS@", depends))
    control = re.sub(r"^(Recommends: .*)$", lambda m: m.group(1) + extra_recommends, control,
                     flags=re.MULTILINE)
    (control_dir / "control").write_text(control, encoding="utf-8")
    frozen_part = [line for line in frozen_md5 if "/satchel_src/" not in line]
    lines = frozen_part + md5sums(stage_dir, f"{INSTALL_DIR}/_internal/satchel_src")
    lines += md5sums(stage_dir, "usr")
    (control_dir / "md5sums").write_text("\n".join(sorted(lines, key=_md5_path)) + "\n")
    os.chmod(control_dir / "control", 0o644)
    os.chmod(control_dir / "md5sums", 0o644)
    return stage_dir


def _names_frozen_file(override: str) -> bool:
    """True for an override whose context is a file of the dependency part of the folder."""
    context = override.partition("[")[2]
    return (context.startswith(f"{INSTALL_DIR}/_internal/")
            and not context.startswith(f"{INSTALL_DIR}/_internal/{SOURCE_DIR_NAME}/"))


def _md5_path(line: str) -> str:
    return line.split("  ", 1)[1]


def _put(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    os.chmod(dest, 0o644)


def _gzip(src: Path, dest: Path) -> None:
    """gzip -9n: no name or time stamp inside, so the file is reproducible (lintian checks)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                compresslevel=9, mtime=0) as gz:
        gz.write(src.read_bytes())
    os.chmod(dest, 0o644)


def build(stage_dir: Path, deb: Path, compression: str, level: int) -> Path:
    """``dpkg-deb --build`` with root ownership and the given compressor and level.

    Measured on 2 cores with the 1.6 GB folder: gzip -1 25-34 s, 719 MiB. With an earlier
    1.8 GB folder: gzip -1 28 s (826 MiB), gzip -3 39 s (801 MiB), gzip -6 122 s (767 MiB),
    xz -1 324 s (652 MiB), zstd -3 8 s (717 MiB). zstd would be the pick, but Debian 12's
    lintian rejects zstd members (malformed-deb-archive, an error), so gzip -1 is the default.
    """
    deb.unlink(missing_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", f"-z{level}",
                    "--build", str(stage_dir), str(deb)], check=True, stdout=subprocess.DEVNULL)
    return deb
