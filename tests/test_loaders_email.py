"""E-mail loaders on real files built here: .eml and .mbox with the stdlib, .msg as Outlook
stores it (see tests/helpers_mail.py), attachments made by fpdf2 and python-docx.

What matters to users: each message is cited by its subject and date (the heading of every chunk),
attachments are searchable and cited with their own page numbers, and a bad attachment, message
or file costs only itself, with one readable line saying why.
"""

from __future__ import annotations

import builtins
import datetime as dt
import email.policy
import io
import mailbox
import os
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.chunker import chunk_document
from engine.ingest.document import Document, LoadError, LoadOptions, display_name
from engine.ingest.loaders import detect_format, load
from engine.ingest.loaders.email import MAX_DEPTH, load_mbox
from engine.ingest.loaders.rtf_body import rtf_text
from tests.helpers_mail import MsgSpec, make_docx, make_pdf, write_msg

DATA = Path(__file__).resolve().parent / "data"

DATE = "Tue, 05 Mar 2024 09:30:00 +0100"
UTC_DATE = dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC)


def _message(subject: str = "Harbour budget", body: str | None = "Hello Bob,\n\nThe turbine "
             "ledger is attached.\n\nAda", date: str = DATE, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "Ada Lovelace <ada@example.org>"
    msg["To"] = "Bob Stone <bob@example.org>"
    msg["Date"] = date
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if body is not None:
        msg.set_content(body)
    return msg


def _attach(msg: EmailMessage, name: str, data: bytes, mime: str = "application/octet-stream",
            ) -> None:
    maintype, subtype = mime.split("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def _text(doc: Document) -> str:
    return "\n\n".join(page.text for page in doc.pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _by_name(doc: Document) -> dict[str, Document]:
    return {display_name(part.path).rsplit(" › ", 1)[-1]: part for part in doc.parts}


def _one_line_error(path: Path, fragment: str) -> str:
    with pytest.raises(LoadError) as info:
        load(path)
    reason = str(info.value)
    assert fragment in reason and "\n" not in reason and "Traceback" not in reason, reason
    return reason


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ------------------------------------------------------------------------------------ .eml


def test_eml_with_pdf_docx_and_unsupported_attachments(tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    msg = _message(Message_ID="<budget-1@example.org>", Cc="Cy Young <cy@example.org>")
    _attach(msg, "report.pdf", make_pdf(["Glacier survey, first page.",
                                         "Meridian quota on the second page."]), "application/pdf")
    _attach(msg, "plan.docx", make_docx(["Lantern rollout in May."], heading="Lantern plan"), DOCX)
    _attach(msg, "scan.xyz", b"\x00\x01 not readable")
    path = tmp_path / "budget.eml"
    path.write_bytes(bytes(msg))

    doc = load(path)
    assert (doc.format, doc.title, doc.loader) == ("eml", "Harbour budget", "e-mail (Python email)")
    assert doc.metadata["subject"] == "Harbour budget"
    assert doc.metadata["from"] == "Ada Lovelace <ada@example.org>"
    assert doc.metadata["to"] == "Bob Stone <bob@example.org>"
    assert doc.metadata["cc"] == "Cy Young <cy@example.org>"
    assert doc.metadata["date"] == "2024-03-05T09:30:00+01:00"
    assert doc.metadata["message_id"] == "<budget-1@example.org>"
    assert doc.metadata["attachments_skipped"] == "scan.xyz: unsupported file type (.xyz: not text)"

    [page] = doc.pages
    heading, header, *body = page.blocks
    assert (heading.kind, heading.level) == ("heading", 1)
    assert heading.text == "Harbour budget — Ada Lovelace, 2024-03-05 09:30"
    assert header.text.splitlines() == [
        "From: Ada Lovelace <ada@example.org>", "To: Bob Stone <bob@example.org>",
        "Cc: Cy Young <cy@example.org>", "Date: 2024-03-05 09:30 +0100"]
    assert [b.text for b in body] == ["Hello Bob,", "The turbine ledger is attached.", "Ada"]

    parts = _by_name(doc)
    assert sorted(parts) == ["plan.docx", "report.pdf"]
    pdf, docx = parts["report.pdf"], parts["plan.docx"]
    assert pdf.path == f"{path}//report.pdf" and docx.path == f"{path}//plan.docx"
    assert display_name(pdf.path) == "budget.eml › report.pdf"
    assert pdf.format == "pdf" and [p.number for p in pdf.pages] == [1, 2]
    assert "Meridian quota" in pdf.pages[1].text and "Glacier" in pdf.pages[0].text
    assert docx.title == "Lantern plan" and "Lantern rollout" in _text(docx)
    assert doc.walk() == [doc, *doc.parts]
    assert list(temp.iterdir()) == []  # attachments' temporary copies are gone


def test_every_chunk_heading_names_the_message(tmp_path):
    """Citations show the chunk's heading: it must carry subject and date, even for a long
    subject (the chunker keeps only the first 100 characters of a heading)."""
    from engine.ingest.tokens import load_tokenizer
    from engine.model_files import default_embedder_dir

    subject = "Minutes of the harbour committee on ferry timetables " * 3
    body = "\n\n".join(f"Item {i}: the ferry to the summit runs every {i} hours in winter. " * 3
                       for i in range(30))
    path = tmp_path / "long.eml"
    path.write_bytes(bytes(_message(subject.strip(), body)))
    doc = load(path)
    heading = doc.pages[0].blocks[0].text
    assert len(heading) <= 100 and heading.endswith("— Ada Lovelace, 2024-03-05 09:30")
    chunks = chunk_document(doc, load_tokenizer(default_embedder_dir()), max_tokens=120)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.heading.startswith("Minutes of the harbour committee"), chunk.heading
        assert "2024-03-05 09:30" in chunk.heading


def test_html_only_eml_goes_through_the_html_loader(tmp_path):
    msg = _message(body=None)
    msg.set_content("<html><head><style>p {color: red}</style><script>track()</script></head>"
                    "<body><nav>Menu Home</nav><h1>Cobalt prices</h1><p>Cobalt rose 4%.</p>"
                    "<ul><li>anchor</li><li>beacon</li></ul></body></html>", subtype="html")
    path = tmp_path / "html.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    blocks = doc.pages[0].blocks
    text = _text(doc)
    assert "Cobalt rose 4%." in text and "- anchor\n- beacon" in text
    assert "track()" not in text and "color: red" not in text and "Menu Home" not in text
    # The body's own <h1> sits below the message heading, which stays on every heading path.
    assert [(b.text, b.level) for b in blocks if b.kind == "heading"] == [
        ("Harbour budget — Ada Lovelace, 2024-03-05 09:30", 1), ("Cobalt prices", 2)]


def test_plain_body_is_preferred_over_its_html_alternative(tmp_path):
    msg = _message(body="Plain version of the text.")
    msg.add_alternative("<p>HTML version of the text.</p>", subtype="html")
    path = tmp_path / "alt.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    assert "Plain version" in _text(doc) and "HTML version" not in _text(doc)
    assert doc.parts == [] and "attachments_skipped" not in doc.metadata


@pytest.mark.parametrize(("cte", "charset", "declared"), [
    ("quoted-printable", "iso-8859-1", "iso-8859-1"),
    ("base64", "utf-8", "utf-8"),
    ("8bit", "utf-8", "x-no-such-charset"),  # unknown charset: UTF-8 is tried
    ("8bit", "iso-8859-1", "x-no-such-charset"),  # neither: guessed as a text file's is
])
def test_transfer_encodings_and_charsets(tmp_path, cte, charset, declared):
    body = "Grüße aus Köln: Straße, café, naïve."
    payload = body.encode(charset)
    if cte == "quoted-printable":
        import quopri

        payload = quopri.encodestring(payload)
    elif cte == "base64":
        import base64

        payload = base64.encodebytes(payload)
    raw = (f"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nFrom: a@example.org\nDate: {DATE}\n"
           f"MIME-Version: 1.0\nContent-Type: text/plain; charset={declared}\n"
           f"Content-Transfer-Encoding: {cte}\n\n").encode() + payload
    path = tmp_path / "charset.eml"
    path.write_bytes(raw)
    doc = load(path)
    assert doc.title == "Grüße"
    assert body in _text(doc)


@pytest.mark.parametrize(("declared", "written", "text"), [
    ("gb2312", "gb18030", "这个是什么屄，这种"),  # 屄 is GBK only: "\ufffd" when read as GB2312
    ("iso-8859-1", "cp1252", "The \u201cquay\u201d \u2013 north side"),  # Windows' quotes
    ("euc-kr", "cp949", "똠방각하"),  # 똠 is in the Windows code page only
])
def test_a_declared_charset_is_read_as_the_superset_mail_programs_write(tmp_path, declared,
                                                                       written, text):
    """Python's test corpus of real spam (mail-parser's mail_test_9): a GB2312 subject and
    body with GBK characters. Browsers and mail programs read such labels as their supersets."""
    import base64

    word = base64.b64encode(text.encode(written)).decode()
    raw = (f"Subject: =?{declared}?B?{word}?=\nFrom: a@example.org\nDate: {DATE}\n"
           f"Content-Type: text/plain; charset={declared}\nContent-Transfer-Encoding: 8bit\n"
           f"\n").encode() + text.encode(written) + b"\n"
    path = tmp_path / "superset.eml"
    path.write_bytes(raw)
    doc = load(path)
    assert doc.title == text and text in _text(doc) and "\ufffd" not in _text(doc)


def test_a_multipart_is_split_at_the_boundary_its_body_uses(tmp_path):
    """mail-parser's mail_malformed_3 (real bulk mail): the header declares one boundary, the
    body uses another, and its base64 HTML part, without a charset, was read as raw MIME."""
    import base64

    html = "<p>Informaci\u00f3n de la compa\u00f1\u00eda: \u201cbrochure\u201d</p>"
    html += " " * (-len(html) % 3)  # no "=" padding, as there: the wrong end line is ignored
    raw = (f"Subject: Oferta\nFrom: a@example.org\nDate: {DATE}\nMIME-Version: 1.0\n"
           'Content-Type: multipart/alternative;\n\tboundary="--=_Declared"\n\n'
           "----=_Used\nContent-Type: text/html;\nContent-Transfer-Encoding: base64\n\n"
           + base64.encodebytes(html.encode("cp1252")).decode() + "\n----=_Other--\n")
    path = tmp_path / "bulk.eml"
    path.write_bytes(raw.encode())
    text = _text(load(path))
    assert "Informaci\u00f3n de la compa\u00f1\u00eda: \u201cbrochure\u201d" in text
    assert "Content-Type" not in text and "PHA+" not in text


def test_nested_messages_become_parts_with_a_depth_limit(tmp_path):
    inner = _message("Inner memo", "The vessel sails at dawn.")
    _attach(inner, "manifest.pdf", make_pdf(["Manifest: 40 crates of saline."]), "application/pdf")
    outer = _message("Fwd: Inner memo", "See the attached memo.")
    outer.add_attachment(inner)  # message/rfc822
    path = tmp_path / "fwd.eml"
    path.write_bytes(bytes(outer))
    doc = load(path)
    [memo] = doc.parts
    assert memo.path == f"{path}//Inner memo.eml" and memo.format == "eml"
    assert memo.pages[0].blocks[0].text.startswith("Inner memo — Ada Lovelace, 2024-03-05")
    [manifest] = memo.parts
    assert manifest.path == f"{path}//Inner memo.eml//manifest.pdf"
    assert display_name(manifest.path) == "fwd.eml › Inner memo.eml › manifest.pdf"
    assert "40 crates" in _text(manifest)

    outlook = write_msg(tmp_path / "q.msg", MsgSpec("Outlook memo", body="Gravel order.",
                                                    date=UTC_DATE))
    mail = _message("Two attached files")
    _attach(mail, "q.msg", outlook.read_bytes(), "application/vnd.ms-outlook")
    _attach(mail, "saved.eml", bytes(_message("Saved mail", "Cobalt delivery.")))
    path.write_bytes(bytes(mail))
    doc = load(path)
    parts = _by_name(doc)
    assert sorted(parts) == ["q.msg", "saved.eml"]
    assert parts["q.msg"].format == "msg" and "Gravel order." in _text(parts["q.msg"])
    assert parts["saved.eml"].title == "Saved mail"
    assert "Cobalt delivery." in _text(parts["saved.eml"])

    # named by habit, not by kind: a message saved as text under .msg (libmime-explode's
    # multi-igor.msg failed as "corrupt Outlook message") and an Outlook message named .eml
    mail = _message("Misnamed messages")
    _attach(mail, "forwarded.msg", bytes(_message("Text memo", "Anchor chain inspected.")),
            "text/plain")
    _attach(mail, "outlook.eml", outlook.read_bytes(), "application/octet-stream")
    path.write_bytes(bytes(mail))
    parts = _by_name(load(path))
    assert parts["forwarded.msg"].format == "eml"
    assert "Anchor chain inspected." in _text(parts["forwarded.msg"])
    assert parts["outlook.eml"].format == "msg" and "Gravel order." in _text(parts["outlook.eml"])

    nested = _message("Level 0", "Body 0")
    for level in range(1, MAX_DEPTH + 3):
        wrapper = _message(f"Level {level}", f"Body {level}")
        wrapper.add_attachment(nested)
        nested = wrapper
    path.write_bytes(bytes(nested))
    doc = load(path)
    depth = 0
    while doc.parts:
        [doc] = doc.parts
        depth += 1
    assert depth == MAX_DEPTH
    assert "nested more than 5 deep" in doc.metadata["attachments_skipped"]


def test_attachment_problems_are_listed_not_fatal(tmp_path):
    msg = _message()
    _attach(msg, "broken.pdf", b"%PDF-1.7\n garbage garbage", "application/pdf")
    _attach(msg, "empty.txt", b"", "text/plain")
    _attach(msg, "../../etc/notes.txt", b"Path tricks stay inside the temp folder.", "text/plain")
    _attach(msg, "notes.txt", b"A second notes.txt.", "text/plain")
    path = tmp_path / "mixed.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    skipped = doc.metadata["attachments_skipped"].split("; ")
    assert skipped[0].startswith("broken.pdf: ") and skipped[1].startswith("empty.txt: empty")
    parts = _by_name(doc)
    assert sorted(parts) == ["notes (2).txt", "notes.txt"]
    assert "Path tricks" in _text(parts["notes.txt"])
    assert parts["notes (2).txt"].path == f"{path}//notes (2).txt"


def test_a_truncated_picture_or_a_reader_bug_loses_only_that_attachment(tmp_path, monkeypatch):
    """Python's own test message msg_22 carries JPEGs cut short in their header: the message
    was lost ("parser error: OSError: Truncated File Read"); now the picture is listed."""
    from PIL import Image

    from engine.ingest.loaders import embedded

    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(picture, "JPEG", comment=b"x" * 200)
    msg = _message()
    _attach(msg, "wibble.jpg", picture.getvalue()[:100], "image/jpeg")
    path = tmp_path / "pictures.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    assert "turbine ledger" in _text(doc) and doc.parts == []
    assert doc.metadata["attachments_skipped"].startswith("wibble.jpg: corrupt or truncated image")

    msg = _message()
    _attach(msg, "notes.txt", b"Readable notes.", "text/plain")
    path.write_bytes(bytes(msg))

    def broken_reader(*args, **kwargs):
        raise KeyError("a reader's own bug")

    monkeypatch.setattr(embedded.loaders, "load", broken_reader)
    doc = load(path)
    assert "turbine ledger" in _text(doc) and doc.parts == []
    reason = doc.metadata["attachments_skipped"]
    assert reason.startswith("notes.txt: parser error: KeyError: ")
    assert "(test_loaders_email.py:" in reason  # where it was raised


def test_inline_images_of_the_html_body_are_not_attachments(tmp_path):
    msg = _message(body=None)
    msg.set_content("<p>Signature below <img src='cid:logo1'></p>", subtype="html")
    msg.add_related(b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png", cid="<logo1>",
                    filename="logo.png", disposition="inline")
    path = tmp_path / "logo.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    assert doc.parts == [] and "attachments_skipped" not in doc.metadata
    assert "Signature below" in _text(doc)


def test_damaged_and_headerless_eml(tmp_path):
    broken = tmp_path / "broken.eml"  # multipart without its boundary, Date unparseable
    broken.write_bytes(b"Subject: Half a message\nFrom: ada@example.org\nDate: yesterday-ish\n"
                       b"Content-Type: multipart/mixed\n\nThe boundary went missing but the "
                       b"text survives.\n")
    doc = load(broken)
    assert doc.title == "Half a message" and "text survives" in _text(doc)
    assert "date" not in doc.metadata
    assert doc.pages[0].blocks[0].text == "Half a message — ada@example.org"

    no_subject = tmp_path / "nosubject.eml"
    no_subject.write_bytes(b"From: ada@example.org\n\nJust a body.\n")
    assert load(no_subject).title == "(no subject)"

    headerless = tmp_path / "notes.eml"
    headerless.write_text("these are just notes\nwithout any header line\n")
    _one_line_error(headerless, "not an e-mail message (no headers)")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(st.characters(categories=["L", "N", "P", "S", "Zs"],
                                     exclude_characters="=\u00a0\u3000\u2000\u2001\u2002\u2003"
                                     "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"),
                       min_size=1, max_size=60).filter(lambda s: s.strip()),
       body=st.lists(st.text(st.characters(categories=["L", "N", "P", "S"], exclude_characters="="),
                             min_size=1, max_size=80), min_size=1, max_size=4),
       cte=st.sampled_from(["quoted-printable", "base64", "8bit"]))
def test_any_subject_and_body_round_trip(tmp_path, subject, body, cte):
    text = "\n\n".join(body)
    msg = _message(subject, None)
    msg.set_content(text, cte=cte)
    path = tmp_path / "prop.eml"
    path.write_bytes(msg.as_bytes(policy=email.policy.SMTPUTF8))
    doc = load(path)
    assert doc.title == _flat(subject)
    assert _flat(subject) in doc.pages[0].blocks[0].text
    assert _flat(text) in _flat(_text(doc))


# ------------------------------------------------------------------------------------ .mbox


def _mbox(path: Path, messages: list[EmailMessage]) -> Path:
    box = mailbox.mbox(str(path))
    try:
        for msg in messages:
            box.add(msg)
    finally:
        box.close()
    return path


def test_mbox_messages_are_numbered_parts(tmp_path, monkeypatch):
    second = _message("Ferry schedule", "From now on the ferry leaves at nine.",
                      date="Wed, 06 Mar 2024 10:00:00 +0000")
    _attach(second, "timetable.pdf", make_pdf(["Timetable page one.", "Winter timetable."]),
            "application/pdf")
    path = _mbox(tmp_path / "inbox.mbox", [
        _message("Budget", "The budget is approved."), second,
        _message("Lunch", "Orchard café at noon?", date="Thu, 07 Mar 2024 12:00:00 +0000")])
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    modes: list[str] = []
    real_open = builtins.open

    def spy(file, mode="r", *args, **kwargs):
        if os.fspath(file) == str(path):
            modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    doc = load(path)
    monkeypatch.undo()
    # Opened read-only: a write handle (the stdlib's "rb+") is a write event to the folder
    # watcher on close, and fails on read-only files.
    assert modes == ["rb"]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not [p for p in os.listdir(tmp_path) if p != "inbox.mbox" and "lock" in p.lower()]
    assert (doc.format, doc.title, doc.pages) == ("mbox", "inbox.mbox: 3 messages", [])
    assert doc.loader == "mailbox (Python mailbox)" and doc.metadata["messages"] == "3"
    assert [m.path for m in doc.parts] == [f"{path}//{n}" for n in (1, 2, 3)]
    assert [m.title for m in doc.parts] == ["Budget", "Ferry schedule", "Lunch"]
    ferry = doc.parts[1]
    assert ferry.format == "eml" and ferry.loader == "e-mail (Python email)"
    assert ferry.pages[0].blocks[0].text == "Ferry schedule — Ada Lovelace, 2024-03-06 10:00"
    assert "From now on the ferry leaves at nine." in _text(ferry)  # not an mbox separator
    [timetable] = ferry.parts
    assert timetable.path == f"{path}//2//timetable.pdf"
    assert display_name(timetable.path) == "inbox.mbox › 2 › timetable.pdf"
    assert timetable.pages[1].number == 2 and "Winter timetable" in timetable.pages[1].text
    assert "Orchard café" in _text(doc.parts[2])


def test_mbox_with_unreadable_messages(tmp_path):
    good = _mbox(tmp_path / "mixed.mbox", [_message("Kept", "Kept body.")])
    good.write_bytes(b"From nobody Mon Jan  1 00:00:00 2024\nthis is not a header line\n\n"
                     + good.read_bytes())
    doc = load(good)
    assert doc.title == "mixed.mbox: 2 messages" and doc.metadata["messages_skipped"] == "1"
    assert [m.path for m in doc.parts] == [f"{good}//2"]  # numbers stay those of the file

    garbage = tmp_path / "garbage.mbox"
    garbage.write_bytes(b"From garbage\n%%%% no headers here\n\nFrom more\n@@@@\n")
    _one_line_error(garbage, "no readable messages in the mailbox (2 could not be parsed)")

    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"\n\n")
    with pytest.raises(LoadError, match=r"^empty mailbox \(no messages\)$"):
        load_mbox(empty, LoadOptions())  # load() itself refuses it earlier, at sniffing


# ------------------------------------------------------------------------------------ .msg


def _open_fds_to(path: Path) -> list[str]:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        return []
    found = []
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(fd_dir / fd) == str(path):
                found.append(fd)
        except OSError:
            continue
    return found


def test_msg_with_attachments_and_embedded_message(tmp_path):
    inner = MsgSpec("Inner note", body="Inner body about turbines.",
                    date=dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC),
                    attachments=[("inner.txt", b"Inner attachment about gravel.")])
    spec = MsgSpec("Quarterly numbers", body="Hello Bob,\r\n\r\nThe harbour figures are in.\r\n",
                   cc=[("Cy Young", "cy@example.org")], date=UTC_DATE, embedded=[inner],
                   attachments=[("report.pdf", make_pdf(["Q1 tundra.", "Q2 summit figures."])),
                                ("plan.docx", make_docx(["Compass drill."])),
                                ("scan.xyz", b"\x00junk")])
    path = write_msg(tmp_path / "numbers.msg", spec)
    doc = load(path)
    assert not _open_fds_to(path), "the Message object was not closed"
    assert (doc.format, doc.title, doc.loader) == (
        "msg", "Quarterly numbers", "Outlook message (extract-msg)")
    assert doc.metadata["from"] == "Ada Lovelace <ada@example.org>"
    assert doc.metadata["to"] == "Bob Stone <bob@example.org>"
    assert doc.metadata["cc"] == "Cy Young <cy@example.org>"
    assert doc.metadata["date"] == "2024-03-05T09:30:00+00:00"
    assert doc.metadata["attachments_skipped"] == "scan.xyz: unsupported file type (.xyz: not text)"
    blocks = doc.pages[0].blocks
    assert blocks[0].text == "Quarterly numbers — Ada Lovelace, 2024-03-05 09:30"
    assert [b.text for b in blocks[2:]] == ["Hello Bob,", "The harbour figures are in."]

    parts = _by_name(doc)
    assert sorted(parts) == ["Inner note.msg", "plan.docx", "report.pdf"]
    assert parts["report.pdf"].path == f"{path}//report.pdf"
    assert "Q2 summit" in parts["report.pdf"].pages[1].text
    assert "Compass drill." in _text(parts["plan.docx"])
    note = parts["Inner note.msg"]
    assert note.pages[0].blocks[0].text == "Inner note — Ada Lovelace, 2024-01-02 03:04"
    assert "Inner body about turbines." in _text(note)
    [inner_txt] = note.parts
    assert display_name(inner_txt.path) == "numbers.msg › Inner note.msg › inner.txt"


def test_msg_html_and_rtf_bodies(tmp_path):
    html = write_msg(tmp_path / "html.msg", MsgSpec(
        "HTML only", html=b"<html><body><h1>Drift report</h1><p>Saline levels fell.</p>"
                          b"<script>x()</script></body></html>", date=UTC_DATE))
    doc = load(html)
    assert "Saline levels fell." in _text(doc) and "x()" not in _text(doc)
    assert ("Drift report", 2) in [(b.text, b.level) for b in doc.pages[0].blocks]

    assert rtf_text(rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\*\generator Riched20;}\f0 Caf\'e9 "
                     rb"ration\par Second \u8364? line\par}") == "Café ration\nSecond € line\n"


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, "PNG")
    return out.getvalue()


