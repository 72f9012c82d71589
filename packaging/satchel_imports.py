"""What Satchel's own code is, and which outside modules it imports (read from source, no import).

Why this exists: the package build freezes third-party code only. Satchel's own packages are
copied as plain source on every ``make package`` (seconds), so editing Satchel never re-runs
PyInstaller. PyInstaller still has to *see* every outside module that code imports, including
imports inside functions (heavy libraries are imported there on purpose), so the spec analyses all
of :func:`own_modules` and then drops them from the archive. :func:`external_imports` feeds the
cache key: a new ``import`` of something not bundled yet (even from the standard library) changes
the key and forces a fresh dependency build.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
from pathlib import Path

#: Satchel's own top-level packages and modules (pyproject's packages.find and py-modules).
OWN_PACKAGES = ("engine", "cli", "gui", "models")
OWN_MODULES = ("main",)
#: Source files copied into the bundle next to the packages (the window's icon).
OWN_EXTRA_FILES = ("packaging/icons/satchel.svg",)


def is_own(module: str) -> bool:
    """True for a dotted module name that belongs to Satchel itself."""
    top = module.split(".", 1)[0]
    return top in OWN_PACKAGES or top in OWN_MODULES


def source_files(root: Path) -> list[Path]:
    """Every Python file of Satchel's own code under ``root`` (the repository), sorted."""
    files = [root / f"{name}.py" for name in OWN_MODULES]
    for package in OWN_PACKAGES:
        files += [p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files)


def module_name(root: Path, path: Path) -> str:
    """``engine/ingest/__init__.py`` -> ``engine.ingest``; ``main.py`` -> ``main``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def own_modules(root: Path) -> list[str]:
    """Dotted names of all of Satchel's modules: the spec analyses each as a hidden import."""
    return [module_name(root, p) for p in source_files(root)]


def external_imports(root: Path) -> list[str]:
    """Sorted names of the non-Satchel modules Satchel's code imports, anywhere in a file.

    ``from a.b import c`` counts ``a.b``, and ``a.b.c`` too when ``c`` is a submodule on disk
    (found without importing anything), so importing one more name from a module already used
    does not change the cache key. Relative imports are Satchel's own and are skipped.
    """
    found: set[str] = set()
    for path in source_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if not is_own(a.name))
            elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                  and not is_own(node.module) and node.module != "__future__"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names
                             if _is_submodule(node.module, a.name))
    return sorted(found)


@functools.cache
def _package_locations(dotted: str) -> tuple[str, ...]:
    """Where package ``dotted`` keeps its submodules, found on sys.path without importing it."""
    locations: list[str] | None = None
    parts = dotted.split(".")
    for i in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), locations)
        if spec is None or spec.submodule_search_locations is None:
            return ()
        locations = list(spec.submodule_search_locations)
    return tuple(locations or ())


def _is_submodule(package: str, name: str) -> bool:
    locations = _package_locations(package)
    return bool(locations) and importlib.machinery.PathFinder.find_spec(
        f"{package}.{name}", list(locations)) is not None
