"""Issue 15 ("Beyond one laptop") measurements: ``python benchmarks/bench_scale.py``.

Each section is a function that ``main()`` calls and that returns its numbers:

1. ``object_storage_search``: search p50 (embed the query + search, ``engine.retrieve.search``)
   on an index on object storage divided by the p50 on the local disk, for the *same* collection:
   it is indexed once on the disk, then its Lance tables and metadata are copied to a local
   S3-compatible server (moto, started here on a free loopback port). Target: <= 3x. Queries
   alternate between the two locations (and which one goes first each round), so load changes
   on the shared 2 cores hit both alike; the load average is printed with the section.

Why a local server: nothing else is reachable here, and it measures what the object-store path
adds (a request per table open and per data/index file read, instead of a file read) without a
network's latency; a real bucket adds the round trip to every one of those requests.
"""

from __future__ import annotations

import argparse
import os
import statistics
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

SECTIONS = ("object-storage", "ray")
QUERIES = ["ledger harbour turbine", "NX-0007-Q", "glacier ferry quota", "beacon archive",
           "lantern meridian saline", "NX-0021-Q", "compass ration drift", "anchor signal",
           "gravel cobalt orchard", "vessel summit tundra", "NX-0033-Q", "harbour beacon ferry"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"(load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores)"


def _upload_index(server: Any, bucket: str, prefix: str, folder: Path) -> int:
    """Copy every Lance table under ``folder`` to ``s3://bucket/prefix``; returns the files."""
    client = server.client()
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.relative_to(folder).parts[0].endswith(".lance"):
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder)}")
            count += 1
    return count


def object_storage_search(files: int = 60, words: int = 600, rounds: int = 30,
                          modes: tuple[str, ...] = ("hybrid", "vector", "text"),
                          work: Path | None = None) -> dict[str, Any]:
    """Search p50 on object storage vs the local disk, same collection, interleaved.

    Returns ``{mode: {"local_ms", "s3_ms", "ratio"}}`` plus the collection's size.
    """
    from engine import index, paths, storage, storage_meta
    from engine.indexer import index_paths
    from engine.retrieve import search
    from tests.helpers_corpus import write_text_files
    from tests.helpers_s3 import start_moto, stop_moto

    work = work or Path(tempfile.mkdtemp(prefix="satchel-bench-scale-"))
    paths.set_data_dir(work / "home")
    storage.reset()
    server = start_moto()
    try:
        folder = work / "corpus"
        write_text_files(folder, files, words, seed=11)
        local = storage.configure("")
        summary = index_paths([folder], "bench")
        meta = {m.name: m for m in index.list_collections()}["bench"]
        bucket = server.new_bucket("satchel-bench")
        uploaded = _upload_index(server, bucket, "library", Path(local.uri))
        remote = storage.configure(f"s3://{bucket}/library", server.options())
        from dataclasses import asdict

        storage_meta.update_meta(lambda raw: raw.__setitem__("bench", asdict(meta)))
        print(f"  {summary.chunks} chunks from {files} files; {uploaded} objects uploaded",
              flush=True)
        locations = {"local": local, "s3": remote}
        times: dict[tuple[str, str], list[float]] = {}
        for loc in locations.values():  # warm: connections, caches, the embedder
            storage.configure(loc.uri if loc.remote else "", loc.storage_options)
            for mode in modes:
                search(QUERIES[0], "bench", k=5, mode=mode)
        for r in range(rounds):
            query = QUERIES[r % len(QUERIES)]
            order = list(locations) if r % 2 == 0 else list(reversed(locations))
            for mode in modes:
                for where in order:
                    loc = locations[where]
                    storage.configure(loc.uri if loc.remote else "", loc.storage_options)
                    started = time.perf_counter()
                    hits = search(query, "bench", k=5, mode=mode)
                    times.setdefault((where, mode), []).append(time.perf_counter() - started)
                    if not hits:
                        raise RuntimeError(f"no hits for {query!r} ({where}, {mode})")
        result: dict[str, Any] = {"chunks": summary.chunks, "rounds": rounds}
        for mode in modes:
            local_ms = statistics.median(times[("local", mode)]) * 1000
            s3_ms = statistics.median(times[("s3", mode)]) * 1000
            result[mode] = {"local_ms": local_ms, "s3_ms": s3_ms, "ratio": s3_ms / local_ms}
        return result
    finally:
        stop_moto(server)
        storage.reset()
        paths.set_data_dir(None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable)")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved query rounds per "
                        "mode and location (default 30)")
    parser.add_argument("--files", type=int, default=60, help="files in the collection "
                        "(~4 chunks each; default 60)")
    args = parser.parse_args(argv)
    only = set(args.only or SECTIONS)
    with tempfile.TemporaryDirectory(prefix="satchel-bench-scale-") as tmp:
        if "object-storage" in only:
            print(f"1. search on object storage (moto) vs local disk {load()}", flush=True)
            res = object_storage_search(files=args.files, rounds=args.rounds, work=Path(tmp))
            for mode in ("hybrid", "vector", "text"):
                if mode in res:
                    m = res[mode]
                    verdict = "ok" if m["ratio"] <= 3.0 else "OVER TARGET"
                    print(f"  {mode:6s} p50 local {m['local_ms']:6.1f} ms   s3 {m['s3_ms']:6.1f} "
                          f"ms   ratio {m['ratio']:.2f}x (target <= 3x: {verdict})", flush=True)
        if "ray" in only:
            from benchmarks.scale_ray import ray_vs_local
            from tests.helpers_corpus import write_text_files

            print(f"2. Ray ingestion vs the single-process indexer {load()}", flush=True)
            folder = Path(tmp) / "ray-docs"
            write_text_files(folder, args.files * 4, 600, seed=12)  # enough for steady state
            res = ray_vs_local(folder, [1, 2])
            local = res["local"]
            print(f"  local         {local['chunks_per_s']:>8} chunks/s ({local['chunks']} chunks)")
            for count, run in res["ray"].items():
                print(f"  ray, {count} actor  {run['chunks_per_s']:>8} chunks/s   ratio "
                      f"{run['ratio_vs_local']}   steady ratio {run['steady_ratio_vs_local']}")
            print(f"  (Ray session start {res['ray_session_start_s']} s, not in the runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
