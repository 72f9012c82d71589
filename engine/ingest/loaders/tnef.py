"""Outlook's winmail.dat (TNEF, ``application/ms-tnef``): what it packs, for the message holding it.

Why: Outlook sending "rich text" mail to the Internet packs the formatted body and the real
attachments into one ``winmail.dat`` attachment. Other mail programs show an opaque file, so
a mailbox exported from Thunderbird or a saved .eml keeps the report a colleague sent inside it,
and Satchel skipped it as an unsupported ``.dat``. Read with ``tnefparse``: its attachments
become the message's own (cited as "message.eml › report.pdf"), its body stands in for an empty
message body, and an Outlook item attached inside it is unpacked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.ingest.loaders.common import clean_inline, library_errors

#: The first four bytes of every TNEF stream (0x223E9F78, little-endian).
SIGNATURE = b"\x78\x9f\x3e\x22"


def is_tnef(data: bytes) -> bool:
    """Whether an attachment's bytes are a TNEF stream, whatever it is named (winmail.dat,
    win.dat, ATT00001.dat...)."""
    return data[:4] == SIGNATURE


@dataclass
class Packed:
    """What one TNEF stream holds: a body in up to three forms, and the attached files."""

    plain: str = ""
    html: bytes | str = b""
    rtf: bytes = b""
    #: (file name, bytes); an attached Outlook item is a TNEF stream of its own
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def unpack(data: bytes) -> Packed:
    """The body and attachments of a TNEF stream; LoadError (one line) when it is damaged."""
    with library_errors("winmail.dat (TNEF)"):
        from tnefparse import TNEF

        tnef = TNEF(data, do_checksum=False)
        codepage = tnef.codepage or "cp1252"
        try:
            rtf = tnef.rtfbody or b""  # decompressed here: a damaged one costs the body only
        except Exception:  # compressed_rtf raises anything on junk
            rtf = b""
        packed = Packed(plain=_text(tnef.body, codepage), html=tnef.htmlbody or b"", rtf=rtf)
        for n, attachment in enumerate(tnef.attachments, 1):
            if not attachment.data:
                continue  # rendering information only, or a file Outlook did not include
            name = clean_inline(_text(attachment.long_filename(), codepage)
                                or _text(attachment.name, codepage))
            if attachment.data[:4] == SIGNATURE:  # an attached Outlook item (IMessage)
                name = name or f"item-{n}"
            packed.attachments.append((name or f"attachment-{n}.bin", bytes(attachment.data)))
    return packed


def _text(value: object, codepage: str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode(codepage, "replace")
        except LookupError:  # a code page Python does not know
            value = value.decode("cp1252", "replace")
    return str(value or "").strip("\x00").strip()
