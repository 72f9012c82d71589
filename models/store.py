"""The user's models: the bundled default plus any GGUF file they registered.

Registering a file validates its header (:mod:`engine.gguf_info`) and remembers it in
``models.json`` under the data dir. Resolving and validating model files is the engine's job
(:mod:`engine.model_files`); this registry builds on it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from engine import paths
from engine.gguf_info import GGUFInfo, ModelFileError, read_info
from engine.model_files import default_model_path


@dataclass(frozen=True)
class ModelEntry:
    """A model the user can pick."""

    name: str
    path: str
    bundled: bool
    info: GGUFInfo | None
    error: str | None = None


def _registry_file() -> Path:
    return paths.models_dir() / "models.json"


def _read_registry() -> list[dict[str, str]]:
    try:
        data = json.loads(_registry_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []  # a damaged registry only forgets user entries; the files are untouched
    return [d for d in data if isinstance(d, dict) and isinstance(d.get("path"), str)]


def register_model(path: str | Path, name: str | None = None) -> ModelEntry:
    """Validate a user GGUF and remember it; the same path registered twice is updated in place."""
    resolved = Path(path).expanduser().resolve()
    info = read_info(resolved)
    if info.file_type == "adapter":
        raise ModelFileError(f"{resolved.name} is a LoRA adapter, not a model; add it under "
                             "adapters instead")
    entries = [e for e in _read_registry() if e["path"] != str(resolved)]
    entry_name = name or info.name or resolved.stem
    entries.append({"name": entry_name, "path": str(resolved),
                    "added": time.strftime("%Y-%m-%dT%H:%M:%S")})
    paths.atomic_write_text(_registry_file(), json.dumps(entries, indent=2))
    return ModelEntry(entry_name, str(resolved), False, info)


def unregister_model(path: str | Path) -> bool:
    """Forget a user model (the file itself is never deleted); True if it was registered."""
    resolved = str(Path(path).expanduser().resolve())
    entries = _read_registry()
    kept = [e for e in entries if e["path"] != resolved]
    if len(kept) != len(entries):
        paths.atomic_write_text(_registry_file(), json.dumps(kept, indent=2))
    return len(kept) != len(entries)


def list_models() -> list[ModelEntry]:
    """The bundled model first, then registered user models (a vanished file shows its error)."""
    result: list[ModelEntry] = []
    try:
        default = default_model_path()
        result.append(ModelEntry("SmolLM2-135M-Instruct (bundled)", str(default), True,
                                 read_info(default)))
    except ModelFileError as exc:
        result.append(ModelEntry("SmolLM2-135M-Instruct (bundled)", "", True, None, str(exc)))
    for entry in _read_registry():
        try:
            info: GGUFInfo | None = read_info(entry["path"])
            error = None
        except ModelFileError as exc:
            info, error = None, str(exc)
        result.append(ModelEntry(entry.get("name", Path(entry["path"]).stem), entry["path"],
                                 False, info, error))
    return result