def test_msg_pictures_attached_as_files_are_read_though_they_have_content_ids(tmp_path):
    """Outlook.com and new Outlook give every attachment a content ID: only a picture the HTML
    body refers to ("cid:...") is the body's own (a logo); a photo attached as a file is read."""
    write_msg(tmp_path / "trip.msg", MsgSpec(
        subject="Trip photos", html=b"<p>Photos attached.</p><img src='cid:logo-1@x'>",
        attachments=[("logo.png", _png()), ("photo.png", _png())],
        content_ids={"logo.png": "logo-1@x", "photo.png": "A41F@namprd03.prod.outlook.com"}))
    doc = load(tmp_path / "trip.msg", options=LoadOptions(ocr=False))
    assert [u.key for u in doc.unread] == ["photo.png"]  # waits for OCR; the logo is not listed
    assert "OCR" in doc.unread[0].reason


def test_msg_with_rtf_only_body(tmp_path):
    import compressed_rtf
    import olefile
    from extract_msg.ole_writer import OleWriter

    path = write_msg(tmp_path / "rtf.msg", MsgSpec("RTF only", date=UTC_DATE))
    # Rewrite with an RTF body (PR_RTF_COMPRESSED): the builder has no RTF field.

    writer = OleWriter()
    with olefile.OleFileIO(str(path)) as ole:
        writer.fromOleFile(ole)
    rtf = compressed_rtf.compress(rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Beacon on the "
                                  rb"meridian\par\par Second paragraph\par}")
    writer.addEntry("__substg1.0_10090102", rtf)
    writer.write(str(path))
    doc = load(path)
    assert [b.text for b in doc.pages[0].blocks[2:]] == [
        "Beacon on the meridian", "Second paragraph"]


