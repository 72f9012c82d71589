"""Ray ingestion against the single-process indexer: ``python benchmarks/scale_ray.py [FOLDER]``.

:func:`ray_vs_local` indexes the same folder into fresh data dirs: once with
``engine.indexer.index_paths`` (the embedder loaded beforehand, as the desktop app has it warm),
then with ``engine.scale.ray_ingest.index_paths_ray`` for each embedding-actor count, all runs on
one local Ray session started beforehand. Two rates per run, because they answer different
questions:

- ``chunks_per_s``: chunks over the whole run (scan to optimized index). For Ray this includes
  the actors loading their model, which a small folder never earns back.
- ``steady_chunks_per_s``: chunks committed between the first and the last commit, over that
  time: the throughput a large folder converges to (None with fewer than two commits; the
  folder is too small to tell).

``ratio_vs_local`` divides each Ray rate by the local one. The machine is shared: run it on a
small folder, once, unless you own the cores (the lead calls it from ``bench_scale.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import netguard  # noqa: E402

netguard.install()


class _Rates:
    """Job listener: (elapsed, chunks) at every commit, for the steady-state rate."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def __call__(self, state: Any) -> None:
        chunks = state.metrics.get("chunks")
        if chunks is not None and (not self.points or chunks > self.points[-1][1]):
            self.points.append((state.elapsed_s, float(chunks)))

    def steady(self) -> float | None:
        if len(self.points) < 2 or self.points[-1][0] <= self.points[0][0]:
            return None
        (t0, c0), (t1, c1) = self.points[0], self.points[-1]
        return round((c1 - c0) / (t1 - t0), 2)


def _timed(run: Any, folder: Path) -> dict[str, Any]:
    """One indexing run into a fresh, temporary data dir."""
    from engine import paths
    from engine.jobs import Job

    home = Path(tempfile.mkdtemp(prefix="satchel-bench-"))
    rates = _Rates()
    paths.set_data_dir(home)
    try:
        started = time.monotonic()
        summary = run(folder, Job(rates))
        seconds = time.monotonic() - started
    finally:
        paths.set_data_dir(None)
        shutil.rmtree(home, ignore_errors=True)
    return {"seconds": round(seconds, 2), "files": summary.files_indexed,
            "chunks": summary.chunks, "chunks_per_s": round(summary.chunks / seconds, 2),
            "steady_chunks_per_s": rates.steady()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def ray_vs_local(folder: str | os.PathLike[str], workers: list[int]) -> dict[str, Any]:
    """Chunks/s of Ray ingestion with each count in ``workers`` embedding actors, against the
    single-process indexer, on ``folder`` (see the module docstring for the two rates)."""
    from engine.embed import get_embedder
    from engine.indexer import index_paths
    from engine.scale.cluster import ray_session
    from engine.scale.ray_ingest import RayOptions, index_paths_ray

    folder = Path(folder).resolve()
    get_embedder().info  # noqa: B018 - warm, as the desktop app's embedder is
    local = _timed(lambda f, job: index_paths([f], job=job), folder)
    result: dict[str, Any] = {"folder": str(folder), "cpus": os.cpu_count(), "local": local,
                              "ray": {}}
    started = time.monotonic()
    with ray_session() as ray:
        result["ray_session_start_s"] = round(time.monotonic() - started, 2)
        result["ray_cpus"] = ray.cluster_resources().get("CPU")
        for count in workers:
            run = _timed(lambda f, job, n=count: index_paths_ray(
                [f], job=job, options=RayOptions(workers=n)), folder)
            run["ratio_vs_local"] = _ratio(run["chunks_per_s"], local["chunks_per_s"])
            run["steady_ratio_vs_local"] = _ratio(run["steady_chunks_per_s"],
                                                  local["steady_chunks_per_s"])
            result["ray"][count] = run
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="folder to index (default: the sample corpus)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="embedding-actor counts to try (default: 1 2)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    from engine.samples import CORPUS_DIR

    result = ray_vs_local(args.folder or CORPUS_DIR, args.workers)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    local = result["local"]
    print(f"{result['folder']}: {local['files']} files, {local['chunks']} chunks, "
          f"{result['cpus']} CPUs; Ray session start {result['ray_session_start_s']} s")
    print(f"{'engine':<16}{'seconds':>9}{'chunks/s':>10}{'steady/s':>10}{'ratio':>8}"
          f"{'steady ratio':>14}")
    print(f"{'local':<16}{local['seconds']:>9}{local['chunks_per_s']:>10}"
          f"{local['steady_chunks_per_s'] or '-':>10}{'1.0':>8}{'1.0':>14}")
    for count, run in result["ray"].items():
        print(f"{f'ray, {count} actor(s)':<16}{run['seconds']:>9}{run['chunks_per_s']:>10}"
              f"{run['steady_chunks_per_s'] or '-':>10}{run['ratio_vs_local'] or '-':>8}"
              f"{run['steady_ratio_vs_local'] or '-':>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
