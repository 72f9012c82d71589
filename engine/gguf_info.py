"""Read what a GGUF file is (architecture, context, chat template, quantization) without loading it.

Why: the settings screen shows a model's metadata when the user picks a file, the runtime checks
an adapter against its base, and doctor reports the default model; none of these should pay for a
model load, and a wrong file (not GGUF, truncated, missing) must be a one-line error, not a crash
inside llama.cpp.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.errors import SatchelError

GGUF_MAGIC = b"GGUF"


class ModelFileError(SatchelError):
    """A model or adapter file that cannot be used; ``str()`` is a one-line reason."""


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says."""

    path: str
    size_bytes: int
    file_type: str  # "model" or "adapter" (general.type)
    architecture: str
    name: str | None
    context_length: int | None
    embedding_length: int | None
    block_count: int | None
    head_count: int | None
    head_count_kv: int | None
    vocab_size: int | None
    has_chat_template: bool
    chat_template: str | None
    quantization: str | None
    tensor_count: int
    parameters: int
    lora_alpha: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("chat_template")
        return data


def _check_header(path: Path) -> int:
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a GGUF file") from None
    except PermissionError:
        raise ModelFileError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise ModelFileError(f"{path.name} is empty (0 bytes), not a GGUF model")
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")
    return size


#: Parsed headers by (path, size, mtime): parsing takes 1-3 s (the gguf reader walks the whole
#: vocabulary), and ``Runtime.load`` validates the model this way on every question.
_INFO_CACHE: dict[tuple[str, int, int], GGUFInfo] = {}
_INFO_CACHE_MAX = 32
_INFO_LOCK = threading.Lock()


def read_info(path: str | os.PathLike[str]) -> GGUFInfo:
    """Parse a GGUF header and tensor table; raise :class:`ModelFileError` for unusable files.

    Truncation is detected by checking that every tensor's data lies inside the file: a download
    that stopped half-way has a valid header and a short body, which llama.cpp would otherwise
    discover only at load time (or not at all, with mmap). The result is remembered until the
    file's size or modification time changes (the magic bytes are still checked every call).
    """
    path = Path(path)
    size = _check_header(path)
    try:
        key = (str(path), size, path.stat().st_mtime_ns)
    except OSError:
        key = None
    with _INFO_LOCK:
        cached = _INFO_CACHE.get(key) if key else None
    if cached is not None:
        return cached
    info = _parse_info(path, size)
    if key is not None:
        with _INFO_LOCK:
            if len(_INFO_CACHE) >= _INFO_CACHE_MAX:
                _INFO_CACHE.pop(next(iter(_INFO_CACHE)))
            _INFO_CACHE[key] = info
    return info


def _parse_info(path: Path, size: int) -> GGUFInfo:
    from engine.gguf_header import HeaderError, read_header

    try:
        header = read_header(path)
    except (HeaderError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{path.name} is a damaged or truncated GGUF file ({reason[:120]})"
                             ) from None
    params = 0
    for tensor in header.tensors:
        end = tensor.data_offset + tensor.n_bytes
        if end > size:
            raise ModelFileError(f"{path.name} is truncated: tensor {tensor.name} ends at byte "
                                 f"{end:,} but the file has {size:,} bytes")
        params += tensor.n_elements
    fields = header.fields  # array values are their lengths (the vocabulary size, here)
    arch = fields.get("general.architecture")
    if not arch:
        raise ModelFileError(f"{path.name} has no general.architecture: not a usable GGUF model")
    template = fields.get("tokenizer.chat_template")
    ftype = fields.get("general.file_type")
    quant = None
    if ftype is not None:
        from gguf import LlamaFileType

        try:
            quant = LlamaFileType(int(ftype)).name.removeprefix("MOSTLY_")
        except ValueError:
            quant = f"type {ftype}"
    file_type = fields.get("general.type") or "model"
    alpha = fields.get("adapter.lora.alpha")

    def arch_int(key: str) -> int | None:
        value = fields.get(f"{arch}.{key}")
        return int(value) if isinstance(value, (int, float)) else None

    return GGUFInfo(
        path=str(path), size_bytes=size, file_type=str(file_type), architecture=str(arch),
        name=fields.get("general.name"),
        context_length=arch_int("context_length"), embedding_length=arch_int("embedding_length"),
        block_count=arch_int("block_count"), head_count=arch_int("attention.head_count"),
        head_count_kv=arch_int("attention.head_count_kv"),
        vocab_size=fields.get("tokenizer.ggml.tokens"),
        has_chat_template=bool(template), chat_template=template, quantization=quant,
        tensor_count=len(header.tensors), parameters=params,
        lora_alpha=float(alpha) if alpha is not None else None,
    )


def sha256_file(path: str | os.PathLike[str], cache_file: Path | None = None) -> str:
    """SHA-256 of a (possibly multi-GB) file, cached by (path, size, mtime) in ``cache_file``.

    Adapters record their base model's hash; hashing a 4 GB model on every start would cost
    seconds, so the result is remembered until the file changes.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    cache: dict[str, str] = {}
    if cache_file is not None and cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            return cache[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    if cache_file is not None:
        from engine.paths import atomic_write_text

        cache = {k: v for k, v in cache.items() if not k.startswith(f"{path}|")}
        cache[key] = value
        atomic_write_text(cache_file, json.dumps(cache, indent=1))
    return value
