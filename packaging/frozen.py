"""The one-folder app: a cached PyInstaller build of the dependencies, plus Satchel's fresh source.

Why two steps: freezing torch, Qt, LanceDB and friends takes minutes and changes only when the
dependency set does (:mod:`cache_key`); Satchel's own code changes all the time and is just
copied, with its bytecode compiled next to it (the folder may be installed read-only, and the
frozen interpreter never writes bytecode), which takes seconds.
"""

from __future__ import annotations

import compileall
import json
import py_compile
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cache_key
from launcher import SOURCE_DIR_NAME
from satchel_imports import OWN_EXTRA_FILES, OWN_MODULES, OWN_PACKAGES

APP_NAME = "satchel"
#: The sample corpus holds a Python file as a *document* to index: never compiled.
SAMPLE_DOCUMENTS = re.compile(r"[/\\]engine[/\\]samples[/\\]corpus[/\\]")


def key_file(out: Path) -> Path:
    """Where the key of the frozen folder's dependency set is kept (outside the folder)."""
    return out / f"{APP_NAME}.deps-key"


def ensure_frozen(root: Path, out: Path, pins: str) -> tuple[Path, bool, str]:
    """The frozen folder for the current dependency set: (folder, rebuilt?, key).

    Re-runs PyInstaller only when the key changed or the folder is incomplete; the key is
    written after a successful build only, so an interrupted build is redone next time.
    """
    data = cache_key.inputs(root, pins)
    key = cache_key.key(data)
    folder = out / APP_NAME
    stamp = key_file(out)
    if (stamp.is_file() and stamp.read_text().strip() == key
            and (folder / APP_NAME).is_file() and (folder / "_internal").is_dir()):
        return folder, False, key
    stamp.unlink(missing_ok=True)
    fresh = out / "frozen-new"
    shutil.rmtree(fresh, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(fresh), "--workpath", str(out / "work"),
                    str(root / "packaging" / "satchel.spec")], cwd=root, check=True)
    shutil.rmtree(folder, ignore_errors=True)
    (fresh / APP_NAME).rename(folder)
    shutil.rmtree(fresh, ignore_errors=True)
    (out / f"{APP_NAME}.deps-inputs.json").write_text(json.dumps(data, indent=1) + "\n")
    stamp.write_text(key + "\n")
    return folder, True, key


def install_source(root: Path, folder: Path) -> Path:
    """Replace the folder's copy of Satchel's code with the working tree's; returns its dir.

    Bytecode is compiled with checked hashes: it stays valid wherever the folder is copied or
    installed (no dependence on file times), and stale bytecode can never run.
    """
    dest = folder / "_internal" / SOURCE_DIR_NAME
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    for package in OWN_PACKAGES:
        shutil.copytree(root / package, dest / package, ignore=skip)
    for module in OWN_MODULES:
        shutil.copy2(root / f"{module}.py", dest / f"{module}.py")
    for extra in OWN_EXTRA_FILES:
        (dest / extra).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / extra, dest / extra)
    ok = compileall.compile_dir(
        dest, quiet=1, workers=0, rx=SAMPLE_DOCUMENTS,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    if not ok:
        raise RuntimeError(f"some of Satchel's source in {dest} does not compile")
    return dest
