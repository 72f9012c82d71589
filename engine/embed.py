"""The embedder: sentence-transformers, loaded lazily, one instance per model folder, batched.

Why a wrapper: importing sentence_transformers costs ~9 s (torch, transformers, scipy), so it
happens on first use, never at start-up; one loaded copy is shared by the indexer and the
retriever behind a lock; vectors are L2-normalised float32 so cosine similarity is a dot product
and LanceDB's distances are comparable across queries.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.store import resolve_embedder

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class EmbedderInfo:
    """What a collection records about the model that embedded it."""

    name: str
    path: str
    dim: int
    max_tokens: int  # content tokens a chunk may have without being truncated


def physical_cores() -> int:
    """Cores to give torch: logical CPUs (psutil's physical count when available)."""
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except ImportError:
        return max(1, os.cpu_count() or 1)


class Embedder:
    """A sentence-transformers model; ``encode`` is thread-safe (one batch at a time)."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            import torch
            import tqdm
            import transformers
            from sentence_transformers import SentenceTransformer

            tqdm.tqdm.monitor_interval = 0  # no stray monitor thread from library progress bars
            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()

            torch.set_num_threads(physical_cores())
            self._model = SentenceTransformer(str(self.folder), device="cpu",
                                              local_files_only=True)
        return self._model

    @property
    def info(self) -> EmbedderInfo:
        with self._lock:
            model = self._load()
            dim = int(model.get_embedding_dimension())
            max_tokens = int(model.max_seq_length) - 2
        return EmbedderInfo(self.name, str(self.folder), dim, max_tokens)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Normalised float32 vectors, one row per text (an empty list gives shape (0, dim))."""
        import numpy as np

        with self._lock:
            model = self._load()
            if not texts:
                return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
            vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector."""
        return self.encode([text])[0]


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(name_or_path: str | None = None) -> Embedder:
    """The shared embedder for a configured name/folder (None: the bundled MiniLM)."""
    name, folder = resolve_embedder(name_or_path)
    key = str(folder)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = Embedder(name, folder)
        return _cache[key]
