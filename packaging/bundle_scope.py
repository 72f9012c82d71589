"""What must stay out of the bundle: modules of installed distributions Satchel does not depend on.

Why: the build runs in the development venv, which also holds the test tools (pytest, hypothesis,
moto/boto3, openai), PyInstaller itself and optional extras such as ``ray`` (bulk ingestion on a
cluster, "not in the desktop bundle", and Ray does not work inside PyInstaller builds). PyInstaller
follows every import it can find, including optional ones inside try/except, so without this the
bundle's content would depend on whatever happens to be installed. Only Satchel's run-time
dependency tree (:func:`third_party.runtime_closure`) is bundled; a module of any other installed
distribution is excluded, and so is its metadata (some hooks copy it for version checks).
"""

from __future__ import annotations

import sys
from importlib import metadata

from third_party import runtime_closure


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def top_level_names(dist: metadata.Distribution) -> set[str]:
    """Importable top-level names a distribution installs (top_level.txt, else its file list)."""
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names: set[str] = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(
                (".dist-info", ".egg-info", ".data", ".pth")):
            continue
        if len(parts) > 1:
            names.add(parts[0])
        elif parts[0].endswith(".py"):
            names.add(parts[0][:-3])
        elif parts[0].endswith(".so"):
            names.add(parts[0].split(".", 1)[0])
    return names


def bundled_distributions() -> set[str]:
    """Normalized names of the distributions the bundle is for."""
    return {_normalize(d.metadata["Name"]) for d in runtime_closure()}


def foreign_modules() -> list[str]:
    """Top-level modules installed only by distributions outside the run-time tree."""
    wanted = bundled_distributions()
    ours: set[str] = set()
    foreign: set[str] = set()
    for dist in metadata.distributions():
        name = _normalize(dist.metadata["Name"] or "")
        if name == "satchel":
            continue
        (ours if name in wanted else foreign).update(top_level_names(dist))
    return sorted(foreign - ours - set(sys.stdlib_module_names))


def is_foreign_metadata(dest: str, wanted: set[str]) -> bool:
    """True for a ``<name>-<version>.dist-info/...`` data entry of a distribution not bundled."""
    top = dest.replace("\\", "/").split("/", 1)[0]
    if not top.endswith(".dist-info"):
        return False
    return _normalize(top[: -len(".dist-info")].rsplit("-", 1)[0]) not in wanted
