"""Text-versus-binary sniffing and encoding detection for every plain-text format.

Private documents are full of files written by old editors: cp1252 notes, UTF-16 exports from
Windows tools, UTF-8 with a BOM. Decoding them as UTF-8 with ``errors="replace"`` would index
mojibake, and indexing an executable that happens to carry a ``.txt`` name would index garbage.
So: BOMs first (the UTF-32-LE BOM begins with the UTF-16-LE one, so UTF-32 is tried first), then
UTF-32 and UTF-16 without a BOM (recognised by the shape of their code units), then strict UTF-8,
then charset-normalizer, with a preference for cp1252 among Western single-byte guesses because it
is what such files almost always are.
"""

from __future__ import annotations

import codecs

from engine.ingest.document import LoadError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: Bytes that never occur in text (everything below 0x20 but tab, newlines, form feed and ESC).
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}

#: Non-ASCII punctuation that legitimately sits between two letters (apostrophes, middle dot).
_INWORD_OK = frozenset("\u2019\u2018\u00b7")

SNIFF_BYTES = 8192


def bom_encoding(data: bytes) -> str | None:
    """The codec named by a leading byte-order mark, if any."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def utf32_without_bom(sample: bytes) -> str | None:
    """``"utf-32-le"``/``"utf-32-be"`` when the sample looks like BOM-less UTF-32 text.

    ``sample`` is the start of the file (the sniffed 8192 bytes, or the whole file): a length that
    is not a multiple of 4 is not UTF-32. Every 4-byte unit must be a valid code point (at most
    U+10FFFF, no surrogates), which binary data almost never is (about 1 unit in 4,000) and no
    8-bit or UTF-16 text is (their bytes make code points far above U+10FFFF). What remains,
    arrays of small 32-bit integers, is told apart by the control characters (mostly NULs) it
    decodes to. A file whose head passes but whose tail is cut mid-unit fails to decode later.
    """
    if len(sample) < 4 or len(sample) % 4:
        return None
    units = len(sample) // 4
    # A code point is at most U+10FFFF: the high byte of every unit is 0. Two byte-slice counts
    # reject ordinary text without decoding (which costs an exception per try, on every file).
    orders = [name for name, high in (("utf-32-le", sample[3::4]), ("utf-32-be", sample[0::4]))
              if high.count(0) == units]
    for encoding in orders:
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) in _CONTROL_BYTES)
        if controls <= 0.02 * len(text):
            return encoding
    return None


def utf16_without_bom(sample: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when the sample looks like BOM-less UTF-16 text.

    Mostly-ASCII UTF-16 has a NUL in every other byte; binary files have NULs spread evenly.
    """
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0), odd.count(0)
    if odd_nuls > 0.4 * len(odd) and even_nuls < 0.05 * len(even):
        return "utf-16-le"
    if even_nuls > 0.4 * len(even) and odd_nuls < 0.05 * len(odd):
        return "utf-16-be"
    return None


def looks_binary(sample: bytes) -> bool:
    """True when the first bytes of a file are not text in any encoding we decode."""
    if not sample or bom_encoding(sample) or utf32_without_bom(sample) or utf16_without_bom(
            sample):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b in _CONTROL_BYTES)
    if controls > 0.02 * len(sample):
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return False
    except UnicodeDecodeError:
        pass
    return _guess(sample) is None


#: At most this share of a file's bytes may be NUL for them to be stray (:func:`without_nuls`):
#: one after each field of three characters or more stays under it, UTF-16 text of Latin
#: letters (every other byte) does not.
MAX_STRAY_NULS = 0.25


def without_nuls(data: bytes) -> bytes | None:
    """Text with a NUL byte after its fields, as the bytes without them; None when its NUL
    bytes are not stray (too many, or the rest is not text either). Accounting and database
    exports end each field with a NUL (LibreOffice's tdf57841.csv: "1\0\t2\0\t..."), and such
    a table was refused as a binary file."""
    nuls = data.count(b"\x00")
    head = data[:SNIFF_BYTES]
    if not nuls or nuls > MAX_STRAY_NULS * len(data) or bom_encoding(data) or \
            utf16_without_bom(head) or utf32_without_bom(head):
        return None  # none, too many, or UTF-16/32 text (Chinese has few NUL bytes)
    text = data.replace(b"\x00", b"")
    return None if looks_binary(text[:SNIFF_BYTES]) else text


def plausible_cp1252(text: str) -> bool:
    """Does ``text`` (bytes decoded as cp1252) read like Western-European prose?

    Other single-byte encodings decoded as cp1252 give themselves away: Greek or Cyrillic turn
    into words made only of accented letters; Central-European text gets symbols wedged inside
    words ("Za¿ó³æ"). Real cp1252 text has a few accented letters among mostly ASCII ones.
    """
    letters = non_ascii = wedged = 0
    for i, ch in enumerate(text):
        if ch.isalpha():
            letters += 1
            non_ascii += ord(ch) > 127
        elif (
            ord(ch) > 127
            and ch not in _INWORD_OK
            and 0 < i < len(text) - 1
            and text[i - 1].isalpha()
            and text[i + 1].isalpha()
        ):
            wedged += 1
    if not letters:
        return True
    return non_ascii <= 0.3 * letters and wedged <= letters // 500


def _guess(data: bytes) -> str | None:
    """Encoding of non-UTF-8 text: cp1252 when it reads plausibly, else charset-normalizer's pick.

    charset-normalizer alone is unreliable on short Western texts (it calls a French sentence
    cp775 or cp1125), and cp1252 is by far the most common legacy encoding of such files.
    """
    try:
        if plausible_cp1252(data.decode("cp1252")):
            return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best is not None else None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a whole text file; returns ``(text, encoding)``.

    Raises LoadError("binary file ...") when no text encoding fits.
    """
    head = data[:SNIFF_BYTES]
    encoding = bom_encoding(data) or utf32_without_bom(head) or utf16_without_bom(head)
    if encoding:
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError as exc:
            raise LoadError(f"undecodable text: invalid {encoding} at byte {exc.start}") from exc
    if looks_binary(data[:SNIFF_BYTES]):
        raise LoadError("binary file (not text)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = _guess(data)
    if guess is None:
        raise LoadError("binary file (no text encoding fits)")
    try:
        return data.decode(guess), guess
    except (UnicodeDecodeError, LookupError) as exc:
        raise LoadError(f"undecodable text (guessed {guess})") from exc


#: Charsets that mail and web pages declare for text written in a superset of them, read as
#: that superset, as browsers do (WHATWG Encoding Standard): Chinese mail labelled GB2312 but
#: written with GBK or GB18030 characters (decoded as GB2312 they came out as "\ufffd"),
#: "ISO-8859-1" text with Windows' curly quotes and dashes (control characters in Latin-1),
#: Korean, Japanese, Turkish and Thai text in the Windows code pages of their standards.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "iso8859-1": "cp1252", "euc_kr": "cp949",
              "shift_jis": "cp932", "big5": "big5hkscs", "iso8859-9": "cp1254",
              "tis-620": "cp874"}


def declared_codec(label: str | None) -> str | None:
    """The codec to decode text whose declared charset is ``label`` with (its superset, see
    :data:`_SUPERSETS`); None for no label or one Python does not know."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip('"')).name
    except (LookupError, ValueError):
        return None
    return _SUPERSETS.get(name, name)
