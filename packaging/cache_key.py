"""The cache key of the frozen dependency folder: the same key means PyInstaller need not run.

Why these inputs: they decide which third-party code and native libraries end up in the folder.
pyproject's dependency lists and the package extra; the installed versions of Satchel's run-time
dependency tree (transitive versions are not pinned in pyproject); the Makefile's pins (torch
wheel, llama.cpp build flags, bundled model); the spec and the helpers it runs in packaging/; the
Python version; and the outside modules Satchel's code imports (a new ``import`` of an unbundled
module must rebuild, see :mod:`satchel_imports`). Editing Satchel's code, README or tests changes
none of them: that re-packages in seconds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

from satchel_imports import external_imports
from third_party import runtime_closure

#: Files in packaging/ that shape the frozen folder (the .deb and icon steps do not).
FROZEN_INPUTS = ("satchel.spec", "launcher.py", "satchel_imports.py",
                 "bundle_scope.py", "third_party.py")


def dependency_spec(pyproject: Path) -> dict[str, object]:
    """The parts of pyproject.toml that choose what gets installed, hence bundled."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return {"requires-python": project.get("requires-python"),
            "dependencies": project.get("dependencies", []),
            "package": project.get("optional-dependencies", {}).get("package", [])}


def inputs(root: Path, pins: str) -> dict[str, object]:
    """Everything the key hashes, as JSON-able data (written next to the folder for debugging)."""
    here = root / "packaging"
    files = [here / name for name in FROZEN_INPUTS]
    return {
        "python": sys.version,
        "pins": " ".join(pins.split()),
        "pyproject": dependency_spec(root / "pyproject.toml"),
        "files": {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in files},
        "imports": external_imports(root),
        "installed": [f"{d.metadata['Name']}=={d.version}" for d in runtime_closure()],
    }


def key(data: dict[str, object]) -> str:
    """A short, stable hash of :func:`inputs`."""
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