def test_signed_msg_reads_the_signed_content(tmp_path):
    """A clear-signed message keeps body and attachments inside its one MIME attachment."""
    signed = (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
              b'boundary="XX"\r\n\r\n--XX\r\nContent-Type: multipart/mixed; boundary="YY"\r\n\r\n'
              b"--YY\r\nContent-Type: text/plain\r\n\r\nSigned body about anchors.\r\n--YY\r\n"
              b'Content-Type: text/plain\r\nContent-Disposition: attachment; filename="n.txt"\r\n'
              b"\r\nSigned attachment text.\r\n--YY--\r\n--XX\r\nContent-Type: application/"
              b"pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
              b"MIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--XX--\r\n")
    path = write_msg(tmp_path / "signed.msg", MsgSpec(
        "Signed", message_class="IPM.Note.SMIME.MultipartSigned", date=UTC_DATE,
        attachments=[("smime.p7m", signed)]))
    doc = load(path)
    assert "Signed body about anchors." in _text(doc)
    assert [(p.path, _text(p)) for p in doc.parts] == [
        (f"{path}//n.txt", "Signed attachment text.")]
    assert "attachments_skipped" not in doc.metadata  # the signature is no attachment


def test_msg_without_its_code_page_is_read_in_the_one_its_text_is_in():
    """msgconvert's charset.msg (Email::Outlook::Message's tests, Perl's licence; a PST export)
    stores 8-bit text and names no code page; extract-msg decoded it as ISO-8859-15 and the
    Windows-1252 ellipsis became a control character, read as a line break."""
    doc = load(DATA / "msgconvert-charset.msg")
    assert doc.title == "PST Export - Embedded Email Test"
    assert doc.pages[0].blocks[-1].text == "This email contains an email… Email-ception!!!"


