"""Outlook's winmail.dat (TNEF) inside e-mail: its files and its body are read.

The three TNEF files in tests/data are real Outlook output from tnefparse's test suite
(github.com/koodaamo/tnefparse, LGPL-3.0): two attached files (AUTHORS, README), a body kept
only as compressed RTF, and a body kept only as HTML.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from engine.ingest.document import display_name
from engine.ingest.loaders import load
from engine.ingest.loaders.parts import extract_part
from engine.ingest.loaders.tnef import is_tnef, unpack

DATA = Path(__file__).parent / "data"


def _mail(tmp_path: Path, tnef: str, body: str | None, name: str = "winmail.dat") -> Path:
    msg = EmailMessage()
    msg["Subject"] = "Quarterly figures"
    msg["From"] = "Greg Allen <gallen@example.com>"
    msg["To"] = "bob@example.org"
    msg["Date"] = "Tue, 05 Mar 2024 09:30:00 +0100"
    if body is not None:
        msg.set_content(body)
    msg.add_attachment((DATA / tnef).read_bytes(), maintype="application", subtype="ms-tnef",
                       filename=name)
    path = tmp_path / "figures.eml"
    path.write_bytes(bytes(msg))
    return path


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_files_inside_winmail_dat_become_the_messages_attachments(tmp_path):
    doc = load(_mail(tmp_path, "tnef-two-files.dat", "See the attached notes."))
    names = [display_name(p.path).rsplit(" › ", 1)[-1] for p in doc.parts]
    assert names == ["AUTHORS", "README"]  # files without an extension, read by their content
    readme = doc.parts[1]
    assert "TNEF is a program for unpacking MIME attachments" in _flat(readme.pages[0].text)
    assert "attachments_skipped" not in doc.metadata  # winmail.dat itself is not "unsupported"
    # the message keeps its own body; the TNEF has none to add
    assert "See the attached notes." in doc.pages[0].text


def test_a_body_kept_only_inside_winmail_dat_stands_in_for_an_empty_one(tmp_path):
    rtf = load(_mail(tmp_path, "tnef-rtf-body.dat", None))
    text = _flat(rtf.pages[0].text)
    assert "Greg Allen Senior Engineer/QADirector Team" in text  # from the compressed RTF
    assert "fonttbl" not in text and "\\par" not in text
    html = load(_mail(tmp_path, "tnef-html-body.dat", " "))
    assert "THE BILL OF RIGHTS" in html.pages[0].text
    # a message with its own body keeps it: the TNEF's copy of the same body is not added twice
    kept = load(_mail(tmp_path, "tnef-html-body.dat", "Short note."))
    assert "THE BILL OF RIGHTS" not in kept.pages[0].text


def test_tnef_is_told_by_its_bytes_and_damage_skips_only_the_attachment(tmp_path):
    data = (DATA / "tnef-two-files.dat").read_bytes()
    assert is_tnef(data) and not is_tnef(b"PK\x03\x04" + data[4:])
    assert [name for name, _ in unpack(data).attachments] == ["AUTHORS", "README"]
    # named like any attachment (Outlook also writes ATT00001.dat): found by its signature
    doc = load(_mail(tmp_path, "tnef-two-files.dat", "Hi.", name="ATT00001.dat"))
    assert len(doc.parts) == 2
    damaged_tnef = bytearray(data)
    damaged_tnef[19:23] = b"\xff\xff\xff\x7f"  # the code page attribute's header, overwritten
    msg = EmailMessage()
    msg["Subject"] = "Damaged"
    msg.set_content("The body survives.")
    msg.add_attachment(bytes(damaged_tnef), maintype="application", subtype="ms-tnef",
                       filename="winmail.dat")
    (tmp_path / "damaged.eml").write_bytes(bytes(msg))
    damaged = load(tmp_path / "damaged.eml")
    assert "The body survives." in damaged.pages[0].text and damaged.parts == []
    assert damaged.metadata["attachments_skipped"].startswith(
        "winmail.dat: corrupt winmail.dat (TNEF): ")


def test_a_cited_file_from_winmail_dat_opens_on_its_own(tmp_path):
    doc = load(_mail(tmp_path, "tnef-two-files.dat", "Notes attached."))
    readme = doc.parts[1]
    copied = extract_part(readme.path, tmp_path / "out")
    assert copied is not None and copied.name == "README"
    assert copied.read_bytes() == dict(unpack(
        (DATA / "tnef-two-files.dat").read_bytes()).attachments)["README"]
