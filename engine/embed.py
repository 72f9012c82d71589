"""The embedder: one instance per model folder, loaded lazily, batched, on ONNX Runtime.

Why a wrapper: the model runs on ONNX Runtime (:mod:`engine.embed_onnx`, exported once per model
and cached), so answering a question never imports torch; a folder the export cannot reproduce
falls back to sentence-transformers (:mod:`engine.embed_torch`). One loaded copy is shared by the
indexer and the retriever behind a lock; vectors are L2-normalised float32 so cosine similarity
is a dot product and LanceDB's distances are comparable across queries.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.model_files import resolve_embedder

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: ``onnx``, ``torch`` or ``auto`` (ONNX when the model has an ONNX path, else torch).
ENV_BACKEND = "SATCHEL_EMBED_BACKEND"
BACKENDS = ("auto", "onnx", "torch")
#: Padded tokens per forward pass (texts per pass x longest text in it). Batching by a token
#: budget over texts sorted by their exact token count, instead of a fixed count sorted by
#: characters (what ``SentenceTransformer.encode`` does), leaves almost no padding and keeps every
#: pass large enough for the CPU's matrix kernels: short chunks go many to a pass, long ones fewer.
#: Measured on 2 cores: 4096 beat 1024, 2048 and 8192, and beat plain ``encode(batch_size=32)``.
TOKEN_BUDGET = 4096
#: Texts per pass at most, however short they are.
MAX_BATCH = 256


@dataclass(frozen=True)
class EmbedderInfo:
    """What a collection records about the model that embedded it."""

    name: str
    path: str
    dim: int
    max_tokens: int  # content tokens a chunk may have without being truncated


def physical_cores() -> int:
    """Threads for batches: physical cores (psutil's count when available), else logical CPUs."""
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except ImportError:
        return max(1, os.cpu_count() or 1)


class Embedder:
    """A sentence-transformers model; ``encode`` is thread-safe (one batch at a time).

    ``backend`` is ``auto`` (ONNX when the model has an ONNX path, else torch), ``onnx`` (ONNX or
    an error) or ``torch``; ``None`` reads ``$SATCHEL_EMBED_BACKEND``.
    """

    def __init__(self, name: str, folder: Path, backend: str | None = None) -> None:
        self.name = name
        self.folder = folder
        self.backend_choice = backend or os.environ.get(ENV_BACKEND, "auto")
        if self.backend_choice not in BACKENDS:
            raise ValueError(f"embedder backend must be one of {', '.join(BACKENDS)}")
        self._backend: Any = None
        self._threads = physical_cores()
        self._lock = threading.Lock()

    def _load(self, cancelled: Callable[[], bool] | None = None) -> Any:
        if self._backend is None:
            if self.backend_choice != "torch":
                from engine.embed_onnx import OnnxBackend, Unsupported

                try:
                    self._backend = OnnxBackend(self.folder, self._threads, cancelled)
                except (Unsupported, ImportError) as exc:  # ImportError: a build without ORT
                    if self.backend_choice == "onnx":
                        raise
                    log.warning("embedder %s runs on torch: %s", self.name, exc)
            if self._backend is None:
                from engine.embed_torch import TorchBackend

                self._backend = TorchBackend(self.folder, self._threads)
        return self._backend

    def load(self, cancelled: Callable[[], bool] | None = None) -> str:
        """Load now (a warm-up); returns the backend's name, ``onnx`` or ``torch``. A first use's
        export raises :class:`engine.jobs.Cancelled` once ``cancelled()`` is true."""
        with self._lock:
            return self._load(cancelled).name

    def ready(self) -> bool:
        """Whether loading is quick: loaded already, or its ONNX export is cached (the first
        use of a model exports it, ~20 s, which a progress display should announce)."""
        if self._backend is not None or self.backend_choice == "torch":
            return True
        from engine.embed_onnx import Unsupported, cached_export, read_layout

        try:
            read_layout(self.folder)
        except Unsupported:
            return True  # the torch path: no export to wait for
        return cached_export(self.folder) is not None

    def set_threads(self, threads: int) -> None:
        """Threads for batch encoding from now on (a Ray actor gets its share of the cores)."""
        with self._lock:
            self._threads = max(1, threads)
            if self._backend is not None:
                self._backend.set_threads(self._threads)

    @property
    def info(self) -> EmbedderInfo:
        with self._lock:
            backend = self._load()
            dim, max_tokens = backend.dim, backend.max_seq_length - 2
        return EmbedderInfo(self.name, str(self.folder), dim, max_tokens)

    def encode(self, texts: list[str], batch_size: int = 32, *,
               token_counts: list[int] | None = None) -> np.ndarray:
        """Normalised float32 vectors, one row per text (an empty list gives shape (0, dim)).

        ``batch_size`` scales the token budget per forward pass (32 gives :data:`TOKEN_BUDGET`).
        ``token_counts`` (one per text, approximate is fine) saves tokenizing the texts once more
        to batch them: the indexer passes the counts its chunker measured.
        """
        import numpy as np

        with self._lock:
            backend = self._load()
            if len(texts) <= 1:
                if not texts:
                    return np.zeros((0, backend.dim), dtype=np.float32)
                return backend.forward_one(texts[0])
            if not backend.batches:
                return backend.forward(texts)
            budget = max(1, batch_size) * TOKEN_BUDGET // 32
            if token_counts is not None and len(token_counts) == len(texts):
                lengths = [max(1, int(n)) for n in token_counts]
            else:
                lengths = backend.token_lengths(texts)
            order = sorted(range(len(texts)), key=lambda i: -lengths[i])  # stable: deterministic
            out = np.empty((len(texts), backend.dim), dtype=np.float32)
            start = 0
            while start < len(order):
                size = max(1, min(MAX_BATCH, budget // max(1, lengths[order[start]])))
                part = order[start:start + size]
                out[part] = backend.forward([texts[i] for i in part])
                start += size
        return out

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens each text takes in the model (after truncation), e.g. for API usage."""
        with self._lock:
            return self._load().token_lengths(texts)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector."""
        return self.encode([text])[0]


_cache: dict[tuple[str, str], Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(name_or_path: str | None = None, backend: str | None = None) -> Embedder:
    """The shared embedder for a configured name/folder (None: the bundled MiniLM)."""
    name, folder = resolve_embedder(name_or_path)
    key = (str(folder), backend or os.environ.get(ENV_BACKEND, "auto"))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = Embedder(name, folder, key[1])
        return _cache[key]


def release_embedders() -> None:
    """Drop the cached embedders (a training run wants their memory; the next use reloads)."""
    with _cache_lock:
        _cache.clear()