def test_msg_errors_are_one_line(tmp_path, caplog):
    real = write_msg(tmp_path / "real.msg", MsgSpec("Real", body="Body text."))
    truncated = tmp_path / "truncated.msg"
    truncated.write_bytes(real.read_bytes()[:600])
    _one_line_error(truncated, "corrupt Outlook message (")
    junk = tmp_path / "junk.msg"
    junk.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(3000))
    _one_line_error(junk, "corrupt Outlook message (")
    assert not [r for r in caplog.records if r.name.startswith(("extract_msg", "RTFDE"))]

    from extract_msg.ole_writer import OleWriter

    other = OleWriter()
    other.addEntry("WordDocument", b"\x00" * 600)
    other.write(str(tmp_path / "word.msg"))
    # read by its content (a Word stream): the damaged Word file's reason names what it is
    reason = _one_line_error(tmp_path / "word.msg", "corrupt or unreadable .doc")
    assert reason.endswith("(read by its content: a .msg file that is Word 97-2003 (.doc))")

    enveloped = bytes.fromhex("3082010006092a864886f70d010703a0") + os.urandom(200)
    smime = write_msg(tmp_path / "smime.msg", MsgSpec(
        "Secret", message_class="IPM.Note.SMIME", attachments=[("smime.p7m", enveloped)]))
    _one_line_error(smime, "encrypted Outlook message (S/MIME)")
    irm = write_msg(tmp_path / "irm.msg", MsgSpec("Protected", body="placeholder",
                                                  message_class="IPM.Note.rpmsg"))
    _one_line_error(irm, "encrypted Outlook message (rights-protected)")
    for path in (truncated, junk, smime, irm):
        assert not _open_fds_to(path)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=60),
       body=st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=200))
