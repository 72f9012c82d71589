"""Legacy Office (.doc, .xls, .ppt) and RTF through LibreOffice, and UTF-32 text (issue 13).

The files are made here with real tools: python-docx, openpyxl and python-pptx write modern files,
LibreOffice saves them as Word/Excel/PowerPoint 97 (``--convert-to doc:"MS Word 97"``...), and a
LibreOffice Basic macro saves a password-protected .doc and .xls (msoffcrypto-tool can only
encrypt OOXML). The RTF is written by hand. Conversions are slow (~1.3 s each), so the files are
made and loaded once per module.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.document import Document, LoadError
from engine.ingest.loaders import detect_format, legacy, load
from engine.ingest.loaders.encoding import decode_text, looks_binary

SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (soffice)")

DOC_HEADING = "Quarterly Harbour Report"
DOC_SENTENCE = "The lighthouse keeper counted seventeen pelicans on Tuesday."
SLIDE_SENTENCE = "Migratory geese prefer the northern pond in late autumn."
SHEET_CELL = "Lantern oil barrels"
RTF_SENTENCE = "The harbour master logs the spring tide at dawn, café open."
RTF = (
    "{\\rtf1\\ansi\\ansicpg1252\\deff0\n"
    "{\\fonttbl{\\f0\\froman Times New Roman;}}\n"
    "{\\stylesheet{\\s0 Normal;}{\\s1\\b\\fs32 heading 1;}}\n"
    "{\\pard\\s1\\b\\fs32 Tide Tables\\par}\n"
    "{\\pard\\s0 The harbour master logs the spring tide at dawn, caf\\'e9 open.\\par}\n"
    "}\n"
)
LOADER = re.compile(r"^LibreOffice \d+\.\d+ \(converted to (DOCX|XLSX|PPTX)\)$")

#: Saves two files with a password, then quits (runs from the test profile's own library).
ENCRYPT_MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1"
 script:language="StarBasic">
Sub SaveWithPassword(sIn As String, sOut As String, sFilter As String)
  Dim aLoad(0) As New com.sun.star.beans.PropertyValue
  aLoad(0).Name = &quot;Hidden&quot; : aLoad(0).Value = True
  oDoc = StarDesktop.loadComponentFromURL(ConvertToURL(sIn), &quot;_blank&quot;, 0, aLoad())
  Dim aStore(1) As New com.sun.star.beans.PropertyValue
  aStore(0).Name = &quot;FilterName&quot; : aStore(0).Value = sFilter
  aStore(1).Name = &quot;Password&quot; : aStore(1).Value = &quot;harbour&quot;
  oDoc.storeToURL(ConvertToURL(sOut), aStore())
  oDoc.close(True)
End Sub
Sub Protect(sDoc As String, sDocOut As String, sXls As String, sXlsOut As String)
  SaveWithPassword(sDoc, sDocOut, &quot;MS Word 97&quot;)
  SaveWithPassword(sXls, sXlsOut, &quot;MS Excel 97&quot;)
  StarDesktop.terminate()
End Sub
</script:module>
"""


