"""``satchel index``, ``satchel search``, ``satchel collections``: the library half of the CLI.

Output follows DESIGN.md's contract: ``--json`` prints exactly the documented objects; without it,
humans get a progress bar, a short summary and one line per failed file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli import print_json
from engine.places import source_line


def add_index(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="index files and folders into a collection",
                       description="Index files and folders (incremental: unchanged files are "
                       "skipped, changed files replaced, deleted files removed). Without PATH, "
                       "the collection is indexed again from every file and folder it was built "
                       "from.")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--collection", default=None, help="collection name (default: from settings)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--retry-failed", action="store_true",
                   help="parse again files that failed before even if they did not change")
    p.add_argument("--watch", action="store_true",
                   help="after indexing, keep watching the folders and re-index on changes")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process (default); ray: parse and embed on a Ray cluster "
                   "for bulk ingestion (needs the scale extra: pip install 'satchel[scale]')")
    p.add_argument("--ray-address", metavar="ADDRESS", default=None,
                   help="with --engine ray: the cluster to connect to (default: $RAY_ADDRESS, "
                   "else a local Ray on this machine's CPUs)")
    p.add_argument("--ray-workers", metavar="N", type=int, default=None,
                   help="with --engine ray: embedding actors, one model each (default: half "
                   "the cluster's CPUs)")
    p.set_defaults(handler=run_index)


def _check_engine(args: argparse.Namespace) -> None:
    """Refuse ``--engine ray`` options that cannot work, before any indexing starts."""
    from engine.errors import SatchelError

    if args.engine != "ray":
        if args.ray_address or args.ray_workers is not None:
            raise SatchelError("--ray-address and --ray-workers need --engine ray")
        return
    if args.watch:
        raise SatchelError("--watch works with --engine local only (Ray is for bulk runs)")
    if args.ray_workers is not None and args.ray_workers < 1:
        raise SatchelError(f"--ray-workers must be 1 or more, not {args.ray_workers}")
    from engine.scale.cluster import require_ray

    require_ray()


def _index_once(args: argparse.Namespace, collection: str) -> int:
    from cli.progress import run_with_progress
    from engine.indexer import index_paths
    from engine.ingest.document import display_path

    def task(job):
        if args.engine == "ray":
            from engine.scale.ray_ingest import RayOptions, index_paths_ray

            return index_paths_ray(args.paths, collection, job=job, settings=args.settings,
                                   retry_failed=args.retry_failed, options=RayOptions(
                                       address=args.ray_address, workers=args.ray_workers))
        return index_paths(args.paths, collection, job=job, settings=args.settings,
                           retry_failed=args.retry_failed)

    summary, _job = run_with_progress(task, f"Indexing into {collection}", quiet=args.json)
    if summary is None:  # cancelled before the engine could even return
        print("satchel: indexing cancelled; finished files are kept", file=sys.stderr)
        return 130
    if args.json:
        print_json(summary.to_json())
    else:
        print(f"{summary.files_indexed} indexed, {summary.files_unchanged} unchanged, "
              f"{summary.files_removed} removed, {len(summary.files_failed)} failed, "
              f"{len(summary.files_skipped)} skipped; {summary.chunks} chunks in "
              f"{summary.seconds:.1f} s (collection {collection})")
        if summary.files_reread:
            print(f"  read again with today's readers: {summary.files_reread} file(s) indexed "
                  "by an earlier version")
        if summary.chunks_reused:
            print(f"  {summary.chunks_reused} of {summary.chunks} chunks were in the index "
                  "already (unchanged text, copies of a file) and kept their vectors")
        for file in summary.files:  # say when a file was not read from its own text
            if "OCR" in file["loader"] or "LibreOffice" in file["loader"]:
                print(f"  read by {file['loader']}: {file['path']}")
        for failure in summary.files_failed:  # a part as "backup.zip › secret.pdf"
            print(f"  failed: {display_path(failure['path'])}: {failure['reason']}")
        if summary.files_skipped:  # one line per reason: a photo folder is not a wall of text
            reasons: dict[str, list[str]] = {}
            for skip in summary.files_skipped:
                reasons.setdefault(skip["reason"].split(" (")[0], []).append(
                    display_path(skip["path"]))
            for reason, skipped in reasons.items():
                many = f"{len(skipped)} files" if len(skipped) > 1 else "1 file"
                print(f"  skipped {many} ({reason}), e.g. {skipped[0]}")
        if summary.rebuilt and summary.repaired:
            print(f"  rebuilt from its files because {summary.repaired}: every source of "
                  f"{collection} was indexed again")
        elif summary.rebuilt:
            print(f"  rebuilt for the new embedder or chunking settings: every source of "
                  f"{collection} was indexed again")
    if summary.rebuild_pending:
        print(f"satchel: the rebuild for the new settings is not finished; searches use the "
              f"previous settings until `satchel index --collection {collection}` completes it",
              file=sys.stderr)
    if summary.cancelled:
        print("satchel: indexing cancelled; finished files are kept", file=sys.stderr)
        return 130
    return 0


def run_index(args: argparse.Namespace) -> int:
    _check_engine(args)
    collection = args.collection or args.settings.default_collection
    if not args.paths:  # index the collection again from what it was built from
        from engine.indexer import reindex_inputs

        args.paths, args.retry_failed = reindex_inputs(collection), True
    status = _index_once(args, collection)
    if status != 0 or not args.watch:
        return status
    from engine.watch import FolderWatcher

    def reindex(changed: list[str]) -> None:
        print(f"change detected in {len(changed)} place(s); re-indexing", file=sys.stderr)
        _index_once(args, collection)

    print("watching for changes; Ctrl-C to stop", file=sys.stderr)
    with FolderWatcher(args.paths, reindex) as watcher:
        watcher.wait()
    return 0


def add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search a collection", description="Search a collection "
                       "by meaning (vector), by words (text, BM25) or both (hybrid).")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--collection", default=None)
    p.add_argument("--k", type=int, default=5, help="how many passages (default 5)")
    p.add_argument("--mode", choices=("vector", "text", "hybrid"), default=None,
                   help="default: from settings (hybrid)")
    p.add_argument("--path", action="append", default=None,
                   help="only passages from this file or folder (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_search)


def run_search(args: argparse.Namespace) -> int:
    from engine.retrieve import search

    collection = args.collection or args.settings.default_collection
    hits = search(args.query, collection, k=args.k,
                  mode=args.mode or args.settings.retrieval_mode, paths=args.path)
    if args.json:
        print_json([{"path": h.path, "page": h.page, "score": round(h.score, 6),
                      "text": h.text, "chunk_id": h.chunk_id} for h in hits])
        return 0
    if not hits:
        print(f"no results (collection {collection!r} has no matching passages)")
        return 0
    for n, hit in enumerate(hits, start=1):
        where = source_line(hit.path, hit.path, hit.page) + (
            f" - {hit.heading}" if hit.heading else "")
        snippet = " ".join(hit.text.split())
        print(f"[{n}] {where}  (score {hit.score:.4f})")
        print(f"    {snippet[:300]}{'...' if len(snippet) > 300 else ''}")
    return 0


def add_collections(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collections", help="list or remove collections")
    p.add_argument("--json", action="store_true")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    rm = actions.add_parser("remove", help="remove a collection, its index and the questions "
                            "drafted from it (your files stay)")
    rm.add_argument("name")
    p.set_defaults(handler=run_collections)


def collections_json() -> list[dict[str, Any]]:
    from engine import index
    from engine.index_health import counts_or_damage

    out = []
    for meta in index.list_collections():
        documents, chunks, damaged = counts_or_damage(meta)
        out.append({"name": meta.name, "documents": documents, "chunks": chunks,
                    "embedder": meta.embedder, **({"damaged": damaged} if damaged else {})})
    return out


def run_collections(args: argparse.Namespace) -> int:
    from engine import index

    if args.action == "remove":
        index.remove_collection(args.name)
        print(f"removed collection {args.name!r}")
        return 0
    data = collections_json()
    if args.json:
        print_json(data)
    elif not data:
        print("no collections yet; add files with: satchel index PATH")
    else:
        for c in data:
            if c.get("damaged"):
                print(f"{c['name']}: damaged ({c['damaged']}): re-index it to rebuild it from "
                      f"its files (satchel index --collection {c['name']})")
                continue
            older = len(index.Collection.open(c["name"]).outdated_files(
                ocr=args.settings.ocr))
            them = "them" if older > 1 else "it"
            print(f"{c['name']}: {c['documents']} documents, {c['chunks']} chunks "
                  f"({c['embedder']})" + (f"; {older} to read again, read by an earlier "
                                          "version of Satchel or while OCR was off (`satchel "
                                          f"index --collection {c['name']}` reads {them})"
                                          if older else ""))
    return 0