def test_msg_subject_and_body_round_trip(tmp_path, subject, body):
    path = write_msg(tmp_path / "prop.msg", MsgSpec(subject, body=body, date=UTC_DATE))
    doc = load(path)
    assert doc.title == subject and subject in doc.pages[0].blocks[0].text
    assert body in _text(doc)


# ------------------------------------------------------------------------ mail without .eml


def test_maildir_folders_and_their_maildir_plus_subfolders_are_mail(tmp_path):
    """mutt/Evolution/Dovecot keep one file per message in cur/ and new/ (named
    "<time>.<unique>.<host>:2,<flags>"), sub-folders as hidden ".Sent" folders (Maildir++)."""
    from engine.ingest.scan import scan
    from engine.watch import _indexable

    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    box.add(_message("Ferry times", "The winter ferry leaves at nine."))
    key = box.add(_message("Budget", "The lantern budget is 400 crowns."))
    seen = box[key]
    seen.set_subdir("cur")
    seen.add_flag("S")
    box[key] = seen
    box.add_folder("Sent").add(_message("Re: Budget", "Approved."))
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "notes.txt").write_text("tool state, never indexed")
    found = [f for f in scan([tmp_path]).files if "/cur/" in f or "/new/" in f]
    assert len(found) == 3 and not any("/.cache/" in f for f in scan([tmp_path]).files)
    assert any("/.Sent/" in f for f in found) and any(f.endswith(":2,S") for f in found)
    docs = {load(f).title: load(f) for f in found}
    assert set(docs) == {"Ferry times", "Budget", "Re: Budget"}
    assert docs["Budget"].format == "eml"
    assert docs["Budget"].pages[0].blocks[0].text.startswith("Budget — Ada Lovelace, 2024-03-05")
    assert all(_indexable(f) for f in found)  # the folder watcher sees the same files
    assert not _indexable(str(tmp_path / ".cache" / "notes.txt"))
    # Dovecot's indexes and uid list and the Maildir marker are not mail and not documents:
    # neither read (as text, they were junk in the index) nor listed as skipped
    clutter = ["dovecot.index", "dovecot.index.log", "dovecot-uidlist", "maildirfolder"]
    for name in clutter:
        (tmp_path / "Maildir" / name).write_bytes(b"3 V1700000000 N4 G1a2b\n1 :1700000000\n")
    result = scan([tmp_path])
    listed = [*result.files, *(p for p, _ in result.skipped), *(p for p, _ in result.failed)]
    assert not any(os.path.basename(p) in clutter for p in listed)
    assert not any(_indexable(str(tmp_path / "Maildir" / name)) for name in clutter)


