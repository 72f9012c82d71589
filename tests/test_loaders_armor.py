"""OpenPGP armor: clear-signed text is read without its signature; keys, signatures and
encrypted messages are not read as words. The files in tests/data/pgp were made by GnuPG 2.2
(a clear-signed note, its detached signature, the key, the note encrypted to it)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from engine.ingest.document import LoadError, NothingToRead
from engine.ingest.loaders import load
from engine.ingest.loaders.armor import unarmor

DATA = Path(__file__).parent / "data" / "pgp"
MINUTES = ("Harbour minutes, 3 March\n\n- Berth 4 reopens on Monday.\n-- the harbour master\n"
           "The dredging budget is 42,000 euros.\n")
SIGNATURE = ("-----BEGIN PGP SIGNATURE-----\n\niHUEARYIAB0WIQR7HoH+26lqBu6FHKudxmQTv3Xn9AUC\n"
             "=iak+\n-----END PGP SIGNATURE-----\n")


def _text(path: Path) -> str:
    return "\n\n".join(page.text for page in load(path).pages)


def test_a_clear_signed_file_is_read_as_the_text_that_was_signed(tmp_path):
    text = _text(DATA / "minutes.txt.asc")
    assert "- Berth 4 reopens on Monday." in text and "-- the harbour master" in text
    assert "- - Berth" not in text and "PGP" not in text and "Hash:" not in text
    assert "iHUEARYI" not in text  # the signature's base64


@pytest.mark.parametrize(("name", "error", "reason"), [
    ("harbour-office.asc", NothingToRead, "an OpenPGP key (no document)"),
    ("minutes.sig.asc", NothingToRead, "an OpenPGP signature (no document)"),
    ("secret.txt.asc", LoadError, "encrypted (an OpenPGP message: its text needs the key)"),
])
def test_keys_signatures_and_encrypted_messages_are_not_documents(name, error, reason):
    with pytest.raises(LoadError) as info:
        load(DATA / name)
    assert type(info.value) is error and str(info.value) == reason


def _clear_sign(text: str) -> str:
    """As GnuPG writes it: armor header, "Hash:", escaped lines, signature (RFC 4880 7.1)."""
    escaped = "".join("- " + line if line.startswith("-") else line
                      for line in text.splitlines(keepends=True))
    return f"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{escaped}{SIGNATURE}"


_LINES = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x85\u2028\u2029"
                                        "\x0b\x0c\x1c\x1d\x1e"), max_size=30), max_size=8)


@given(_LINES)
@example(["- item", "-----BEGIN nothing", "", "-- sig"])
def test_unarmor_undoes_clear_signing_exactly(lines):
    text = "".join(line + "\n" for line in lines)
    assert unarmor(text) == (text, set())  # no armor: untouched
    assert unarmor("Before.\n" + _clear_sign(text) + "After.\n") == (
        "Before.\n" + text + "After.\n", {"SIGNATURE"})


def test_mail_signatures_are_neither_text_nor_attachments(tmp_path):
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "Berths", "Ada <ada@example.org>", "bob@example.org"
    msg.set_content(_clear_sign(MINUTES))
    msg.add_attachment(SIGNATURE.encode(), maintype="application", subtype="pgp-signature",
                       filename="signature.asc")
    path = tmp_path / "signed.eml"
    path.write_bytes(bytes(msg))
    doc = load(path)
    text = "\n\n".join(page.text for page in doc.pages)
    assert "- Berth 4 reopens on Monday." in text and "PGP" not in text
    assert doc.parts == [] and doc.unread == [] and "attachments_skipped" not in doc.metadata
