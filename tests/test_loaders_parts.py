"""Copying a cited attachment out of its message: the same key as it was indexed under, the
same bytes, for .eml, mbox and Outlook .msg files, also from a message attached to a message."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage

import pytest

from engine.ingest.loaders import load
from engine.ingest.loaders.parts import extract_part, extractable
from tests.helpers_mail import MsgSpec, make_docx, make_pdf, write_msg


def _message(subject: str, files: list[tuple[str, bytes]],
             attached: EmailMessage | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, "ada@example.org", "bob@example.org"
    msg.set_content(f"{subject}: see the attached files.")
    for name, data in files:
        kind = ("application", "pdf") if name.endswith(".pdf") else ("application",
                                                                     "octet-stream")
        msg.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=name)
    if attached is not None:
        msg.add_attachment(attached)
    return msg


def _attachments(doc) -> set[str]:
    """The part paths of every attachment the loader read (not of the messages)."""
    out: set[str] = set()
    for part in doc.parts:
        if part.format not in ("eml", "msg"):
            out.add(part.path)
        out |= _attachments(part)
    return out


@pytest.fixture
def pdfs() -> dict[str, bytes]:
    return {"first": make_pdf(["The March invoice totals 1,200 euros."]),
            "second": make_pdf(["The April invoice totals 900 euros.", "Page two."]),
            "inner": make_pdf(["The contract was signed in Porto."])}


def test_every_attachment_an_eml_was_indexed_with_copies_out_byte_for_byte(tmp_path, pdfs):
    inner = _message("Signed contract", [("contract.pdf", pdfs["inner"])])
    eml = tmp_path / "invoices.eml"
    # two attachments of one name: indexed as "invoice.pdf" and "invoice (2).pdf"
    eml.write_bytes(_message("Invoices", [("invoice.pdf", pdfs["first"]),
                                          ("invoice.pdf", pdfs["second"])],
                             attached=inner).as_bytes())
    indexed = _attachments(load(eml))
    expected = {f"{eml}//invoice.pdf": pdfs["first"], f"{eml}//invoice (2).pdf": pdfs["second"],
                f"{eml}//Signed contract.eml//contract.pdf": pdfs["inner"]}
    assert set(indexed) == set(expected)
    for path, data in expected.items():
        assert extractable(path)
        copy = extract_part(path, tmp_path / "out" / str(len(path)))
        assert copy is not None and copy.read_bytes() == data
        assert copy.name == path.rsplit("//", 1)[1]


def test_an_mbox_attachment_is_copied_from_its_message_alone(tmp_path, pdfs):
    box_path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(box_path))
    box.add(_message("Hello", []))
    box.add(_message("Quarterly report", [("report.docx", make_docx(["Sales rose 4%."]))]))
    box.add(_message("Invoice", [("invoice.pdf", pdfs["first"])]))
    box.flush()
    box.close()
    indexed = _attachments(load(box_path))
    assert set(indexed) == {f"{box_path}//2//report.docx", f"{box_path}//3//invoice.pdf"}
    copy = extract_part(f"{box_path}//3//invoice.pdf", tmp_path / "out")
    assert copy is not None and copy.read_bytes() == pdfs["first"]
    # not there any more (the mailbox changed): None, and the caller opens the mailbox
    assert extract_part(f"{box_path}//9//invoice.pdf", tmp_path / "gone") is None
    assert extract_part(f"{box_path}//2//invoice.pdf", tmp_path / "gone") is None


def test_an_outlook_attachment_is_copied_out(tmp_path, pdfs):
    msg = write_msg(tmp_path / "offer.msg", MsgSpec(
        subject="Offer", body="The offer is attached.",
        attachments=[("offer.pdf", pdfs["second"])],
        embedded=[MsgSpec(subject="Earlier offer", body="Old.",
                          attachments=[("old offer.pdf", pdfs["first"])])]))
    indexed = _attachments(load(msg))
    assert f"{msg}//offer.pdf" in indexed
    nested = next(p for p in indexed if p.endswith("//old offer.pdf"))
    for path, data in ((f"{msg}//offer.pdf", pdfs["second"]), (nested, pdfs["first"])):
        copy = extract_part(path, tmp_path / "out" / str(len(path)))
        assert copy is not None and copy.read_bytes() == data


def test_what_is_not_a_document_of_its_own_opens_its_holder(tmp_path):
    assert not extractable(str(tmp_path / "report.pdf"))  # an ordinary file
    assert not extractable(f"{tmp_path}/inbox.mbox//3")  # a message's own text
    assert not extractable(f"{tmp_path}/a.eml//fwd.eml")  # an attached message's text
    assert not extractable(f"{tmp_path}/a.eml//bundle.zip//docs › q1.pdf")  # in an archive
    assert not extractable(f"{tmp_path}/b.zip//inner.zip//x.pdf")  # an archive in an archive
    assert extractable(f"{tmp_path}/b.zip//docs › x.pdf")
    assert extractable(f"{tmp_path}/inbox.mbox//3//fwd.eml//x.pdf")
    assert extract_part(f"{tmp_path}/missing.eml//x.pdf", tmp_path / "out") is None
