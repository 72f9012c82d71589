"""Builders for e-mail test files: attachments made by the real libraries, and real Outlook .msg
files.

No library writes .msg files from scratch, so :func:`write_msg` assembles one the way Outlook
stores it ([MS-OXMSG]): an OLE compound file (written with extract-msg's own ``OleWriter``) whose
``__properties_version1.0`` stream lists the fixed-size properties and whose ``__substg1.0_*``
streams hold strings (UTF-16) and binaries, with one storage per recipient and per attachment.
extract-msg then reads it like any file Outlook saved, which is what the loader is tested on.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per text (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(w=0, text=text)
    return bytes(pdf.output())


def make_docx(paragraphs: list[str], heading: str | None = None) -> bytes:
    """A DOCX document (python-docx) with an optional heading."""
    import docx

    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@dataclass
class MsgSpec:
    """What :func:`write_msg` puts into an Outlook message."""

    subject: str
    body: str | None = None
    html: bytes | None = None
    sender_name: str = "Ada Lovelace"
    sender_email: str = "ada@example.org"
    to: list[tuple[str, str]] = field(default_factory=lambda: [("Bob Stone", "bob@example.org")])
    cc: list[tuple[str, str]] = field(default_factory=list)
    date: dt.datetime | None = None
    #: (file name, bytes) of ordinary attachments.
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    #: Messages attached as Outlook items (attach method 5, "embedded message").
    embedded: list[MsgSpec] = field(default_factory=list)
    #: Content IDs of attachments, by file name (Outlook.com gives every attachment one).
    content_ids: dict[str, str] = field(default_factory=dict)
    message_class: str = "IPM.Note"


_STRING, _BINARY, _INT, _TIME, _OBJECT = 0x001F, 0x0102, 0x0003, 0x0040, 0x000D


def _prop(prop_id: int, prop_type: int, value: bytes) -> bytes:
    """One 16-byte entry of a property stream: tag, flags (readable|writable), 8 value bytes."""
    return struct.pack("<II", prop_id << 16 | prop_type, 6) + value.ljust(8, b"\0")


def _filetime(when: dt.datetime) -> bytes:
    epoch = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
    return struct.pack("<Q", int((when - epoch).total_seconds()) * 10_000_000)


class _Storage:
    """Collects the streams and property entries of one storage (message, recipient, attachment)."""

    def __init__(self, writer: Any, prefix: str) -> None:
        self.writer, self.prefix, self.props = writer, prefix, []

    def string(self, prop_id: int, text: str) -> None:
        data = text.encode("utf-16-le")
        self.writer.addEntry(f"{self.prefix}__substg1.0_{prop_id:04X}001F", data)
        self.props.append(_prop(prop_id, _STRING, struct.pack("<I", len(data) + 2)))

    def binary(self, prop_id: int, data: bytes) -> None:
        self.writer.addEntry(f"{self.prefix}__substg1.0_{prop_id:04X}0102", data)
        self.props.append(_prop(prop_id, _BINARY, struct.pack("<I", len(data))))

    def fixed(self, prop_id: int, prop_type: int, value: bytes) -> None:
        self.props.append(_prop(prop_id, prop_type, value))

    def finish(self, header: bytes) -> None:
        self.writer.addEntry(f"{self.prefix}__properties_version1.0", header + b"".join(self.props))


def _add_message(writer: Any, prefix: str, spec: MsgSpec, top: bool) -> None:
    msg = _Storage(writer, prefix)
    msg.string(0x001A, spec.message_class)
    msg.string(0x0037, spec.subject)
    msg.string(0x0C1A, spec.sender_name)
    msg.string(0x5D01, spec.sender_email)
    if spec.body is not None:
        msg.string(0x1000, spec.body)
    if spec.html is not None:
        msg.binary(0x1013, spec.html)
    if spec.date is not None:
        msg.fixed(0x0039, _TIME, _filetime(spec.date))  # PR_CLIENT_SUBMIT_TIME
    msg.fixed(0x0E07, _INT, struct.pack("<I", 1))  # PR_MESSAGE_FLAGS: read, sent
    recipients = [(1, r) for r in spec.to] + [(2, r) for r in spec.cc]
    for i, (kind, (name, address)) in enumerate(recipients):
        rec = _Storage(writer, f"{prefix}__recip_version1.0_#{i:08X}/")
        writer.addEntry(rec.prefix.rstrip("/"), storage=True)
        rec.string(0x3001, name)
        rec.string(0x3003, address)
        rec.fixed(0x0C15, _INT, struct.pack("<I", kind))  # PR_RECIPIENT_TYPE
        rec.finish(b"\0" * 8)
    items: list[tuple[str, bytes] | MsgSpec] = [*spec.attachments, *spec.embedded]
    for i, item in enumerate(items):
        att = _Storage(writer, f"{prefix}__attach_version1.0_#{i:08X}/")
        writer.addEntry(att.prefix.rstrip("/"), storage=True)
        if isinstance(item, MsgSpec):
            att.fixed(0x3705, _INT, struct.pack("<I", 5))  # PR_ATTACH_METHOD: embedded message
            att.string(0x3001, item.subject)
            inner = f"{att.prefix}__substg1.0_3701000D/"
            writer.addEntry(inner.rstrip("/"), storage=True)
            att.fixed(0x3701, _OBJECT, struct.pack("<I", 0xFFFFFFFF))
            _add_message(writer, inner, item, top=False)
        else:
            name, data = item
            att.fixed(0x3705, _INT, struct.pack("<I", 1))  # by value
            att.binary(0x3701, data)
            att.string(0x3707, name)
            att.string(0x3704, name)
            att.string(0x3001, name)
            if name in spec.content_ids:
                att.string(0x3712, spec.content_ids[name])  # PR_ATTACH_CONTENT_ID
        att.finish(b"\0" * 8)
    counts = struct.pack("<IIII", len(recipients), len(items), len(recipients), len(items))
    msg.finish(b"\0" * 8 + counts + (b"\0" * 8 if top else b""))
    if top:
        writer.addEntry("__nameid_version1.0", storage=True)
        for stream in ("00020102", "00030102", "00040102"):
            writer.addEntry(f"__nameid_version1.0/__substg1.0_{stream}", b"")


def write_msg(path: Path, spec: MsgSpec) -> Path:
    """Write ``spec`` as an Outlook .msg file at ``path``."""
    from extract_msg.ole_writer import OleWriter

    writer = OleWriter()
    _add_message(writer, "", spec, top=True)
    writer.write(str(path))
    return path
