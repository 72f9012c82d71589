"""Apple Mail's .emlx files: a byte count, the message, then Mail's flags as a property list."""

from __future__ import annotations

import pytest

from engine.ingest.document import LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.parts import extract_part
from tests.helpers_mail import make_pdf
from tests.test_loaders_parts import _message

PLIST = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>date-last-viewed</key>
\t<integer>1741000000</integer>
\t<key>flags</key>
\t<integer>8590195713</integer>
\t<key>remote-id</key>
\t<string>4711</string>
</dict>
</plist>
"""


def emlx(message: bytes) -> bytes:
    """What Mail writes: the length padded to 10 characters, the message, the plist."""
    return f"{len(message):<10}\n".encode() + message + PLIST


def test_an_apple_mail_message_reads_like_an_eml(tmp_path):
    pdf = make_pdf(["The survey vessel leaves Lisbon on 3 May."])
    message = _message("Survey plan", [("plan.pdf", pdf)]).as_bytes()
    path = tmp_path / "4711.emlx"
    path.write_bytes(emlx(message))
    assert detect_format(path) == "emlx"
    doc = load(path)
    assert doc.format == "emlx" and doc.loader == "Apple Mail message (Python email)"
    assert "Survey plan: see the attached files." in doc.pages[0].text
    assert "flags" not in doc.pages[0].text and "plist" not in doc.pages[0].text
    [attachment] = doc.parts
    assert attachment.path == f"{path}//plan.pdf"
    assert "leaves Lisbon on 3 May" in attachment.pages[0].text
    copy = extract_part(attachment.path, tmp_path / "out")  # a citation opens the PDF
    assert copy is not None and copy.read_bytes() == pdf


def test_partial_and_damaged_emlx_files(tmp_path):
    partial = tmp_path / "4712.partial.emlx"  # Mail kept the attachment's body elsewhere
    partial.write_bytes(emlx(_message("Photos from the cliffs", []).as_bytes()))
    assert detect_format(partial) == "emlx"
    assert "Photos from the cliffs" in load(partial).pages[0].text
    cut = tmp_path / "cut.emlx"
    cut.write_bytes(emlx(_message("Cut short", []).as_bytes())[:60])
    with pytest.raises(LoadError, match=r"^truncated Apple Mail message \(\d+ of \d+ bytes\)$"):
        load(cut)
    not_mail = tmp_path / "notes.emlx"
    not_mail.write_text("Subject: no byte count\n\nhello")
    assert skip_reason(not_mail) == "not an Apple Mail message (no byte count on its first line)"
