"""Issue 16's embedder figures: ``python -m benchmarks.bench_embed [--chunks N] [--rounds R]``.

The ONNX Runtime embedder (what Satchel runs now) against sentence-transformers fp32 on torch
(what it ran before), on the *same* real chunks: the development set's pages (Debian's SQLite
documentation, ``benchmarks/realdocs``) cut by Satchel's own loaders and chunker. Each backend
runs in a fresh process of its own, one after the other, so each pays its own imports and its
RSS is its own:

- load: import + model open + the first query vector (what the first question pays);
- chunks/s: ``Embedder.encode`` over every chunk, median of ``--rounds``; target ratio >= 1.3;
- query p50: one short question at a time, as retrieval embeds it;
- RSS after all of that;
- agreement: cosine of each chunk's two vectors (min / mean; the export keeps int8 only when
  every validation text stays >= 0.99), and whether each ONNX vector's nearest torch vector is
  its own chunk's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.3
QUERIES = ["What does the AUTOINCREMENT keyword do?", "maximum number of columns",
           "How do I attach another database file?", "json_extract path syntax",
           "Which pragma turns on foreign key enforcement?", "write-ahead log checkpoint"]


def real_chunks(limit: int) -> list[str]:
    """Chunks of the development set's pages, exactly as the indexer cuts them."""
    from benchmarks.realdocs.build import DEFAULT_OUT, build
    from engine.ingest.chunker import chunk_document
    from engine.ingest.loaders import load
    from engine.ingest.tokens import load_tokenizer
    from engine.model_files import resolve_embedder

    folder = DEFAULT_OUT / "dev"
    if not folder.is_dir() or not any(folder.iterdir()):
        build(DEFAULT_OUT)
    counter = load_tokenizer(resolve_embedder(None)[1])
    texts: list[str] = []
    for path in sorted(folder.iterdir()):
        texts += [c.text for c in chunk_document(load(path), counter)]
    return texts[:limit]


def worker(backend: str, chunks_file: str, out_file: str, rounds: int) -> None:
    """One backend in this process: load, throughput, query latency, RSS; vectors to a file."""
    import numpy as np
    import psutil

    texts = json.loads(Path(chunks_file).read_text(encoding="utf-8"))
    started = time.perf_counter()
    from engine.embed import get_embedder

    embedder = get_embedder(None, backend)
    embedder.encode_query("warm up the model")
    load_s = time.perf_counter() - started
    rates, vectors = [], None
    for _ in range(rounds):
        began = time.perf_counter()
        vectors = embedder.encode(texts)
        rates.append(len(texts) / (time.perf_counter() - began))
    query_ms = []
    for _ in range(5):
        for query in QUERIES:
            began = time.perf_counter()
            embedder.encode_query(query)
            query_ms.append((time.perf_counter() - began) * 1000)
    np.save(out_file, vectors)
    result = {"backend": embedder.load(), "load_s": load_s, "rates": rates,
              "query_p50_ms": statistics.median(query_ms),
              "rss_mb": psutil.Process().memory_info().rss / 2**20,
              "torch_loaded": "torch" in sys.modules}
    print("RESULT " + json.dumps(result), flush=True)


def run_backend(backend: str, chunks_file: Path, work: Path, rounds: int) -> dict:
    out = work / f"{backend}.npy"
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_embed", "--worker", backend,
                           "--chunks-file", str(chunks_file), "--out", str(out),
                           "--rounds", str(rounds)], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"{backend} run failed:\n{done.stderr[-3000:]}")
    return {**json.loads(line[len("RESULT "):]), "vectors": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["onnx", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--chunks-file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from engine import netguard

    netguard.install()
    if args.worker:
        worker(args.worker, args.chunks_file, args.out, args.rounds)
        return 0
    import numpy as np

    from engine.embed_onnx import ensure_exported, load_meta
    from engine.model_files import resolve_embedder

    texts = real_chunks(args.chunks)
    meta = load_meta(ensure_exported(resolve_embedder(None)[1]))  # exported once, not timed
    one, five, _ = os.getloadavg()
    print(f"embedder on {len(texts)} real chunks (dev set pages), {args.rounds} rounds "
          f"(load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores)")
    print(f"  ONNX export: {meta['precision']}, cosine to fp32 on its check texts "
          f"min {meta['cosine_min']:.4f} mean {meta['cosine_mean']:.4f}")
    with tempfile.TemporaryDirectory(prefix="satchel-bench-embed-") as tmp:
        work = Path(tmp)
        chunks_file = work / "chunks.json"
        chunks_file.write_text(json.dumps(texts), encoding="utf-8")
        results = {b: run_backend(b, chunks_file, work, args.rounds) for b in ("onnx", "torch")}
        a, b = (np.load(results[k]["vectors"]) for k in ("onnx", "torch"))
    for name, r in results.items():
        rounds = ", ".join(f"{x:.1f}" for x in r["rates"])
        print(f"  {name:5} ({r['backend']}): load {r['load_s']:.2f} s, "
              f"{statistics.median(r['rates']):.1f} chunks/s ({rounds}), "
              f"query p50 {r['query_p50_ms']:.1f} ms, RSS {r['rss_mb']:.0f} MB, "
              f"torch loaded: {r['torch_loaded']}")
    onnx, torch_ = results["onnx"], results["torch"]
    ratio = statistics.median(onnx["rates"]) / statistics.median(torch_["rates"])
    cosines = np.sum(a * b, axis=1)
    same = float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(a))))
    print(f"  throughput ONNX / sentence-transformers: {ratio:.2f}x "
          f"(target >= {TARGET_RATIO}: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'})")
    print(f"  cosine ONNX vs torch on these chunks: min {cosines.min():.4f} "
          f"mean {cosines.mean():.4f}; nearest torch vector is its own chunk's: {same:.1%}")
    print(f"  load ratio torch / ONNX: {torch_['load_s'] / onnx['load_s']:.1f}x, "
          f"RSS {torch_['rss_mb']:.0f} -> {onnx['rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
