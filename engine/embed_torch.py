"""The sentence-transformers (torch) path of the embedder: models the ONNX path cannot run.

Why it stays: a user's sentence-transformers folder may hold modules the ONNX export does not
reproduce (a Dense projection, prompts), and ``SATCHEL_EMBED_BACKEND=torch`` keeps the reference
the ONNX vectors are checked against. Importing it costs ~9 s (torch, transformers, scipy), so it
happens only when such a model is used.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class TorchBackend:
    """A loaded ``SentenceTransformer``; callers serialise access (the Embedder's lock)."""

    name = "torch"
    #: Texts of similar length share a forward pass (the caller groups them by a token budget).
    batches = True

    def __init__(self, folder: Path, threads: int) -> None:
        import torch
        import tqdm
        import transformers
        from sentence_transformers import SentenceTransformer

        tqdm.tqdm.monitor_interval = 0  # no stray monitor thread from library progress bars
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dim = int(self.model.get_embedding_dimension())
        self.max_seq_length = int(self.model.max_seq_length or 512)
        self._eval_set = False

    def set_threads(self, threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))

    def forward(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        vectors = self.model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def forward_one(self, text: str) -> np.ndarray:
        """One text (a query) straight through the modules on one thread: ``encode``'s per-call
        bookkeeping is ~10% of a query's time. Models with a default prompt take ``encode``."""
        import numpy as np
        import torch

        model = self.model
        if getattr(model, "default_prompt_name", None):
            return self.forward([text])
        if not self._eval_set:
            model.eval()
            self._eval_set = True
        with _single_thread(), torch.inference_mode():
            features = model.preprocess([text])
            vector = model(features)["sentence_embedding"]
            vector = torch.nn.functional.normalize(vector, p=2, dim=1)
        return vector.cpu().numpy().astype(np.float32, copy=False)

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens each text will occupy (special tokens included, after truncation)."""
        try:
            ids = self.model.tokenizer(list(texts), truncation=True,
                                       max_length=self.max_seq_length)["input_ids"]
            return [len(i) for i in ids]
        except Exception:  # an unusual tokenizer: characters are sentence-transformers' own proxy
            return [min(self.max_seq_length, len(t) // 4 + 2) for t in texts]


_threads_lock = threading.Lock()


@contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for this block (one query: a few tokens).

    Splitting a 10-token forward pass over two threads gains nothing on an idle machine, and when
    another process holds a core every parallel section waits for the descheduled thread:
    measured 13 ms on one thread against 60-380 ms on two under load. torch's thread count is per
    calling thread (OpenMP), so it is set and restored in the same thread, under a lock.
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
