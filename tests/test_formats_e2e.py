"""Every kind of file a documents folder holds, through the whole pipeline at once.

One folder mixes the sample corpus (every older format) with e-mail (.eml with attachments, an
mbox of three messages, an Outlook .msg, a real Outlook .pst archive), a legacy .doc converted
by LibreOffice, a scanned PDF and a photo of a page read by OCR, plus broken files of the new
types. It must index to completion, report each broken file with its reason, find the new
files' sentences, cite the message or page they came from, and say per file what read it.
"""

from __future__ import annotations

import datetime as dt
import lzma
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.indexer import index_paths
from engine.ingest.document import display_name
from engine.retrieve import search
from tests.helpers_corpus import copy_corpus
from tests.helpers_mail import MsgSpec, make_pdf, write_msg

OCR_SENTENCE = "The night porter keeps the spare keys in the blue cabinet."
SOFFICE = shutil.which("soffice")


def _message(subject: str, body: str, date: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, "Ada <ada@example.org>", "bob@example.org"
    msg["Date"] = date
    msg.set_content(body)
    return msg


def _scanned_pdf(folder: Path) -> Path:
    """A PDF whose second page is only an image of text (a scan), and a PNG of that page."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    source = folder / "source.pdf"
    source.write_bytes(make_pdf([OCR_SENTENCE]))
    pdf = pdfium.PdfDocument(str(source))
    bitmap = pdf[0].render(scale=200 / 72, grayscale=True)
    png = folder / "photo_of_page.png"
    bitmap.to_pil().save(png, dpi=(200, 200))
    bitmap.close()
    pdf.close()
    source.unlink()
    scan = FPDF()
    scan.set_font("helvetica", size=12)
    scan.add_page()
    scan.multi_cell(w=0, text="Front page of the night log, typed before scanning.")
    scan.add_page()
    scan.image(str(png), x=0, y=0, w=scan.w, h=scan.h)
    scan.output(str(folder / "night_log.pdf"))
    return png


def _legacy_doc(folder: Path, work: Path) -> None:
    import docx

    from tests.test_loaders_legacy import _soffice

    modern = work / "minutes.docx"
    document = docx.Document()
    document.add_heading("Minutes", level=1)
    document.add_paragraph("The committee chose the CORMORANT-4 pump for the east basin.")
    document.save(modern)
    _soffice(["--convert-to", "doc:MS Word 97", "--outdir", str(folder), str(modern)],
             work / "profile")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is installed by make test")
def test_a_folder_of_every_format_indexes_and_cites_messages_and_pages(tmp_path):
    folder = copy_corpus(tmp_path / "documents")
    mail = folder / "mail"
    mail.mkdir()
    eml = _message("Boiler service", "The boiler is serviced every March by HESTIA-9.",
                   "Mon, 04 Mar 2024 09:30:00 +0000")
    eml.add_attachment(make_pdf(["Invoice cover page.", "The service costs 240 euros."]),
                       maintype="application", subtype="pdf", filename="invoice.pdf")
    (mail / "boiler.eml").write_bytes(bytes(eml))
    box = folder / "mail" / "inbox.mbox"
    import mailbox

    mbox = mailbox.mbox(str(box))
    for subject, body, day in (("Budget", "The 2024 budget was approved.", 5),
                               ("Ferry", "The ferry now leaves the pier at nine.", 6),
                               ("Lunch", "Lunch is at the Orchard café on Friday.", 7)):
        mbox.add(_message(subject, body, f"Wed, 0{day} Mar 2024 10:00:00 +0000"))
    mbox.close()
    archive = lzma.decompress((Path(__file__).parent / "data" /
                               "pst-extractor-enron.pst.xz").read_bytes())  # test_loaders_pst
    (mail / "enron.pst").write_bytes(archive)
    write_msg(mail / "alarm.msg", MsgSpec(
        subject="Alarm codes", body="The alarm code for the archive is KESTREL-55.",
        date=dt.datetime(2024, 3, 8, 8, 0, tzinfo=dt.UTC)))
    scans = folder / "scans"
    scans.mkdir()
    _scanned_pdf(scans)
    _legacy_doc(folder, tmp_path)
    broken = folder / "broken"
    broken.mkdir()
    (broken / "truncated.doc").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 700)
    (broken / "garbage.mbox").write_bytes(b"From nobody\n\x00\x01\x02" * 50)
    (broken / "cut.msg").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"junk" * 100)
    (broken / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (broken / "not_rtf.rtf").write_text("plain words, not RTF")

    summary = index_paths([folder])

    assert not summary.cancelled
    failed = {Path(f["path"]).name: f["reason"] for f in summary.files_failed}
    assert set(failed) >= {"truncated.doc", "garbage.mbox", "cut.msg", "damaged.png",
                           "not_rtf.rtf"}, failed
    assert all(reason and "\n" not in reason and "Traceback" not in reason
               for reason in failed.values()), failed
    loaders = {Path(f["path"]).name: f["loader"] for f in summary.files}
    assert "OCR" in loaders["night_log.pdf"] and "OCR" in loaders["photo_of_page.png"]
    assert "LibreOffice" in loaders["minutes.doc"]
    assert {display_name(p["path"]) for f in summary.files for p in f["parts"]} >= {
        "boiler.eml › invoice.pdf", "inbox.mbox › 1", "inbox.mbox › 2", "inbox.mbox › 3"}

    ferry = search("ferry leaves the pier at nine", mode="text", k=1)[0]
    assert display_name(ferry.path) == "inbox.mbox › 2"
    assert "Ferry" in ferry.heading and "2024" in ferry.heading  # the message and its date
    invoice = search("service costs 240 euros", mode="text", k=1)[0]
    assert invoice.path.endswith("boiler.eml//invoice.pdf") and invoice.page == 2
    assert search("HESTIA-9", mode="text", k=1)[0].path.endswith("boiler.eml")
    assert search("KESTREL-55", mode="text", k=1)[0].path.endswith("alarm.msg")
    capacity = search("West Texas receipts 4265 dth", mode="text", k=1)[0]
    assert display_name(capacity.path) == (
        "enron.pst › lokay-m › MLOKAY (Non-Privileged) › TW-Commercial Group › 3")
    assert capacity.heading.startswith("West Texas Capacity — dlsmith@pplweb.com, 2001-10-24")
    assert search("CORMORANT-4", mode="text", k=1)[0].path.endswith("minutes.doc")
    # the PNG is a copy of the scanned page: search lists that text once, so ask the PDF itself
    scanned = search("night porter spare keys blue cabinet", mode="text", k=5,
                     paths=[str(folder / "scans" / "night_log.pdf")])
    assert scanned and scanned[0].page == 2
    copies = search("night porter spare keys blue cabinet", mode="text", k=5)
    assert len({h.text for h in copies}) == len(copies)

    again = index_paths([folder])  # nothing changed: nothing is parsed again or lost
    assert again.files_indexed == 0 and again.files_removed == 0
    assert search("ferry leaves the pier at nine", mode="text", k=1)[0].path == ferry.path
    box.unlink()  # a deleted mailbox takes its messages with it
    gone = index_paths([folder])
    assert gone.files_removed == 1  # the mailbox, with its three messages
    assert not any("inbox.mbox" in h.path for h in search("ferry pier", mode="text", k=5))
