"""GNU Info manuals, on real files from Debian's /usr/share/info (tests/data, GFDL): GNU time's
manual (time.info.gz), and two files of the split findutils manual (find.info.gz, its table of
parts, and find.info-2.gz, a part)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import NothingToRead
from engine.ingest.loaders import detect_format, load
from engine.ingest.loaders.info import load_info, see

DATA = Path(__file__).parent / "data"


def test_a_manual_is_read_node_by_node():
    doc = load(DATA / "time.info.gz")
    assert detect_format(DATA / "time.info.gz") == "compressed"
    manual = doc.parts[0]
    assert (manual.format, manual.loader, manual.title) == ("info", "GNU Info reader", "Time")
    labels = [p.label for p in manual.pages]
    assert labels[:4] == ["Top", "Resource Measurement", "Setting Format", "Format String"]
    assert "Concept index" not in labels  # an index is all menu: nothing to read
    assert [p.number for p in manual.pages] == list(range(1, len(labels) + 1))
    setting = manual.pages[labels.index("Setting Format")]
    assert setting.blocks[0].text == "1.1 Setting the Output Format"
    assert (setting.blocks[0].kind, setting.blocks[0].level) == ("heading", 2)
    chapter = manual.pages[labels.index("Resource Measurement")].blocks[0]
    assert (chapter.text, chapter.level) == ("1 Measuring Program Resource Use", 1)
    time_resources = manual.pages[labels.index("Time Resources")]
    assert time_resources.blocks[0].level == 3
    assert "Elapsed real (wall clock) time used by the process" in time_resources.text
    text = "\n".join(p.text for p in manual.pages)
    # navigation and bookkeeping are gone; cross-references read as in print
    for junk in ("* Menu:", "\x1f", "File: time.info", "Tag Table", "*note", "*Note",
                 "START-INFO-DIR-ENTRY", "[index"):
        assert junk not in text, junk
    assert "(see Setting Format)" in text and "See Format String,\nfor the" in text


def test_a_split_manual_is_read_from_its_parts(tmp_path):
    with pytest.raises(NothingToRead, match="split Info manual"):
        load(DATA / "find.info.gz")
    part = load(DATA / "find.info-2.gz").parts[0]
    assert part.format == "info" and [p.label for p in part.pages] == ["Primary Index"]
    assert "for selecting files. See find Expressions, for more" in part.pages[0].text
    # uncompressed parts are found by their name too
    plain = tmp_path / "find.info-2"
    plain.write_bytes(gzip.decompress((DATA / "find.info-2.gz").read_bytes()))
    assert detect_format(plain) == "info"
    assert load(plain).pages[0].blocks[0].text == "'find' Primary Index"


def test_a_dot_info_file_without_nodes_is_plain_text(tmp_path):
    path = tmp_path / "harbour.info"  # other programs use the extension (module descriptions)
    path.write_text("name = Harbour tides\ndescription = Tide tables for the harbour.\n")
    doc = load(path)
    assert doc.format == "info" and len(doc.pages) == 1
    assert "Tide tables for the harbour." in doc.pages[0].text
    # a binary .info (GNUstep's Gorm data.info archives) is another program's data: skipped
    # like a program, not one more failure ("binary file (not text)")
    data = tmp_path / "data.info"
    data.write_bytes(b"GNUstep archive00002c24:00000003" + bytes(range(256)) * 4)
    with pytest.raises(NothingToRead, match=r"^unsupported file type \(\.info: binary"):
        load(data)


def test_cross_references_read_as_in_print():
    assert see("*Note Usage::.") == "See Usage."
    assert see("(*note Other\n     Options::)") == "(see Other Options)"
    assert see("(*note Overview: (diff)Top.)") == "(see Overview.)"
    assert see("no references here") == "no references here"


_NAME = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters=" -"),
                min_size=1, max_size=20).map(str.strip).filter(bool)
_BODY = st.text(st.characters(blacklist_characters="\x1f\x00", blacklist_categories=("Cs",)),
                max_size=200)


@given(st.lists(st.tuples(_NAME, _BODY), max_size=6), st.booleans())
def test_any_nodes_load_as_pages_named_by_their_nodes(tmp_path_factory, nodes, tag_table):
    """Whatever the nodes hold, loading never fails with anything but a clean skip, and every
    page is a node of the file, in order."""
    text = "This is x.info, produced by hand.\n"
    for name, body in nodes:
        text += f"\x1f\nFile: x.info,  Node: {name},  Up: Top\n\n{body}\n"
    if tag_table:
        text += "\x1f\nTag Table:\nNode: Top\x7f1\n\x1f\nEnd Tag Table\n"
    path = tmp_path_factory.mktemp("info") / "x.info"
    path.write_text(text, encoding="utf-8")
    doc = load_info(path)
    names = [name for name, _ in nodes]
    labels = [p.label for p in doc.pages if p.label is not None]
    it = iter(names)
    assert all(label in it for label in labels)  # a subsequence of the nodes, in order
    assert all(p.number == i for i, p in enumerate(doc.pages, start=1))


def test_an_indexed_manual_is_cited_by_its_sections(tmp_path):
    from engine.indexer import index_paths
    from engine.retrieve import search

    folder = tmp_path / "info"
    folder.mkdir()
    shutil.copy(DATA / "time.info.gz", folder)
    shutil.copy(DATA / "find.info.gz", folder)
    summary = index_paths([folder])
    assert summary.files_failed == []
    assert [Path(s["path"]).name for s in summary.files_skipped] == ["find.info.gz"]
    hit = search("wall clock time used by the process", k=1, mode="text")[0]
    assert hit.path.endswith("time.info.gz//time.info")
    assert "Time Resources" in hit.heading
