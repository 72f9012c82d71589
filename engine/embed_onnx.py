"""The embedder on ONNX Runtime: the same sentence-transformers model, without torch.

Why: ``import sentence_transformers`` loads torch, transformers and scipy (~9 s, ~600 MB), and
the first question after launch waited for it. A sentence-transformers folder made of a
transformer, a pooling layer and optionally a normalisation is exported once to ONNX
(:mod:`engine.embed_export`, in a spawned child that alone imports torch), cached under the data
dir, and run here with ``tokenizers`` (Rust) and ``onnxruntime``: opening it takes ~0.2 s and
~60 MB. Pooling and normalisation are the few numpy lines below, exactly sentence-transformers'.

Folders with other modules (a Dense projection, a prompt, an unknown pooling) are reported as
:class:`Unsupported` and the caller keeps the torch path for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import paths

if TYPE_CHECKING:
    import numpy as np

#: Bump when the exported files or their meaning change: old caches are then re-exported.
FORMAT = 1
#: Longest an export may take (a large user model on a slow laptop); MiniLM takes ~20 s.
EXPORT_TIMEOUT_S = 900
#: Points the cache somewhere shared (the test suite, so each test does not export again).
ENV_CACHE = "SATCHEL_ONNX_CACHE"
_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
            "pooling_mode_max_tokens": "max", "pooling_mode_lasttoken": "lasttoken"}
#: The module classes (by their last name) that the ONNX path reproduces.
_KNOWN_MODULES = {"Transformer", "Pooling", "Normalize"}


class Unsupported(Exception):
    """This model cannot run on ONNX here (the message says why); use the torch path."""


def read_layout(folder: Path) -> dict[str, Any]:
    """What the export and the encoder need from a sentence-transformers folder's config files."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Unsupported(f"no readable modules.json in {folder}") from exc
    kinds = [m.get("type", "") for m in modules]
    if unknown := [k for k in kinds if not (k.startswith("sentence_transformers.")
                                            and k.rsplit(".", 1)[-1] in _KNOWN_MODULES)]:
        raise Unsupported(f"module {unknown[0]} has no ONNX path")
    transformer = next((m for m in modules if m["type"].endswith("Transformer")), None)
    pooling = next((m for m in modules if m["type"].endswith("Pooling")), None)
    if transformer is None or pooling is None:
        raise Unsupported("no transformer and pooling modules")
    config = json.loads((folder / pooling["path"] / "config.json").read_text(encoding="utf-8"))
    modes = [mode for key, mode in _POOLING.items() if config.get(key)]
    if len(modes) != 1:
        raise Unsupported(f"pooling {modes or 'none'} has no ONNX path")
    limit = 512
    bert = folder / transformer.get("path", "") / "sentence_bert_config.json"
    if not bert.is_file():
        bert = folder / "sentence_bert_config.json"
    if bert.is_file():
        limit = int(json.loads(bert.read_text(encoding="utf-8")).get("max_seq_length") or limit)
    st_config = folder / "config_sentence_transformers.json"
    if st_config.is_file():
        extra = json.loads(st_config.read_text(encoding="utf-8"))
        if extra.get("default_prompt_name") or any((extra.get("prompts") or {}).values()):
            raise Unsupported("models with prompts keep the sentence-transformers path")
    return {"format": FORMAT, "transformer": transformer.get("path", ""), "pooling": modes[0],
            "normalize": any(k.endswith("Normalize") for k in kinds), "max_seq_length": limit}


def cache_root() -> Path:
    """Where exported models live: ``$SATCHEL_ONNX_CACHE`` or the data dir's cache."""
    return paths.derived_cache("onnx", ENV_CACHE)