def _soffice(args: list[str], profile: Path, timeout: float = 90) -> None:
    """Run LibreOffice the plain way (not through Satchel's hardened converter)."""
    home = profile.parent / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--nolockcheck", *args],
        env={**os.environ, "HOME": str(home)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert proc.wait(timeout) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _make_modern(src: Path, image_url: str) -> None:
    import docx
    import openpyxl
    import pptx

    document = docx.Document()
    document.add_heading(DOC_HEADING, level=1)
    document.add_paragraph(DOC_SENTENCE)
    document.save(str(src / "report.docx"))

    workbook = openpyxl.Workbook()
    budget = workbook.active
    budget.title = "Budget"
    budget.append(["Item", "Cost"])
    budget.append(["Rope", 12])
    inventory = workbook.create_sheet("Inventory")
    inventory.append(["Thing", "Count"])
    inventory.append([SHEET_CELL, 42])
    workbook.save(str(src / "ledger.xlsx"))

    deck = pptx.Presentation()
    for title, body in (("Introduction", "Field season overview"), ("Findings", SLIDE_SENTENCE)):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.save(str(src / "deck.pptx"))

    _linked_image_docx(src / "webbug.docx", image_url)


def _linked_image_docx(path: Path, url: str) -> None:
    """A DOCX whose picture is not embedded but linked to ``url`` (how web bugs work)."""
    import docx
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    png.seek(0)
    document = docx.Document()
    document.add_paragraph("A memo with a linked picture.")
    document.add_picture(png)
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = re.sub(rb'r:embed="rId\d+"', b'r:link="rIdWebBug"', data)
            elif item.filename == "word/_rels/document.xml.rels":
                rel = (f'<Relationship Id="rIdWebBug" Type="http://schemas.openxmlformats.org/'
                       f'officeDocument/2006/relationships/image" Target="{url}" '
                       'TargetMode="External"/></Relationships>')
                data = data.replace(b"</Relationships>", rel.encode())
            zout.writestr(item, data)


@pytest.fixture(scope="module")
def listener():
    """A loopback socket, bound but not yet listening: connections to it are refused until a
    test calls ``listen()``, so making the web-bug file cannot hang on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory, listener) -> dict[str, Path]:
    if SOFFICE is None:
        pytest.skip("needs LibreOffice (soffice)")
    import msoffcrypto
    import olefile

    root = tmp_path_factory.mktemp("legacy")
    src, out, profile = root / "src", root / "out", root / "profile"
    src.mkdir()
    out.mkdir()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/pixel.png"
    _make_modern(src, url)
    _soffice(["--convert-to", "doc:MS Word 97", "--outdir", str(out),
              str(src / "report.docx"), str(src / "webbug.docx")], profile)
    _soffice(["--convert-to", "xls:MS Excel 97", "--outdir", str(out), str(src / "ledger.xlsx")],
             profile)
    _soffice(["--convert-to", "ppt:MS PowerPoint 97", "--outdir", str(out),
              str(src / "deck.pptx")], profile)
    # The conversions created the profile's Basic library; the macro replaces its empty module.
    (profile / "user" / "basic" / "Standard" / "Module1.xba").write_text(ENCRYPT_MACRO)
    macro_args = ",".join(f'"{p}"' for p in (src / "report.docx", out / "locked.doc",
                                              src / "ledger.xlsx", out / "locked.xls"))
    _soffice([f"macro:///Standard.Module1.Protect({macro_args})"], profile)

    (out / "notes.rtf").write_text(RTF, encoding="ascii")
    # OLE header, then junk; and a real .doc cut in half.
    (out / "junk.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 12)
    data = (out / "report.doc").read_bytes()
    (out / "halved.doc").write_bytes(data[: len(data) // 2])
    # A well-formed OLE file whose Word stream is zeroed: only LibreOffice can find it broken.
    shutil.copy(out / "report.doc", out / "zeroed.doc")
    with olefile.OleFileIO(str(out / "zeroed.doc"), write_mode=True) as ole:
        ole.write_stream("WordDocument", bytes(ole.get_size("WordDocument")))
    # An Excel file named .doc, and a password-protected DOCX named .doc.
    shutil.copy(out / "ledger.xls", out / "ledger-named.doc")
    with (src / "report.docx").open("rb") as fh, (out / "locked-docx.doc").open("wb") as dst:
        msoffcrypto.OfficeFile(fh).encrypt("harbour", dst)
    return {p.name: p for p in out.iterdir()}


@pytest.fixture(scope="module")
def loaded(files) -> dict[str, tuple[Document, float]]:
    """Each good legacy file loaded once, with the seconds the load (conversion) took."""
    out = {}
    for name in ("report.doc", "ledger.xls", "deck.ppt", "notes.rtf"):
        started = time.monotonic()
        doc = load(files[name])
        out[name] = (doc, time.monotonic() - started)
    return out


def _lo_processes(marker: str) -> list[int]:
    """LibreOffice processes whose command line mentions ``marker`` (a temp dir)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
        if marker.encode() in cmdline and not zombie and b"office" in cmdline:
            found.append(int(pid))
    return found


def _gone(marker: str, path: Path | None = None, wait_s: float = 15) -> bool:
    """Wait until no LibreOffice process mentions ``marker`` (SIGKILL is not instant) and
    ``path``, if given, no longer exists."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not _lo_processes(marker) and (path is None or not path.exists()):
            return True
        time.sleep(0.05)
    return False


# ------------------------------------------------------------------------- reading the files


@needs_soffice
def test_doc_converts_with_heading_and_sentence(loaded, files):
    doc, seconds = loaded["report.doc"]
    assert doc.path == str(files["report.doc"]) and doc.format == "doc"
    assert LOADER.match(doc.loader) and doc.loader.endswith("(converted to DOCX)")
    assert [p.number for p in doc.pages] == [1]
    blocks = doc.pages[0].blocks
    assert (blocks[0].text, blocks[0].kind, blocks[0].level) == (DOC_HEADING, "heading", 1)
    assert DOC_SENTENCE in doc.pages[0].text
    assert doc.title == DOC_HEADING
    assert seconds < 30


@needs_soffice
def test_xls_sheets_are_pages(loaded):
    doc, _ = loaded["ledger.xls"]
    assert doc.format == "xls" and doc.loader.endswith("(converted to XLSX)")
    assert [(p.number, p.label) for p in doc.pages] == [(1, "Budget"), (2, "Inventory")]
    assert "Rope" in doc.pages[0].text
    assert f"Thing: {SHEET_CELL}; Count: 42" in doc.pages[1].text


@needs_soffice
def test_an_excel_2_worksheet_is_read_and_named_after_its_file(tmp_path):
    """Excel 2.x-4.0 saved a worksheet as a bare record stream, not an OLE file (LibreOffice's
    tdf72470.xls, MPL-2.0: Arabic text in a BIFF2 sheet); it was refused as "no OLE header".
    Such a sheet has no name, and LibreOffice names it after the file: the file's own name, not
    the name of the copy it converted."""
    sheet = shutil.copyfile(Path(__file__).parent / "data" / "libreoffice-tdf72470.xls",
                            tmp_path / "-names 2024.xls")
    assert detect_format(sheet) == "xls"
    doc = load(sheet)
    assert [(p.label, p.text) for p in doc.pages] == [
        ("names_2024", "names_2024\n\nname: أسمي walid")]
    (tmp_path / "noise.xls").write_bytes(b"\x09\x00\x07\x00" + bytes(40))
    assert detect_format(tmp_path / "noise.xls") is None  # not a BOF record's length


@needs_soffice
def test_ppt_slides_are_pages(loaded):
    doc, _ = loaded["deck.ppt"]
    assert doc.format == "ppt" and doc.loader.endswith("(converted to PPTX)")
    assert [(p.number, p.label) for p in doc.pages] == [(1, "Introduction"), (2, "Findings")]
    assert SLIDE_SENTENCE in doc.pages[1].text and SLIDE_SENTENCE not in doc.pages[0].text


@needs_soffice
def test_rtf_keeps_heading_and_accents(loaded):
    doc, _ = loaded["notes.rtf"]
    assert doc.format == "rtf" and doc.loader.endswith("(converted to DOCX)")
    assert [(b.text, b.kind) for b in doc.pages[0].blocks] == [
        ("Tide Tables", "heading"), (RTF_SENTENCE, "paragraph")]


@needs_soffice
def test_conversion_times(loaded, capsys):
    """LibreOffice starts once per file; the measured cost is printed for the record."""
    with capsys.disabled():
        print("\nconversion + load seconds:",
              {name: round(seconds, 2) for name, (_, seconds) in loaded.items()})
    assert all(seconds < 30 for _, seconds in loaded.values())


# ----------------------------------------------------------------------------- failure cases


def _reason(path: Path) -> str:
    with pytest.raises(LoadError) as info:
        load(path)
    reason = str(info.value)
    assert "\n" not in reason and "Traceback" not in reason
    return reason


@needs_soffice
def test_encrypted_files_are_refused_before_conversion(files, monkeypatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("LibreOffice must not be started for an encrypted file")

    monkeypatch.setattr(legacy, "convert", no_conversion)
    assert _reason(files["locked.doc"]) == "encrypted Word 97-2003 (.doc) (password protected)"
    assert _reason(files["locked.xls"]) == "encrypted Excel 97-2003 (.xls) (password protected)"
    assert _reason(files["locked-docx.doc"]) == (
        "encrypted Word 97-2003 (.doc) (password protected)")


@needs_soffice
def test_libreoffice_fails_fast_on_an_encrypted_file(files, tmp_path):
    """Had the pre-check missed it: headless LibreOffice must neither prompt nor hang."""
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"^corrupt or unreadable \.doc \(LibreOffice could not "):
        legacy.convert(files["locked.doc"], "docx", tmp_path, timeout_s=60)
    assert time.monotonic() - started < 30


@needs_soffice
def test_corrupt_and_mislabelled_files(files):
    damaged = "corrupt or unreadable .doc (damaged OLE structure)"
    assert _reason(files["junk.doc"]) == damaged
    assert _reason(files["halved.doc"]) == damaged
    assert _reason(files["zeroed.doc"]) == (
        "corrupt or unreadable .doc (LibreOffice could not convert it)")
    # an Excel workbook named .doc is read as the workbook it is (its OLE streams say so)
    ledger = load(files["ledger-named.doc"])
    labels = [p.label for p in load(files["ledger.xls"]).pages]
    assert (ledger.format, [p.label for p in ledger.pages]) == ("xls", labels)
    assert ledger.loader.endswith("read by its content: a .doc file that is Excel 97-2003 (.xls)")


@needs_soffice
def test_missing_libreoffice_names_the_package(files, tmp_path, monkeypatch):
    monkeypatch.setattr(legacy.shutil, "which", lambda name: None)
    monkeypatch.setattr(legacy, "_KNOWN_LOCATIONS", ())
    assert _reason(files["report.doc"]) == (
        "reading .doc needs LibreOffice: sudo apt install libreoffice-writer-nogui")
    assert _reason(files["ledger.xls"]) == (
        "reading .xls needs LibreOffice: sudo apt install libreoffice-calc-nogui")
    assert _reason(files["deck.ppt"]) == (
        "reading .ppt needs LibreOffice: sudo apt install libreoffice-impress-nogui")
    assert _reason(files["notes.rtf"]) == (
        "reading .rtf needs LibreOffice: sudo apt install libreoffice-writer-nogui")


@needs_soffice
def test_time_limit_kills_every_libreoffice_process(files, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(legacy, "CONVERT_TIMEOUT_S", 0.3)
    started = time.monotonic()
    reason = _reason(files["report.doc"])
    assert reason == ("LibreOffice took longer than 0.3 s to convert this .doc (time limit); "
                      "the file was skipped")
    assert time.monotonic() - started < 15
    assert _gone(str(scratch)), _lo_processes(str(scratch))
    assert list(scratch.iterdir()) == []  # profile, output and input link removed


@needs_soffice
def test_libreoffice_killed_at_the_time_limit_leaves_no_socket_in_tmp(files, tmp_path,
                                                                       monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    sockets = legacy._ipc_sockets(work / "profile")

    def up_then_out_of_time(*args):
        deadline = time.monotonic() + 60
        while not any(s.is_socket() for s in sockets):
            assert time.monotonic() < deadline, "LibreOffice made no socket"
            time.sleep(0.02)
        return None  # as when the time limit passes

    monkeypatch.setattr(legacy, "wait_reporting", up_then_out_of_time)
    with pytest.raises(LoadError, match="time limit"):
        legacy.convert(files["report.doc"], "docx", work)
    assert not any(s.exists() for s in sockets)


@needs_soffice
def test_guard_cleans_up_when_the_loading_process_is_killed(files, tmp_path):
    """The indexer kills a parser child on its time limit or on cancel; LibreOffice must not
    outlive it, nor leave a converted copy of the document behind, the loader's emptied temp
    dir, or its single-instance socket in /tmp."""
    work, started = tmp_path / "satchel-lo-test" / "docx", tmp_path / "started"
    work.mkdir(parents=True)
    sockets = legacy._ipc_sockets(work / "profile")
    # The child stalls right after starting LibreOffice, then is killed: deterministic timing.
    code = ("import sys, time; from pathlib import Path; from engine.ingest.loaders import legacy\n"
            "def stall(*args):\n"
            "    Path(sys.argv[3]).touch()\n"
            "    time.sleep(600)\n"
            "legacy.wait_reporting = stall\n"
            "legacy.convert(Path(sys.argv[1]), 'docx', Path(sys.argv[2]))\n")
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(files["report.doc"]), str(work), str(started)],
        cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline and child.poll() is None, "LibreOffice never ran"
            time.sleep(0.02)
        while not any(s.is_socket() for s in sockets):  # LibreOffice is up
            assert time.monotonic() < deadline and child.poll() is None, "no socket appeared"
            time.sleep(0.02)
        assert _lo_processes(str(work))
    finally:
        child.kill()
        child.wait()
    assert _gone(str(work), work.parent), (
        _lo_processes(str(work)), sorted(str(p.relative_to(work)) for p in work.glob("*/*")))
    assert not any(s.exists() for s in sockets)


@needs_soffice
def test_linked_images_are_not_fetched(files, listener, monkeypatch):
    """A picture linked to a URL is a web bug: LibreOffice would fetch it while converting (and,
    from a server that never answers, wait until the time limit)."""
    monkeypatch.setattr(legacy, "CONVERT_TIMEOUT_S", 30.0)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/pixel.png"
    data = files["webbug.doc"].read_bytes()
    assert url.encode() in data or url.encode("utf-16-le") in data  # the link survived
    listener.listen(16)
    listener.setblocking(False)
    doc = load(files["webbug.doc"])
    assert "A memo with a linked picture." in doc.pages[0].text
    with pytest.raises(BlockingIOError):
        conn, _ = listener.accept()
        conn.close()


# ------------------------------------------------------------------------------ end to end


@needs_soffice
@pytest.mark.slow
def test_folder_indexes_to_completion_and_search_finds_legacy_text(files, tmp_path):
    from engine.indexer import index_paths
    from engine.retrieve import search

    folder = tmp_path / "docs"
    folder.mkdir()
    good = ("report.doc", "deck.ppt")
    bad = ("junk.doc", "zeroed.doc", "locked.doc", "locked.xls")
    for name in good + bad:
        shutil.copy(files[name], folder / name)
    summary = index_paths([folder])
    assert not summary.cancelled
    assert summary.files_indexed == len(good)
    failed = {Path(f["path"]).name: f["reason"] for f in summary.files_failed}
    assert failed == {
        "junk.doc": "corrupt or unreadable .doc (damaged OLE structure)",
        "zeroed.doc": "corrupt or unreadable .doc (LibreOffice could not convert it)",
        "locked.doc": "encrypted Word 97-2003 (.doc) (password protected)",
        "locked.xls": "encrypted Excel 97-2003 (.xls) (password protected)",
    }
    loaders = {Path(f["path"]).name: f.get("loader", "") for f in summary.files}
    assert all(LOADER.match(loaders[name]) for name in good), loaders

    hits = search(DOC_SENTENCE, mode="text")
    assert hits and hits[0].path == str(folder / "report.doc") and hits[0].page == 1
    hits = search(SLIDE_SENTENCE, mode="text")
    assert hits and hits[0].path == str(folder / "deck.ppt") and hits[0].page == 2


@needs_soffice
@pytest.mark.slow
def test_index_without_libreoffice_reports_the_install_hint(files, tmp_path, monkeypatch):
    """The parser child finds no soffice on PATH: the file fails with the hint, the run ends."""
    from engine.indexer import index_paths

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(files["report.doc"], folder / "report.doc")
    (folder / "readme.txt").write_text("Plain notes still get indexed.\n")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    summary = index_paths([folder])
    assert summary.files_indexed == 1
    assert summary.files_failed == [{
        "path": str(folder / "report.doc"),
        "reason": "reading .doc needs LibreOffice: sudo apt install libreoffice-writer-nogui"}]


# ------------------------------------------------------------------------------------ UTF-32

TEXT = "Merrow Island field notes\n\nÅse measured 3.5 °C at the lagoon — σ = 0.2 🌊.\n"


def test_utf32_with_and_without_bom(tmp_path):
    variants = {
        "bom.txt": (TEXT.encode("utf-32"), "utf-32"),
        "bom-be.txt": (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), "utf-32"),
        "le.txt": (TEXT.encode("utf-32-le"), "utf-32-le"),
        "be.md": (TEXT.encode("utf-32-be"), "utf-32-be"),
    }
    for name, (data, encoding) in variants.items():
        (tmp_path / name).write_bytes(data)
        assert detect_format(tmp_path / name) is not None, name
        doc = load(tmp_path / name)
        assert [b.text for b in doc.pages[0].blocks] == [
            "Merrow Island field notes",
            "Åse measured 3.5 °C at the lagoon — σ = 0.2 🌊.",
        ], name
        assert doc.metadata["encoding"] == encoding, name
    (tmp_path / "rows.csv").write_bytes("Name,Room\nÅse,B-12\n".encode("utf-32-le"))
    assert load(tmp_path / "rows.csv").pages[0].text == "Name: Åse; Room: B-12"


def test_utf32_look_alikes_stay_binary(tmp_path):
    (tmp_path / "ints.txt").write_bytes(struct.pack("<256i", *range(256)))  # small int32s
    (tmp_path / "zeros.txt").write_bytes(bytes(4096))
    for name in ("ints.txt", "zeros.txt"):
        assert detect_format(tmp_path / name) is None, name
    # UTF-32 cut mid-code-unit is not passed off as something else.
    (tmp_path / "cut.txt").write_bytes(TEXT.encode("utf-32-le")[:-1])
    with pytest.raises(LoadError):
        load(tmp_path / "cut.txt")
    # UTF-16 and UTF-8 are never taken for UTF-32.
    for encoding in ("utf-16-le", "utf-16-be", "utf-8"):
        assert decode_text(TEXT.encode(encoding)) == (TEXT, encoding)


#: Text a UTF-32 file plausibly holds: no surrogates, no control characters but tab and newlines.
_text = st.text(st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"),
                min_size=1, max_size=300)


def _unambiguous(text: str) -> bool:
    """Without a BOM, two kinds of text cannot be told apart from their bytes by anyone.

    A first character U+FEFF (or U+xFEFF) encodes to the very bytes of a BOM; and text made
    only of code points that are multiples of 256 reads as valid UTF-32 in both byte orders
    (U+0100 is 00 01 00 00 in LE, which is U+10000 read as BE). Real text always has a
    character with a non-zero low byte: every letter, digit and space does.
    """
    return (ord(text[0]) & 0xFFFF) != 0xFEFF and any(ord(ch) & 0xFF for ch in text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_text.filter(_unambiguous), st.sampled_from(["utf-32-le", "utf-32-be"]))
def test_utf32_without_bom_round_trips(text, encoding):
    data = text.encode(encoding)
    assert not looks_binary(data[:8192])
    assert decode_text(data) == (text, encoding)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=300), st.sampled_from(["utf-32", "utf-32-le", "utf-32-be"]))
def test_utf32_with_bom_round_trips(text, encoding):
    bom = {"utf-32": b"", "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}
    data = bom[encoding] + text.encode(encoding)  # "utf-32" writes its own BOM
    assert not looks_binary(data[:8192])
    assert decode_text(data) == (text, "utf-32")


@needs_soffice
def test_footnotes_follow_the_body_as_notes(tmp_path):
    """A footnote is not read where its mark is (it would cut the sentence in two) but after
    the body, under "Notes": in an RTF (read through its DOCX conversion), and in the ODT and
    DOCX LibreOffice makes of it. "Notes" is not the document's title."""
    rtf = tmp_path / "mooring.rtf"
    rtf.write_text(r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\f0 The mooring chains are replaced "
                   r"every ten years.{\super\chftn}{\footnote\pard\plain{\super\chftn} "
                   r"Replacement dates are kept in the harbour ledger, volume 7.}\par "
                   r"Main text continues here.\par}")
    converted = []
    for target in ("odt", "docx"):
        work = tmp_path / target
        work.mkdir()
        converted.append(legacy.convert(rtf, target, work))
    expected = [("paragraph", "The mooring chains are replaced every ten years."),
                ("paragraph", "Main text continues here."), ("heading", "Notes"),
                ("paragraph",
                 "Note 1: Replacement dates are kept in the harbour ledger, volume 7.")]
    for path in (rtf, *converted):
        doc = load(path)
        assert [(b.kind, b.text) for b in doc.pages[0].blocks] == expected, path.name
        # the added section is no title: a document without headings was titled "Notes"
        assert doc.title is None, path.name


@needs_soffice
def test_comments_follow_the_body(tmp_path):
    """A reviewer's comment is read after the body under "Comments": in a DOCX (python-docx
    writes Word's comments part) and in the ODT LibreOffice makes of it."""
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph("The berth fee is 40 EUR.")
    document.add_comment(paragraph.runs, text="The fee rose to 45 EUR in 2025.", author="Ann")
    document.save(tmp_path / "fees.docx")
    work = tmp_path / "work"
    work.mkdir()
    expected = [("paragraph", "The berth fee is 40 EUR."), ("heading", "Comments"),
                ("paragraph", "Comment: The fee rose to 45 EUR in 2025.")]
    for path in (tmp_path / "fees.docx", legacy.convert(tmp_path / "fees.docx", "odt", work)):
        assert [(b.kind, b.text) for b in load(path).pages[0].blocks] == expected, path.name