THUNDERBIRD_SEPARATOR = "From - Tue Mar 05 10:00:00 2024\nX-Mozilla-Status: 0001\n"


def test_thunderbird_mail_folders_without_an_extension_are_mailboxes(tmp_path):
    folder = tmp_path / "Local Folders"
    folder.mkdir()
    inbox = folder / "Inbox"
    inbox.write_text("".join(THUNDERBIRD_SEPARATOR + _message(subject, body).as_string() + "\n"
                             for subject, body in (("Harbour meeting", "Moved to Friday."),
                                                   ("Crane repair", "New winch cable."))))
    (folder / "Inbox.msf").write_text("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n< <(a=c)> >\n")
    from engine.ingest.scan import scan
    from engine.watch import _indexable

    result = scan([tmp_path])  # Thunderbird's summary file: neither read nor listed
    assert result.files == [str(inbox)] and result.skipped == [] and result.failed == []
    assert _indexable(str(inbox)) and not _indexable(str(folder / "Inbox.msf"))
    doc = load(inbox)
    assert (doc.format, doc.metadata["messages"]) == ("mbox", "2")
    assert [m.title for m in doc.parts] == ["Harbour meeting", "Crane repair"]
    saved = tmp_path / "message-from-ada"  # a message saved without ".eml"
    saved.write_bytes(_message("Lunch", "Orchard café at noon?").as_bytes())
    assert load(saved).format == "eml" and "Orchard café" in _text(load(saved))
    traced = tmp_path / "message-from-the-server"  # From and Date after 8 KB of trace fields
    trace = "Return-Path: <ada@example.org>\nDelivered-To: bob@example.org\n" + "".join(
        f"Received: from relay{n}.example.net by mx.example.org; {DATE}\n"
                    f"X-IronPort-AV: E=Sophos;i=\"6.00,{n}\";d=\"scan'208\"\n"
                    for n in range(70))
    traced.write_bytes(trace.encode() + _message("Wire transfer", "Sent today.").as_bytes())
    assert len(trace) > 8192 and load(traced).format == "eml"
    for name, text in (("README", "From the author: thanks for reading.\nMore text.\n"),
                       ("NOTES", "Title: notes\nAuthor: me\nDate: today\n\nNot mail.\n")):
        (tmp_path / name).write_text(text)
        assert load(tmp_path / name).format == "text", name


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=600).map(str.encode))
def test_mail_sniffing_never_fails_on_any_bytes(head):
    from engine.ingest.loaders.formats import mail_format

    assert mail_format(head) in (None, "eml", "mbox")
    assert mail_format(THUNDERBIRD_SEPARATOR.encode() + head) == "mbox"


