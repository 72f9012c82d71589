"""Word search reads each chunk's heading path with its text, in new and in older collections."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa

from engine import index
from engine.indexer import index_paths
from engine.retrieve import Hit, search

FILLER = ("The assembly is lowered onto the frame and each bolt is tightened by hand before the "
          "wrench is used. Check that the washer sits flat and that no thread is crossed. ")


def write_manual(folder: Path) -> Path:
    """A manual whose one section runs over several chunks: only its first chunk's text holds
    the heading's words, the later chunks have them in their heading path alone."""
    folder.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(f"Step {i}. {FILLER}" for i in range(1, 15))
    path = folder / "manual.md"
    path.write_text(f"# Mounting\n\nIntro.\n\n## Quarterly torque calibration\n\n{body}\n",
                    encoding="utf-8")
    return path


def heading_only_hits(query: str) -> list[Hit]:
    return [h for h in search(query, mode="text", k=20) if "calibration" not in h.text.lower()]


def test_a_word_of_the_heading_alone_finds_the_chunks_under_it(tmp_path):
    write_manual(tmp_path / "docs")
    index_paths([tmp_path / "docs"])
    chunks = index.Collection.open("default").chunks.to_arrow().to_pylist()
    later = [c for c in chunks if "calibration" in c["heading"].lower()
             and "calibration" not in c["text"].lower()]
    assert len(later) >= 2  # the section is long enough to test what it should
    found = heading_only_hits("calibration")
    assert {h.chunk_id for h in found} == {c["chunk_id"] for c in later}
    assert all(h.heading.endswith("Quarterly torque calibration") for h in found)


def test_the_sql_expression_and_the_function_agree(tmp_path):
    import lancedb

    db = lancedb.connect(str(tmp_path / "db"))
    rows = [("", "plain text"), ("A > B", "under a heading\nsecond line"), (None, "no heading")]
    tbl = db.create_table("t", pa.table({"heading": [h for h, _ in rows],
                                         "text": [t for _, t in rows]}))
    tbl.add_columns({index.TEXT_INDEX_COLUMN: index.SEARCH_TEXT_SQL})
    got = tbl.to_arrow().column(index.TEXT_INDEX_COLUMN).to_pylist()
    assert got == [index.search_text(h or "", t) for h, t in rows]
    assert got[1] == "A > B\nunder a heading\nsecond line" and got[0] == "plain text"


def make_it_an_older_collection() -> None:
    """What a collection indexed by an older Satchel looks like: no search_text column and its
    full-text index on the chunk text."""
    from lancedb.index import FTS

    coll = index.Collection.open("default")
    for idx in coll.chunks.list_indices():
        if tuple(idx.columns) == (index.TEXT_INDEX_COLUMN,):
            coll.chunks.drop_index(idx.name)
    coll.chunks.drop_columns([index.TEXT_INDEX_COLUMN])
    coll.chunks.create_index("text", config=FTS(with_position=False), replace=True)
    index._search_plans.clear()


def test_an_older_collection_is_searched_as_it_is_and_upgraded_by_the_next_index_run(tmp_path):
    write_manual(tmp_path / "docs")
    index_paths([tmp_path / "docs"])
    make_it_an_older_collection()
    version = index.Collection.open("default").chunks.version

    assert search("washer", mode="text", k=3)  # its own index answers
    assert heading_only_hits("calibration") == []  # which has no headings
    assert index.Collection.open("default").chunks.version == version  # and nothing was written

    again = index_paths([tmp_path / "docs"])  # nothing changed on disk
    assert again.files_unchanged == 1 and again.files_indexed == 0
    coll = index.Collection.open("default")
    assert index.TEXT_INDEX_COLUMN in coll.chunks.schema.names
    columns = {tuple(i.columns) for i in coll.chunks.list_indices()}
    assert (index.TEXT_INDEX_COLUMN,) in columns and ("text",) not in columns
    assert len(heading_only_hits("calibration")) >= 2

    # a file added later gets its column from the indexer, the same as the migrated rows
    (tmp_path / "docs" / "more.md").write_text("# Gasket care\n\nKeep it dry.\n", encoding="utf-8")
    index_paths([tmp_path / "docs"])
    rows = index.Collection.open("default").chunks.to_arrow().to_pylist()
    assert all(r[index.TEXT_INDEX_COLUMN] == index.search_text(r["heading"], r["text"])
               for r in rows)
    assert search("gasket", mode="text", k=1)[0].path.endswith("more.md")


def test_a_search_with_an_outdated_plan_still_answers(tmp_path):
    """Another process upgraded the collection a moment ago: this one's cached plan still names
    the old column, whose index is gone; words are still found (LanceDB reads the column in
    full) until the plan is read again."""
    write_manual(tmp_path / "docs")
    index_paths([tmp_path / "docs"])
    coll = index.Collection.open("default")
    index._search_plans[coll.chunks_key] = index.SearchPlan(0, "text", time.monotonic())
    hits = search("washer", mode="text", k=3)
    assert hits and all("washer" in h.text for h in hits)
