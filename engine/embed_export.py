"""Export a sentence-transformers folder to ONNX once, and choose int8 only where it keeps quality.

This is the only embedder code that imports torch, and it runs in a spawned child process
(:func:`engine.embed_onnx.ensure_exported`), so the process that answers questions never loads
torch: exporting costs ~15 s once per model (import torch, trace, quantize, check), answering
costs ~0.2 s to open the result.

The export keeps the model's own computation (``torch.onnx`` traces the transformer; pooling and
normalisation are done in numpy by :mod:`engine.embed_onnx`) and checks it: the fp32 graph must
agree with sentence-transformers itself (cosine >= 0.9999), or the export is refused. Then it
tries int8 dynamic quantisation (weights int8 per output channel, activations uint8 per batch).
Quantising every MatMul of MiniLM gave cosine 0.979 min / 0.988 mean to fp32 on real text;
leaving the feed-forward down-projections (``layer.N/output/dense``, whose GELU inputs carry the
outliers) in fp32 gave 0.992 / 0.996 at about 90% of the full-int8 speed. A candidate is kept
only when every validation text stays at cosine >= :data:`MIN_COSINE`; otherwise fp32 is used.
"""

from __future__ import annotations

import inspect
import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

#: Lowest cosine to sentence-transformers fp32 that any validation text may have under int8.
MIN_COSINE = 0.99
#: The fp32 graph must reproduce sentence-transformers this closely, or the export is wrong.
EXPORT_COSINE = 0.9999
OPSET = 17


def validation_texts(folder: Path) -> list[str]:
    """Real prose of several lengths, plus questions: the sample corpus's text files and the
    embedder's own README, cut into windows of 24-200 words, and the sample questions."""
    from engine.samples import CORPUS_DIR, QA_SET_PATH

    texts: list[str] = []
    sources = sorted(p for p in CORPUS_DIR.iterdir()
                     if p.suffix in {".md", ".rst", ".txt", ".csv", ".json", ".html"})
    sources += [p for p in (folder / "README.md",) if p.is_file()]
    for index, path in enumerate(sources):
        words = path.read_text(encoding="utf-8", errors="replace").split()
        size = (24, 60, 120, 200)[index % 4]
        texts += [" ".join(words[i:i + size]) for i in range(0, max(1, len(words) - 8), size * 2)]
    for line in QA_SET_PATH.read_text(encoding="utf-8").splitlines()[:40]:
        if line.strip():
            texts.append(json.loads(line)["question"])
    return [t for t in texts if t.strip()][:240]


def _quantize_candidates(model_path: Path) -> list[tuple[str, list[str]]]:
    """(label, MatMul nodes kept in fp32), most aggressive first."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    matmuls = [n.name for n in graph.node if n.op_type == "MatMul"]
    ffn_out = [n for n in matmuls if "/output/dense" in n and "attention" not in n]
    candidates = [("int8", [])]
    if ffn_out:
        candidates.append(("int8, feed-forward outputs fp32", ffn_out))
    return candidates


def export(folder: Path, dest: Path, layout: dict[str, Any]) -> dict[str, Any]:
    """Write ``model.onnx``, ``tokenizer.json`` and ``meta.json`` for ``folder`` into ``dest``.

    ``layout`` is :func:`engine.embed_onnx.read_layout`'s description (pooling, normalise,
    transformer sub-folder, sequence limit). Returns the metadata written.
    """
    import numpy as np
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from engine.embed_onnx import OnnxEncoder

    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice on pre-processing
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(1)
    dest.mkdir(parents=True, exist_ok=True)
    source = folder / layout["transformer"]
    model = transformers.AutoModel.from_pretrained(str(source), attn_implementation="eager",
                                                   local_files_only=True)
    model.eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("the tokenizer has no fast (tokenizers) version")
    tokenizer.backend_tokenizer.save(str(dest / "tokenizer.json"))
    accepted = set(inspect.signature(model.forward).parameters)
    inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]
    sample = tokenizer(["a short one", "and a somewhat longer second sentence to pad"],
                       padding=True, return_tensors="pt")
    args = tuple(sample[n] if n in sample else torch.zeros_like(sample["input_ids"])
                 for n in inputs)

    class Hidden(torch.nn.Module):
        """The transformer with positional inputs and the token states as its one output."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(inputs, tensors, strict=True))).last_hidden_state

    fp32 = dest / "fp32.onnx"
    axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "hidden"]}
    with torch.no_grad():
        torch.onnx.export(Hidden(model), args, str(fp32), input_names=inputs,
                          output_names=["hidden"], dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False)
    del model

    texts = validation_texts(folder)
    reference = SentenceTransformer(str(folder), device="cpu", local_files_only=True).encode(
        texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    meta: dict[str, Any] = {**layout, "inputs": inputs, "dim": int(reference.shape[1]),
                            "texts_checked": len(texts)}

    def cosines(path: Path) -> Any:
        encoder = OnnxEncoder(path, dest / "tokenizer.json", meta, threads=1)
        vectors = np.vstack([encoder.encode(text) for text in texts])  # as the backend runs
        return np.sum(vectors * reference, axis=1)

    exact = cosines(fp32)
    if float(exact.min()) < EXPORT_COSINE:
        raise ValueError(f"the ONNX graph does not reproduce the model (cosine {exact.min():.4f})")
    chosen, tried = fp32, []
    for label, keep in _quantize_candidates(fp32):
        candidate = dest / f"candidate-{len(tried)}.onnx"
        quantize_dynamic(str(fp32), str(candidate), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=keep, extra_options={"DefaultTensorType": 1})
        found = cosines(candidate)
        tried.append({"precision": label, "cosine_min": round(float(found.min()), 5),
                      "cosine_mean": round(float(found.mean()), 5)})
        if float(found.min()) >= MIN_COSINE:
            chosen = candidate
            meta.update(precision=label, cosine_min=tried[-1]["cosine_min"],
                        cosine_mean=tried[-1]["cosine_mean"])
            break
    else:
        meta.update(precision="fp32", cosine_min=round(float(exact.min()), 6),
                    cosine_mean=round(float(exact.mean()), 6))
    meta["tried"] = tried
    shutil.move(str(chosen), str(dest / "model.onnx"))
    for leftover in dest.glob("*.onnx"):
        if leftover.name != "model.onnx":
            leftover.unlink()
    (dest / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta
