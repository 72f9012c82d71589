"""Apple iWork documents (Pages, Numbers, Keynote), read through LibreOffice's libetonyek import.

The libetonyek-* files are libetonyek 0.1.10's own test documents (MPL-2.0, Debian's libetonyek
source package), saved by Apple's applications: a Pages 5 document (iWork '13, IWA objects), a
Numbers 3 spreadsheet (IWA) and a Keynote 5 presentation (iWork '09, XML). Their QuickLook and
slide thumbnails were left out of the copies here (nothing reads them); their documents are
as Apple wrote them.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import LoadError, NothingToRead
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.iwork import package_folder, package_state
from engine.ingest.scan import scan
from engine.places import page_unit

DATA = Path(__file__).resolve().parent / "data"
PAGES = DATA / "libetonyek-pages5.pages"
NUMBERS = DATA / "libetonyek-numbers3.numbers"
KEYNOTE = DATA / "libetonyek-keynote5.key"

needs_libreoffice = pytest.mark.skipif(shutil.which("soffice") is None,
                                       reason="needs LibreOffice (soffice)")

#: A private key, as ``openssl genrsa`` writes one (truncated: only its first lines are read).
PEM_KEY = ("-----BEGIN PRIVATE KEY-----\n"
           "MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBALq0zn3aVhh4NfZr\n"
           "-----END PRIVATE KEY-----\n")


@needs_libreoffice
def test_a_pages_document_is_read():
    assert detect_format(PAGES) == "pages"
    doc = load(PAGES)
    assert doc.format == "pages" and doc.loader.endswith("(converted to DOCX)")
    assert [b.text for b in doc.pages[0].blocks] == [
        "My hovercraft is full of eels.", "Mé vznášedlo je plné úhořů.",
        "Mój poduszkowiec jest pełen węgorzy."]


@needs_libreoffice
def test_a_keynote_presentation_is_read_and_cited_by_slide(tmp_path):
    """The .key name is shared with private keys; a Keynote package is told by its parts."""
    from engine.indexer import index_paths
    from engine.retrieve import search

    doc = load(KEYNOTE)
    assert doc.format == "keynote" and doc.loader.endswith("(converted to PPTX)")
    assert [p.text.splitlines()[0] for p in doc.pages] == ["Title slide", "Capitalized title"]
    assert "more colored text here" in doc.pages[1].text
    assert page_unit("talk.key") == "slide" and page_unit("budget.numbers") == "sheet"

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copyfile(KEYNOTE, folder / "talk.key")
    (folder / "server.key").write_text(PEM_KEY)
    summary = index_paths([folder])
    assert summary.files_indexed == 1 and not summary.files_failed
    hit = search("colored text in bold and italic", mode="text", k=1)[0]
    assert hit.path.endswith("talk.key") and hit.page == 2


@needs_libreoffice
def test_a_numbers_spreadsheet_is_read_as_its_sheet():
    doc = load(NUMBERS)
    assert doc.format == "numbers" and doc.loader.endswith("(converted to XLSX)")
    text = doc.pages[0].text
    assert "Table 1" in text and "3400000" in text and "2012-01-03" in text


@needs_libreoffice
def test_a_package_folder_zipped_whole_is_read(tmp_path):
    """How macOS "Compress" and Mail send a package folder: its parts under one top folder,
    the document's objects in Index.zip (libetonyek's pages5-extra-dir.pages is one)."""
    index = io.BytesIO()
    with zipfile.ZipFile(PAGES) as src, zipfile.ZipFile(index, "w") as dst:
        for name in src.namelist():
            if name.startswith("Index/"):
                dst.writestr(name, src.read(name))
    sent = tmp_path / "Hovercraft.pages"
    with zipfile.ZipFile(PAGES) as src, zipfile.ZipFile(sent, "w") as dst:
        dst.writestr("Hovercraft.pages/Index.zip", index.getvalue())
        for name in src.namelist():
            if name.startswith("Metadata/"):
                dst.writestr(f"Hovercraft.pages/{name}", src.read(name))
    assert skip_reason(sent) is None
    assert "My hovercraft is full of eels." in load(sent).pages[0].text


@needs_libreoffice
def test_a_document_named_for_another_iwork_application_is_read(tmp_path):
    """A Keynote deck renamed .pages is imported by its content; written as the name's DOCX it
    failed as "corrupt or unreadable"."""
    deck = shutil.copyfile(KEYNOTE, tmp_path / "talk.pages")
    doc = load(deck)
    assert doc.loader.endswith("(converted to PPTX)") and len(doc.pages) == 2
    assert doc.pages[1].text.startswith("Capitalized title")
    text = shutil.copyfile(PAGES, tmp_path / "memo.key")
    assert "My hovercraft is full of eels." in load(text).pages[0].text


def _with_password_parts(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(".iwpv2", bytes(68))  # the password verifier of a protected document
    return target


def test_password_protected_documents_fail_in_one_line(tmp_path):
    locked = _with_password_parts(PAGES, tmp_path / "locked.pages")
    assert skip_reason(locked) == "encrypted Pages document (password protected)"
    with pytest.raises(LoadError, match=r"^encrypted Pages document \(password protected\)$"):
        load(locked)
    deck = _with_password_parts(KEYNOTE, tmp_path / "locked.key")
    assert skip_reason(deck) == "encrypted Keynote presentation (password protected)"


def test_a_key_that_is_not_a_presentation_is_skipped_not_read(tmp_path):
    """Private keys, and any other .key, are not documents: skipped, never failed or read."""
    pem = tmp_path / "server.key"
    pem.write_text(PEM_KEY)
    other = tmp_path / "licence.key"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("licence.txt", "seat 4 of 10")
    for path in (pem, other):
        assert detect_format(path) is None
        with pytest.raises(NothingToRead, match=r"^unsupported file type \(\.key: not a Keynote"):
            load(path)


def test_text_named_like_an_iwork_file_is_read_as_text(tmp_path):
    """Word lists and test data are named .numbers and .pages too (link-grammar's
    words.numbers, EMBOSS's test files): read as the text they are, as before iWork was read."""
    words = tmp_path / "words.numbers"
    words.write_text("one two three four five six seven eight nine ten\n")
    assert detect_format(words) == "text"
    doc = load(words)
    assert doc.pages[0].text == "one two three four five six seven eight nine ten"
    assert doc.loader.endswith("read by its content: a .numbers file that is text")


def test_mislabelled_or_damaged_pages_files_fail_in_one_line(tmp_path):
    binary = tmp_path / "notes.pages"
    binary.write_bytes(bytes(range(256)) * 8)
    assert skip_reason(binary) == "not a Pages document file (not a zip archive; mislabelled?)"
    other_zip = tmp_path / "photos.numbers"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("a.txt", "hello")
    assert skip_reason(other_zip) == ("not a Numbers spreadsheet file (a zip archive without "
                                      "iWork's parts; mislabelled?)")
    cut = tmp_path / "cut.pages"
    cut.write_bytes(PAGES.read_bytes()[:20000])
    assert skip_reason(cut).startswith("corrupt or truncated Pages document (damaged zip")


def _package_folder(parent: Path, name: str) -> Path:
    """A package folder as Pages 5.0-5.2 saved one: Index.zip, Metadata, a preview picture."""
    folder = parent / name
    (folder / "Metadata").mkdir(parents=True)
    (folder / "QuickLook").mkdir()
    with zipfile.ZipFile(PAGES) as src, zipfile.ZipFile(folder / "Index.zip", "w") as dst:
        for entry in src.namelist():
            if entry.startswith("Index/"):
                dst.writestr(entry, src.read(entry))
    (folder / "Metadata" / "DocumentIdentifier").write_text("8C0F4E4B")
    (folder / "QuickLook" / "Thumbnail.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(60))
    return folder


def test_a_package_folder_is_one_skipped_item_not_walked_into(tmp_path):
    folder = tmp_path / "docs"
    package = _package_folder(folder, "Minutes.pages")
    (folder / "notes.key").mkdir()  # a folder named like a document is walked as any folder
    (folder / "notes.key" / "todo.txt").write_text("buy rope")
    found = scan([folder])
    assert found.files == [str(folder / "notes.key" / "todo.txt")]
    assert found.skipped == [(str(package), "Pages document saved as a package folder: not "
                              "read; save it as a single file in Pages (File > Advanced > "
                              "Change File Type) to index it")]
    dropped = scan([package])  # dropped on its own: a failure, with the same reason
    assert dropped.files == [] and dropped.failed == [(str(package), found.skipped[0][1])]
    assert package_folder(str(package)) == "pages"
    assert package_folder(str(folder / "notes.key")) is None


_NAMES = st.lists(st.sampled_from(["Index/Document.iwa", "Index/Tables/DataList.iwa",
                                   "Metadata/Properties.plist", "preview.jpg", "index.xml.gz",
                                   ".iwpv2", "Data/photo.jpeg", "readme.txt"]),
                  unique=True, max_size=6)


@given(_NAMES, st.sampled_from(["Report.pages", "Q3 deck.key", "x"]))
def test_a_package_zipped_under_one_folder_is_the_package(names, top):
    """The state of a package's parts does not change when they are zipped under one folder."""
    assert package_state([f"{top}/{n}" for n in names]) == package_state(names)
    if ".iwpv2" in names:
        assert package_state(names) == "encrypted"
    elif {"Index/Document.iwa", "index.xml.gz"} & set(names):
        assert package_state(names) == "document"
    else:
        assert package_state(names) is None
