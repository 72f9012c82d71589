"""The adapter store: trained LoRA adapters (GGUF) with the manifest that says what they fit.

Layout: ``paths.adapters_dir()/<name>/adapter.gguf`` plus ``manifest.json``. Why a manifest next
to the GGUF instead of trusting the GGUF alone: llama.cpp loads any adapter whose tensor shapes
happen to fit, so an adapter trained on another base (or on a re-quantized copy of the same one)
would load and quietly produce nonsense. The manifest records the base model's sha256,
architecture and shapes, and :func:`check_compatible` refuses a mismatch in one line.

Saving is atomic at the folder level: everything is written into a hidden temp folder under
``adapters_dir()`` (same filesystem) and renamed into place, so a crash or a kill -9 never leaves
a half-written adapter visible to :func:`list_adapters`; stale temp folders are swept on the next
save.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import paths
from engine.errors import SatchelError

FORMAT_VERSION = 1
ADAPTER_FILE = "adapter.gguf"
MANIFEST_FILE = "manifest.json"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TMP_PREFIX = ".tmp-"


class AdapterError(SatchelError):
    """A missing, damaged or incompatible adapter; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class AdapterManifest:
    """What an adapter was trained on and how; written as ``manifest.json``."""

    name: str
    base_model_sha256: str
    base_model_name: str
    architecture: str
    block_count: int
    embedding_length: int
    lora_rank: int
    lora_alpha: float
    target_modules: list[str]
    data_source: dict[str, Any]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AdapterManifest:
        """Parse a manifest; unknown keys (from a newer Satchel) are ignored."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in raw.items() if k in known}
        missing = [k for k in ("name", "base_model_sha256", "architecture", "block_count",
                               "embedding_length", "lora_rank", "lora_alpha") if k not in values]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        values.setdefault("base_model_name", "")
        values.setdefault("target_modules", [])
        values.setdefault("data_source", {})
        return cls(**values)


@dataclass(frozen=True)
class AdapterEntry:
    """One stored adapter: its name, the GGUF file to hand to llama.cpp, and its manifest."""

    name: str
    path: Path
    manifest: AdapterManifest


def validate_name(name: str) -> str:
    """Adapter names become folder names: keep them short and filesystem-safe."""
    if not NAME_RE.match(name or ""):
        raise AdapterError(f"invalid adapter name {name!r}: use 1-64 letters, digits, '_', '-' "
                           "or '.', starting with a letter or digit")
    return name


def _read_entry(folder: Path) -> AdapterEntry:
    gguf_path = folder / ADAPTER_FILE
    manifest_path = folder / MANIFEST_FILE
    if not gguf_path.is_file():
        raise AdapterError(f"adapter {folder.name!r} has no {ADAPTER_FILE}")
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest = AdapterManifest.from_json(raw)
    except FileNotFoundError:
        raise AdapterError(f"adapter {folder.name!r} has no {MANIFEST_FILE}") from None
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AdapterError(f"adapter {folder.name!r} has a damaged manifest ({reason})") from None
    return AdapterEntry(folder.name, gguf_path, manifest)


def list_adapters() -> list[AdapterEntry]:
    """Every complete adapter, by name; damaged folders are skipped (``get_adapter`` says why)."""
    root = paths.adapters_dir()
    result: list[AdapterEntry] = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            result.append(_read_entry(folder))
        except AdapterError:
            continue
    return result


def get_adapter(name: str) -> AdapterEntry:
    """The adapter called ``name``; AdapterError naming the known adapters when it is missing."""
    folder = paths.adapters_dir() / name
    if not NAME_RE.match(name or "") or not folder.is_dir():
        known = ", ".join(e.name for e in list_adapters()) or "none yet"
        raise AdapterError(f"no adapter named {name!r} (adapters: {known})")
    return _read_entry(folder)


def remove_adapter(name: str) -> None:
    """Delete an adapter: renamed away first (atomic disappearance), then deleted."""
    folder = paths.adapters_dir() / name
    if not NAME_RE.match(name or "") or not folder.is_dir():
        known = ", ".join(e.name for e in list_adapters()) or "none yet"
        raise AdapterError(f"no adapter named {name!r} (adapters: {known})")
    trash = folder.with_name(f"{_TMP_PREFIX}rm-{name}-{os.getpid()}-{time.time_ns()}")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def check_compatible(entry: AdapterEntry, model_path: Path) -> None:
    """Refuse (AdapterError) an adapter that was not trained on exactly this model file.

    The sha256 check is the real guarantee; architecture and shapes are checked first because
    they give a more useful message ("trained for a 30-layer llama, this is a 24-layer qwen2").
    """
    from engine.gguf_info import ModelFileError, read_info
    from engine.model_files import model_sha256

    try:
        info = read_info(model_path)
    except ModelFileError as exc:
        raise AdapterError(f"cannot check adapter {entry.name!r}: {exc}") from None
    m = entry.manifest
    if info.architecture != m.architecture:
        raise AdapterError(f"adapter {entry.name!r} was trained for a {m.architecture} model; "
                           f"{Path(model_path).name} is {info.architecture}")
    if (info.block_count, info.embedding_length) != (m.block_count, m.embedding_length):
        raise AdapterError(
            f"adapter {entry.name!r} was trained for a model with {m.block_count} layers of "
            f"width {m.embedding_length}; {Path(model_path).name} has {info.block_count} layers "
            f"of width {info.embedding_length}")
    sha = model_sha256(model_path)
    if sha != m.base_model_sha256:
        base = m.base_model_name or m.base_model_sha256[:12]
        raise AdapterError(f"adapter {entry.name!r} was trained on another model file ({base}, "
                           f"sha256 {m.base_model_sha256[:12]}); {Path(model_path).name} has "
                           f"sha256 {sha[:12]}")


def _sweep_temp(root: Path) -> None:
    """Remove temp folders of saves that died (another process's live save is younger)."""
    cutoff = time.time() - 3600
    for folder in root.iterdir():
        if folder.name.startswith(_TMP_PREFIX) and folder.is_dir():
            try:
                if folder.stat().st_mtime < cutoff or folder.name.startswith(
                        f"{_TMP_PREFIX}rm-"):
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue


def save_adapter(name: str, gguf_source: Path, manifest: AdapterManifest, *,
                 overwrite: bool = False) -> AdapterEntry:
    """Store ``gguf_source`` (copied) and ``manifest`` as adapter ``name``, atomically.

    The folder appears complete or not at all. With ``overwrite`` an existing adapter of the same
    name is replaced (the old one is renamed away first, then deleted).
    """
    validate_name(name)
    if manifest.name != name:
        raise ValueError(f"manifest name {manifest.name!r} differs from {name!r}")
    root = paths.adapters_dir()
    _sweep_temp(root)
    final = root / name
    if final.exists() and not overwrite:
        raise AdapterError(f"an adapter named {name!r} already exists; pick another name or "
                           "remove it first")
    tmp = root / f"{_TMP_PREFIX}{name}-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        shutil.copyfile(gguf_source, tmp / ADAPTER_FILE)
        with open(tmp / ADAPTER_FILE, "rb+") as fh:
            os.fsync(fh.fileno())
        text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
        with open(tmp / MANIFEST_FILE, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if final.exists():
            trash = root / f"{_TMP_PREFIX}rm-{name}-{os.getpid()}-{time.time_ns()}"
            os.replace(final, trash)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _read_entry(final)


def unique_name(base: str) -> str:
    """``base`` if free, else ``base-2``, ``base-3``... (for default names like the collection)."""
    root = paths.adapters_dir()
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", base).strip("-.") or "adapter"
    cleaned = cleaned[:56]
    if not cleaned[0].isalnum():
        cleaned = "a" + cleaned
    candidate, n = cleaned, 2
    while (root / candidate).exists():
        candidate, n = f"{cleaned}-{n}", n + 1
    return candidate


def adapter_kind(entry: AdapterEntry) -> str:
    """"reader", "knowledge", "text" (a collection's raw text) or "pairs"."""
    kind = str(entry.manifest.data_source.get("kind") or "")
    return "text" if kind in ("collection", "") else kind


def mode_for(entry: AdapterEntry) -> str:
    """The answer mode an adapter is made for: a reader was trained on the RAG prompt and reads
    the passages search finds ("rag+adapter"); the other kinds answer without them ("adapter")."""
    return "rag+adapter" if adapter_kind(entry) == "reader" else "adapter"


def modes_for(entry: AdapterEntry) -> tuple[str, ...]:
    """The answer modes an adapter can answer in, the one it is made for first: a reader only
    with passages; the other kinds also with them (rag+adapter falls back on them when there is
    no reader, see :func:`engine.evaluate.runner.adapter_for_mode`)."""
    from engine.modes import ADAPTER_MODES

    made_for = mode_for(entry)
    return (made_for,) if made_for == "rag+adapter" else (
        made_for, *(m for m in ADAPTER_MODES if m != made_for))


def mode_note(name: str, mode: str) -> str | None:
    """A one-line note when adapter ``name`` is asked to answer in a mode it was not made for: a
    reader in adapter mode sees no passages and answers from nothing (None when it fits, or
    when there is no such adapter: asking reports that)."""
    if mode != "adapter":
        return None
    try:
        entry = get_adapter(name)
    except AdapterError:
        return None
    if mode in modes_for(entry):
        return None
    return (f"note: {name!r} is a reader adapter, trained to read the passages search finds; "
            "adapter mode shows it none (use --mode rag+adapter --collection NAME)")
