"""The embedder: sentence-transformers, loaded lazily, one instance per model folder, batched.

Why a wrapper: importing sentence_transformers costs ~9 s (torch, transformers, scipy), so it
happens on first use, never at start-up; one loaded copy is shared by the indexer and the
retriever behind a lock; vectors are L2-normalised float32 so cosine similarity is a dot product
and LanceDB's distances are comparable across queries.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.model_files import resolve_embedder

if TYPE_CHECKING:
    import numpy as np

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
        self._eval_set = False
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

    def encode(self, texts: list[str], batch_size: int = 32, *,
               token_counts: list[int] | None = None) -> np.ndarray:
        """Normalised float32 vectors, one row per text (an empty list gives shape (0, dim)).

        ``batch_size`` scales the token budget per forward pass (32 gives :data:`TOKEN_BUDGET`).
        ``token_counts`` (one per text, approximate is fine) saves tokenizing the texts once more
        to batch them: the indexer passes the counts its chunker measured.
        """
        import numpy as np

        with self._lock:
            model = self._load()
            if len(texts) <= 1:
                if not texts:
                    return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
                with _single_thread():
                    return self._forward_one(model, texts[0])
            budget = max(1, batch_size) * TOKEN_BUDGET // 32
            if token_counts is not None and len(token_counts) == len(texts):
                lengths = [max(1, int(n)) for n in token_counts]
            else:
                lengths = _token_lengths(model, texts)
            order = sorted(range(len(texts)), key=lambda i: -lengths[i])  # stable: deterministic
            out: np.ndarray | None = None
            start = 0
            while start < len(order):
                size = max(1, min(MAX_BATCH, budget // max(1, lengths[order[start]])))
                part = order[start:start + size]
                vectors = self._forward(model, [texts[i] for i in part])
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[part] = vectors
                start += size
        assert out is not None
        return out

    def _forward_one(self, model, text: str) -> np.ndarray:
        """One text (a query) straight through the modules: ``encode``'s per-call bookkeeping
        (``eval()`` over every module, device lookups, sorting) is ~10% of a query's time on
        one thread. Models with a default prompt take the full ``encode`` path, which adds it."""
        import numpy as np
        import torch

        if getattr(model, "default_prompt_name", None):
            return self._forward(model, [text])
        if not self._eval_set:
            model.eval()
            self._eval_set = True
        with torch.inference_mode():
            features = model.preprocess([text])
            vector = model(features)["sentence_embedding"]
            vector = torch.nn.functional.normalize(vector, p=2, dim=1)
        return vector.cpu().numpy().astype(np.float32, copy=False)

    @staticmethod
    def _forward(model, texts: list[str]) -> np.ndarray:
        import numpy as np

        vectors = model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens each text takes in the model (after truncation), e.g. for API usage."""
        with self._lock:
            return _token_lengths(self._load(), texts)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector."""
        return self.encode([text])[0]


_threads_lock = threading.Lock()


@contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for this block (one query: a few tokens).

    Splitting a 10-token forward pass over two threads gains nothing on an idle machine, and when
    another process holds a core (a training run, the LLM, a browser) every parallel section waits
    for the descheduled thread: measured 13 ms on one thread against 60-380 ms on two under load.
    torch's thread count is per calling thread (OpenMP) and the default for new threads, so it is
    set and restored in the same thread, under a lock.
    """
    import torch

    with _threads_lock:
        before = torch.get_num_threads()
        if before == 1:
            yield
            return
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _token_lengths(model, texts: list[str]) -> list[int]:
    """Tokens each text will occupy in the model (special tokens included, after truncation)."""
    limit = int(model.max_seq_length or 512)
    try:
        ids = model.tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]
        return [len(i) for i in ids]
    except Exception:  # an unusual tokenizer: characters are sentence-transformers' own proxy
        return [min(limit, len(t) // 4 + 2) for t in texts]


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


def release_embedders() -> None:
    """Drop the cached embedders (a training run wants their memory; the next use reloads)."""
    with _cache_lock:
        _cache.clear()
