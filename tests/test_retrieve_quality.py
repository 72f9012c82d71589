"""The retrieval-quality changes of issue 16 that need no index: which query tokens the exact-code
voter takes, and the weighted fusion.

The end-to-end effect is measured by ``benchmarks/bench_retrieval.py`` on real documents, and
``tests/test_indexing.py`` still checks that hybrid search puts a product code's passage first.
"""

from __future__ import annotations

from engine.retrieve import TEXT_WEIGHT, VECTOR_WEIGHT, Hit, fuse, identifiers


def test_identifiers_are_codes_not_plain_capitalised_words():
    assert identifiers("Where is HRB-09 stored?") == ["HRB-09"]
    assert identifiers("v2.3 of ISO-9001 and sqlite3_open") == ["v2.3", "ISO-9001", "sqlite3_open"]
    assert identifiers("SQLITE_MAX_PAGE_SIZE in SS.SSS") == ["SQLITE_MAX_PAGE_SIZE", "SS.SSS"]
    # BM25 matches a plain word as one term, weighted by its rarity: no extra vote for it
    assert identifiers("Which CTD does a WITHOUT ROWID table use?") == []
    assert identifiers("a well-known e.g. phrase") == []


def _hit(cid: str) -> Hit:
    return Hit(path=f"/{cid}.txt", page=1, text=cid, score=0.0, chunk_id=cid, start=0, end=1,
               heading="", collection="c")


def test_weighted_fusion_lets_the_heavier_list_win_a_tie_of_ranks():
    vector = [_hit("a"), _hit("b")]
    text = [_hit("b"), _hit("a")]
    assert [h.chunk_id for h in fuse([vector, text], 2)] == ["a", "b"]  # plain RRF tie: by id
    assert [h.chunk_id for h in fuse([vector, text], 2, [1.0, 1.5])] == ["b", "a"]
    assert [h.chunk_id for h in fuse([vector, text], 2, [1.5, 1.0])] == ["a", "b"]
    assert fuse([vector, text], 1, [1.0, 1.5])[0].score == 1.0 / 62 + 1.5 / 61


def test_hybrid_leans_on_bm25_but_a_vector_first_still_beats_a_bm25_third():
    """Weight 1.5 breaks ties towards BM25 without letting it override clear vector evidence:
    vector rank 1 + BM25 rank 3 beats BM25 rank 1 alone."""
    assert TEXT_WEIGHT > VECTOR_WEIGHT
    vector = [_hit("v"), _hit("x"), _hit("y")]
    text = [_hit("t"), _hit("z"), _hit("v")]
    ranked = fuse([vector, text], 3, [VECTOR_WEIGHT, TEXT_WEIGHT])
    assert [h.chunk_id for h in ranked][:2] == ["v", "t"]
