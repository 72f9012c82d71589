"""OneNote sections (.one).

``tests/data/one-extract-daily-schedule.one`` is the test file of PyPI's one-extract 0.1.4 (BSD),
unchanged: a section saved by OneNote 2013 with one page, "Daily Work Schedule", a two-column
table of half-hours and what happens in them.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.document import LoadError, display_name
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.parts import extract_part
from engine.places import place

SECTION = Path(__file__).parent / "data" / "one-extract-daily-schedule.one"


def test_a_section_is_read_page_by_page_with_its_table():
    doc = load(SECTION)
    assert detect_format(SECTION) == "onenote" and doc.format == "onenote"
    assert doc.loader == "OneNote reader (revision store)" and not doc.unread
    (page,) = doc.pages
    assert page.label == "Daily Work Schedule" == doc.title
    assert place(str(SECTION), 1) == "page 1"
    kinds = [(b.kind, b.text) for b in page.blocks]
    assert kinds[:2] == [("heading", "Daily Work Schedule"), ("paragraph", "Modified: 2013-12-26")]
    rows = "\n".join(t for k, t in kinds if k == "table").splitlines()
    assert len(rows) == 33  # 6:00 AM to 10:00 PM
    assert rows[0].endswith("6:00 AM; APRIL 10, 2012: Wake up")
    assert any(r.endswith("12:00 PM; APRIL 10, 2012: Lunch") for r in rows)
    assert any(r.endswith("6:00 PM; APRIL 10, 2012: Soccer practice") for r in rows)


def _with_guid(tmp_path: Path, name: str, offset: int, guid: str) -> Path:
    data = bytearray(SECTION.read_bytes())
    data[offset:offset + 16] = uuid.UUID(guid).bytes_le
    (tmp_path / name).write_bytes(bytes(data))
    return tmp_path / name


def test_what_is_not_a_section_says_so_in_one_line(tmp_path):
    contents = _with_guid(tmp_path, "Open Notebook.onetoc2", 0,
                          "43ff2fa1-efd9-4c76-9ee2-10ea5722765f")
    assert skip_reason(contents).startswith("unsupported file type (.onetoc2: a OneNote")
    online = _with_guid(tmp_path, "synced.one", 48, "638de92f-a6d4-4bc1-9a36-b3fc2511a5b7")
    with pytest.raises(LoadError, match=r"^a OneNote section in the online format"):
        load(online)
    (tmp_path / "notes.one").write_text("one, two, three")
    assert skip_reason(tmp_path / "notes.one") == \
        "not a OneNote section (unknown header; mislabelled?)"
    cut = tmp_path / "cut.one"
    cut.write_bytes(SECTION.read_bytes()[:2048])
    with pytest.raises(LoadError, match=r"^corrupt OneNote section \("):
        load(cut)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1024, 37183), st.integers(0, 255)), min_size=1,
                max_size=12))
def test_a_damaged_section_fails_in_one_line_or_keeps_what_it_can(tmp_path, edits):
    data = bytearray(SECTION.read_bytes())
    for offset, value in edits:
        data[offset] = value
    path = tmp_path / "damaged.one"
    path.write_bytes(bytes(data))
    try:
        doc = load(path)
    except LoadError as exc:
        assert "\n" not in str(exc)
        return
    assert all(p.blocks for p in doc.pages)


def test_an_outline_whose_objects_loop_is_walked_once():
    """A damaged file can make an element its own child: each object is read once."""
    from engine.ingest.loaders import onenote
    from engine.ingest.loaders.onenote_store import ObjectSpace, PropertySet, StoreObject

    element, text = ("0c1d", 1), ("0c1d", 2)
    space = ObjectSpace()
    space.objects[text] = StoreObject(onenote._RICH_TEXT,
                                      PropertySet({onenote._ASCII_TEXT: b"Buy milk"}))
    space.objects[element] = StoreObject(onenote._ELEMENT, PropertySet({
        onenote._CONTENT_CHILDREN: [text], onenote._ELEMENT_CHILDREN: [element]}))
    outline = StoreObject(onenote._OUTLINE, PropertySet({onenote._ELEMENT_CHILDREN: [element]}))
    walker = onenote._Walker(space)
    assert [b.text for b in walker.outline(outline)] == ["Buy milk"]
    assert walker.texts(space.objects[element]) == ["Buy milk"]


def _cabinet(files: list[tuple[str, bytes]]) -> bytes:
    """A Windows cabinet of ``files`` in one MSZIP folder, as OneNote writes a package
    ([MS-CAB]: header, folder, file entries, then data blocks of at most 32 KB, each "CK" and
    a deflate stream; a checksum of 0 is not checked)."""
    data = b"".join(d for _, d in files)
    blocks = []
    for start in range(0, len(data), 32768):
        chunk = data[start:start + 32768]
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        blocks.append((b"CK" + deflate.compress(chunk) + deflate.flush(), len(chunk)))
    entries, offset = b"", 0
    for name, content in files:
        entries += struct.pack("<IIHHHH", len(content), offset, 0, 0x5A21, 0, 0x20)
        entries += name.encode() + b"\0"
        offset += len(content)
    first_entry = 36 + 8
    first_block = first_entry + len(entries)
    body = b"".join(struct.pack("<IHH", 0, len(b), n) + b for b, n in blocks)
    header = b"MSCF" + struct.pack("<IIIIIBBHHHHH", 0, first_block + len(body), 0, first_entry,
                                   0, 3, 1, 1, len(files), 0, 1, 0)
    return header + struct.pack("<IHH", first_block, len(blocks), 1) + entries + body


def test_a_notebook_package_reads_each_section(tmp_path):
    """A notebook exported as a OneNote package (.onepkg) is a cabinet of its sections and
    table of contents: the sections are its parts, the table of contents is skipped."""
    section = SECTION.read_bytes()
    contents = bytearray(section)
    contents[:16] = uuid.UUID("43ff2fa1-efd9-4c76-9ee2-10ea5722765f").bytes_le
    package = tmp_path / "Work notebook.onepkg"
    package.write_bytes(_cabinet([("Schedules.one", section),
                                  ("Open Notebook.onetoc2", bytes(contents))]))
    doc = load(package)
    assert detect_format(package) == "onepkg" and doc.loader == "OneNote package (libarchive)"
    (part,) = doc.parts
    assert display_name(part.path) == "Work notebook.onepkg › Schedules.one"
    assert part.format == "onenote" and part.pages[0].label == "Daily Work Schedule"
    assert [(u.key, u.skipped) for u in doc.unread] == [("Open Notebook.onetoc2", True)]
    copy = extract_part(part.path, tmp_path / "out")
    assert copy is not None and copy.read_bytes() == section
    (tmp_path / "notes.onepkg").write_bytes(b"PK\x03\x04 a zip, not a cabinet")
    assert skip_reason(tmp_path / "notes.onepkg") == \
        "not a OneNote package (no cabinet header; mislabelled?)"