def test_an_outlook_template_reads_like_a_message(tmp_path):
    oft = write_msg(tmp_path / "weekly report.oft", MsgSpec(
        subject="Weekly report", body="Fill in the hours spent on the survey each day."))
    assert detect_format(oft) == "msg"
    doc = load(oft)
    assert "Fill in the hours spent on the survey each day." in doc.pages[0].text


def _screenshot(text: str) -> bytes:
    """A picture of a line of text, 1190 x 300 pixels: what a pasted screenshot looks like."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(make_pdf([text]))
    bitmap = pdf[0].render(scale=2, grayscale=True)
    image = bitmap.to_pil().crop((0, 0, 1190, 300))
    out = io.BytesIO()
    image.save(out, "PNG")
    pdf.close()
    return out.getvalue()


SHOT_TEXT = "Error 5: access denied while saving the harbour ledger"


def test_a_screenshot_pasted_into_an_eml_is_read_its_logo_is_not(tmp_path):
    msg = _message(body=None)
    msg.set_content("<p>This is what I see:</p><img src='cid:shot1'><p>Regards</p>"
                    "<img src='cid:logo1'>", subtype="html")
    msg.add_related(_screenshot(SHOT_TEXT), maintype="image", subtype="png", cid="<shot1>")
    msg.add_related(_png(), maintype="image", subtype="png", cid="<logo1>",
                    filename="logo.png", disposition="inline")
    path = tmp_path / "shot.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    assert [p.path for p in doc.parts] == [f"{path}//attachment-1.png"]
    assert "access denied" in _text(doc.parts[0]).lower()


def test_a_screenshot_pasted_into_an_outlook_message_waits_for_ocr(tmp_path):
    write_msg(tmp_path / "shot.msg", MsgSpec(
        subject="It fails", html=b"<p>See:</p><img src='cid:shot@x'><img src='cid:logo@x'>",
        attachments=[("image001.png", _screenshot(SHOT_TEXT)), ("logo.png", _png())],
        content_ids={"image001.png": "shot@x", "logo.png": "logo@x"}))
    doc = load(tmp_path / "shot.msg", options=LoadOptions(ocr=False))
    assert [u.key for u in doc.unread] == ["image001.png"]  # the logo is not listed