def cache_key(folder: Path) -> str:
    """Changes when the model's files, the export format or onnxruntime change."""
    import onnxruntime

    digest = hashlib.sha256(f"{FORMAT}|{onnxruntime.__version__}|{folder.resolve()}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"|{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"{folder.name[:40]}-{digest.hexdigest()[:16]}"


def cached_export(folder: Path) -> Path | None:
    """The finished export of ``folder`` in the cache, if there is one."""
    target = cache_root() / cache_key(folder)
    return target if (target / "meta.json").is_file() else None


def _export_child(folder: str, dest: str, layout: dict[str, Any], results: Any) -> None:
    """Spawned process: export, then report ``("ok", meta)`` or ``("error", message)``."""
    try:
        from engine.embed_export import export

        results.put(("ok", export(Path(folder), Path(dest), layout)))
    except Exception as exc:  # reported to the parent, which falls back to torch
        results.put(("error", f"{type(exc).__name__}: {exc}"))


_export_lock = threading.Lock()


def ensure_exported(folder: Path, cancelled: Callable[[], bool] | None = None) -> Path:
    """The cached export of ``folder``, made now in a child process when missing.

    Several processes may export at once (the window's warm-up and a CLI run): each writes a
    private temporary folder and renames it into place; whoever renames second discards its copy.
    A failed export is remembered (``failed.json`` beside it) so it is not retried on every use.
    Raises :class:`Unsupported` when the model has no ONNX path here, and
    :class:`engine.jobs.Cancelled` when ``cancelled()`` turns true while it waits: the export is
    stopped and made again on the next use (a window closed during a first run's ~20 s export
    waited for it to end before).
    """
    import multiprocessing
    import queue

    layout = read_layout(folder)
    root = cache_root()
    target = root / cache_key(folder)
    with _export_lock:
        if (target / "meta.json").is_file():
            return target
        failed = target.with_name(target.name + ".failed.json")
        if failed.is_file():
            raise Unsupported(json.loads(failed.read_text(encoding="utf-8"))["error"])
        root.mkdir(parents=True, exist_ok=True)
        work = root / f".{target.name}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(work, ignore_errors=True)
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        child = ctx.Process(target=_export_child, args=(str(folder), str(work), layout, results),
                            name="satchel-onnx-export", daemon=True)
        child.start()
        status, payload = _wait(child, results, queue.Empty, cancelled or (lambda: False))
        child.join(0 if status == "cancelled" else 30)
        if child.is_alive():
            child.kill()
            child.join(5)
        if status != "ok":
            shutil.rmtree(work, ignore_errors=True)
            if status == "cancelled":
                from engine.jobs import Cancelled

                raise Cancelled()
            if status == "error":  # the model itself failed: do not try it again
                paths.atomic_write_text(failed, json.dumps({"error": str(payload)}))
            raise Unsupported(str(payload))
        try:
            os.rename(work, target)
        except OSError:  # another process finished first: its copy is as good as ours
            shutil.rmtree(work, ignore_errors=True)
        return target


def _wait(child: Any, results: Any, empty: type[Exception],
          cancelled: Callable[[], bool]) -> tuple[str, Any]:
    """The child's report; ``("died", reason)`` as soon as it exits without one (killed, out of
    memory) or after :data:`EXPORT_TIMEOUT_S`, instead of waiting out the timeout for a
    report that will never come; ``("cancelled", "")`` within 0.2 s of ``cancelled()``. A death
    is not remembered as a failure: the next use retries."""
    import time

    deadline = time.monotonic() + EXPORT_TIMEOUT_S
    while time.monotonic() < deadline:
        if cancelled():
            return "cancelled", ""
        try:
            return results.get(timeout=0.2)
        except empty:
            if not child.is_alive():
                try:  # it may have reported just before exiting
                    return results.get(timeout=1.0)
                except empty:
                    return "died", f"the ONNX export process died (exit code {child.exitcode})"
    return "died", f"the ONNX export took longer than {EXPORT_TIMEOUT_S // 60} minutes"


def load_meta(export_dir: Path) -> dict[str, Any]:
    return json.loads((export_dir / "meta.json").read_text(encoding="utf-8"))


class OnnxEncoder:
    """Tokenize, run the graph, pool, normalise: sentence-transformers' ``encode`` in numpy.

    ``threads`` is onnxruntime's intra-op pool for this session. Spinning is off: idle pool
    threads would otherwise busy-wait and take a core from llama.cpp between batches.
    """

    def __init__(self, model: Path, tokenizer: Path, meta: dict[str, Any], *,
                 threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.meta = meta
        self.inputs: list[str] = list(meta["inputs"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(meta["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model), options,
                                            providers=["CPUExecutionProvider"])

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens each text occupies (special tokens included, after truncation)."""
        return [len(self.tokenizer.encode(t).ids) for t in texts]

    def encode(self, text: str) -> np.ndarray:
        """One normalised float32 vector: a forward pass of this text alone (no padding; see
        :meth:`OnnxBackend.forward` for why texts are never batched)."""
        import numpy as np

        ids = np.array([self.tokenizer.encode(text).ids], dtype=np.int64)
        mask = np.ones_like(ids)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {n: feeds[n] for n in self.inputs})[0]
        vector = pool(hidden, mask, self.meta["pooling"])[0]
        if self.meta.get("normalize"):
            vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return vector.astype(np.float32, copy=False)


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' pooling modes over token states ``(batch, tokens, dim)``."""
    import numpy as np

    weights = mask[..., None].astype(hidden.dtype)
    if mode == "mean":
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return np.where(weights > 0, hidden, -1e9).max(axis=1)
    if mode == "lasttoken":
        last = mask.sum(axis=1) - 1
        return hidden[np.arange(hidden.shape[0]), last]
    raise Unsupported(f"pooling {mode}")


class OnnxBackend:
    """The exported model behind one-thread sessions: one for queries (a few tokens; a second
    thread would only wait when another process holds a core), and for a batch as many as
    ``threads``, each encoding its share of the texts in a thread of its own (onnxruntime
    releases the GIL). Texts split across sessions beat one session with a two-thread pool:
    75-86 against 42-59 chunks/s on 2 cores (real ~150-token chunks). The extra sessions are
    opened on the first batch, so a process that only answers never pays for them.
    """

    name = "onnx"
    #: One text per forward pass (see :meth:`forward`): the caller need not group texts.
    batches = False

    def __init__(self, folder: Path, threads: int,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.export_dir = ensure_exported(folder, cancelled)
        self.meta = load_meta(self.export_dir)
        self.dim = int(self.meta["dim"])
        self.max_seq_length = int(self.meta["max_seq_length"])
        self.precision = str(self.meta.get("precision", "fp32"))
        self._threads = max(1, threads)
        self._sessions = [self._open()]

    def _open(self) -> OnnxEncoder:
        return OnnxEncoder(self.export_dir / "model.onnx", self.export_dir / "tokenizer.json",
                           self.meta, threads=1)

    def set_threads(self, threads: int) -> None:
        self._threads = max(1, threads)
        del self._sessions[self._threads:]

    def forward(self, texts: list[str]) -> np.ndarray:
        """One forward pass per text. int8 activations are quantised per tensor, so in a batch a
        text's vector would depend on its neighbours (cosine 0.995 alone vs in a batch) and an
        index would depend on how its chunks were grouped; one at a time it is exact and, with
        no padding, faster too: 23-25 against 18-19 chunks/s (~220-token chunks, 2 threads)."""
        import numpy as np

        workers = min(self._threads, len(texts))
        while len(self._sessions) < workers:
            self._sessions.append(self._open())
        if workers <= 1:
            return np.vstack([self._sessions[0].encode(t) for t in texts])
        from concurrent.futures import ThreadPoolExecutor

        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def share(worker: int) -> None:
            session = self._sessions[worker]
            for i in range(worker, len(texts), workers):
                out[i] = session.encode(texts[i])

        with ThreadPoolExecutor(workers, thread_name_prefix="satchel-embed") as pool:
            list(pool.map(share, range(workers)))
        return out

    def forward_one(self, text: str) -> np.ndarray:
        return self._sessions[0].encode(text)[None, :]

    def token_lengths(self, texts: list[str]) -> list[int]:
        return self._sessions[0].token_lengths(texts)
