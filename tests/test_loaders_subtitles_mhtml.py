"""Meeting transcripts (.vtt, .srt) and saved web pages (.mht, .mhtml) on real files.

The transcripts are written as Teams, Zoom, YouTube (via yt-dlp) and subtitle editors write them:
cue identifiers, voice tags, speaker prefixes, rolling captions, CRLF and a BOM, a cp1252 file.
The saved pages are written as Chrome ("Save as single file") and Internet Explorer ("Web
Archive") write them: quoted-printable HTML, a real PNG part, the start parameter, charsets.
"""

from __future__ import annotations

import base64
import io
import itertools
import quopri
import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.ingest.document import Document, LoadError, NothingToRead
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.subtitles import marker, parse_subtitles, transcript_blocks

TEAMS_VTT = """WEBVTT

3b1c5e2a-8f6d-4c1e-9a7b-2d4e6f8a0c1e/17-0
00:00:03.120 --> 00:00:06.480
<v Ada Lovelace>Good morning, everyone. Let's get started with the</v>

3b1c5e2a-8f6d-4c1e-9a7b-2d4e6f8a0c1e/17-1
00:00:06.480 --> 00:00:09.900
<v Ada Lovelace>quarterly review of the Analytical Engine.</v>

NOTE Ada asked to keep the review short.

3b1c5e2a-8f6d-4c1e-9a7b-2d4e6f8a0c1e/18-0
00:00:10.250 --> 00:00:14.000
<v Charles Babbage>Thanks, Ada. The mill passed its
load test on Tuesday &amp; the store holds 1,000 numbers.</v>

3b1c5e2a-8f6d-4c1e-9a7b-2d4e6f8a0c1e/19-0
00:12:03.500 --> 00:12:07.250
<v Ada Lovelace>Then the punched cards ship on the 14th.</v>
"""

ZOOM_VTT = """WEBVTT

1
00:00:01.020 --> 00:00:04.350
Grace Hopper: Can everyone hear me?

2
00:00:04.350 --> 00:00:07.800
Grace Hopper: Great. First item is the COBOL compiler.

3
00:00:08.100 --> 00:00:10.000
Alan Turing: I have the benchmark numbers for that.

4
01:02:03.456 --> 01:02:05.000
Grace Hopper: Let's wrap up there.
"""

#: yt-dlp's download of YouTube's automatic captions: each cue repeats the last line above the
#: new words, which carry karaoke timestamps; a blank-looking line holds one space.
YOUTUBE_VTT = """WEBVTT
Kind: captions
Language: en

STYLE
::cue(c.colorE5E5E5) { color: rgb(229,229,229); }

00:00:00.000 --> 00:00:02.190 align:start position:0%
\x20
welcome<00:00:00.480><c> back</c><00:00:00.960><c> to</c><c.colorE5E5E5> the workshop</c>

00:00:02.190 --> 00:00:02.200 align:start position:0%
welcome back to the workshop
\x20

00:00:02.200 --> 00:00:05.110 align:start position:0%
welcome back to the workshop
today<00:00:02.800><c> we</c><00:00:03.000><c> sand</c><00:00:03.500><c> the oak</c>

00:00:05.110 --> 00:00:05.120 align:start position:0%
today we sand the oak
\x20

00:00:05.120 --> 00:00:08.000 align:start position:0%
today we sand the oak
table<00:00:05.600><c> with</c><00:00:06.000><c> 240</c><00:00:06.400><c> grit</c>
"""

SRT = """1
00:00:01,000 --> 00:00:03,500
{\\an8}<i>Previously on the Lighthouse:</i>

2
00:00:04,000 --> 00:00:06,000
KEEPER: The lamp needs <b>new wicks</b>
before the storm.

3
00:00:06,200 --> 00:00:08,000
- Who ordered them?
- <font color="#ffff00">Nobody did.</font>
"""


def _png() -> bytes:
    """A real PNG, as a browser keeps an image of the page."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


PAGE_HTML = """<!DOCTYPE html><html><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>Boiler maintenance \u2014 Facilities handbook</title>
<style>body {{ font-family: sans-serif; }}</style></head>
<body><nav><a href="/">Home</a> | <a href="/handbook">Handbook</a></nav>
<main><h1>Boiler maintenance</h1>
<p>Bleed the radiators every autumn before the first frost; the caf\u00e9 boiler goes first.</p>
<img src="https://intranet.example.org/img/valve.png" alt="valve">
<h2>Service intervals</h2>
<table><tr><th>Part</th><th>Interval</th></tr>
<tr><td>Burner nozzle</td><td>12 months</td></tr>
<tr><td>Expansion vessel</td><td>24 months</td></tr></table>
<ul><li>Check the pressure gauge</li><li>Test the relief valve</li></ul>
</main><footer>\u00a9 Facilities team</footer></body></html>
"""


def _text(doc: Document) -> str:
    return "\n\n".join(b.text for p in doc.pages for b in p.blocks)


def _paragraphs(doc: Document) -> list[str]:
    return [b.text for p in doc.pages for b in p.blocks]


def _one_line_error(path: Path, fragment: str, kind: type[LoadError] = LoadError) -> str:
    with pytest.raises(kind) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 200 and fragment in message, message
    return message


# ----------------------------------------------------------------------------- subtitles


def test_teams_transcript_keeps_speakers_and_joins_their_cues(tmp_path):
    path = tmp_path / "Quarterly review.vtt"
    path.write_text(TEAMS_VTT, encoding="utf-8")
    assert detect_format(path) == "subtitles" and skip_reason(path) is None
    doc = load(path)
    assert (doc.format, doc.loader) == ("subtitles", "WebVTT/SubRip reader")
    assert _paragraphs(doc) == [
        "[00:00:03] Ada Lovelace: Good morning, everyone. Let's get started with the quarterly "
        "review of the Analytical Engine.",
        "[00:00:10] Charles Babbage: Thanks, Ada. The mill passed its load test on Tuesday & "
        "the store holds 1,000 numbers.",
        "[00:12:03] Ada Lovelace: Then the punched cards ship on the 14th.",
    ]
    assert doc.metadata["speakers"] == "Ada Lovelace, Charles Babbage"
    assert doc.metadata["cues"] == "4"
    text = _text(doc)
    for gone in ("-->", "WEBVTT", "NOTE", "keep the review short", "3b1c5e2a", "<v", "</v>"):
        assert gone not in text


def test_zoom_transcript_speaker_prefixes_and_hour_markers(tmp_path):
    path = tmp_path / "zoom_0.vtt"
    path.write_text(ZOOM_VTT, encoding="utf-8")
    assert _paragraphs(load(path)) == [
        "[00:00:01] Grace Hopper: Can everyone hear me? Great. First item is the COBOL compiler.",
        "[00:00:08] Alan Turing: I have the benchmark numbers for that.",
        "[01:02:03] Grace Hopper: Let's wrap up there.",
    ]


def test_youtube_rolling_captions_are_read_once(tmp_path):
    path = tmp_path / "workshop.en.vtt"
    path.write_text(YOUTUBE_VTT, encoding="utf-8")
    doc = load(path)
    assert _paragraphs(doc) == [
        "[00:00:00] welcome back to the workshop today we sand the oak table with 240 grit"]
    assert "speakers" not in doc.metadata and "color" not in _text(doc)


def test_srt_with_bom_crlf_and_tags(tmp_path):
    path = tmp_path / "lighthouse.S01E02.srt"
    path.write_bytes(SRT.replace("\n", "\r\n").encode("utf-8-sig"))
    assert detect_format(path) == "subtitles"
    doc = load(path)
    assert _paragraphs(doc) == [
        "[00:00:01] Previously on the Lighthouse:",
        "[00:00:04] KEEPER: The lamp needs new wicks before the storm.",
        "[00:00:06] - Who ordered them? - Nobody did.",
    ]
    assert doc.metadata["encoding"] == "utf-8"
    assert not re.search(r"[<>{}\r\ufeff]|\\an8", _text(doc))


def test_legacy_encoded_srt_is_decoded(tmp_path):
    path = tmp_path / "bakery.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:03,000\nDer Bäcker öffnet um sechs, "
                     "sagt Françoise.\n".encode("cp1252"))
    doc = load(path)
    assert doc.metadata["encoding"] == "cp1252"
    assert _paragraphs(doc) == ["[00:00:01] Der Bäcker öffnet um sechs, sagt Françoise."]


def test_long_monologue_gets_a_marker_in_every_paragraph(tmp_path):
    cues = [f"{n}\n00:{n // 60:02d}:{n % 60:02d},000 --> 00:{n // 60:02d}:{n % 60:02d},900\n"
            f"ADA: Sentence number {n} of a long talk about the difference engine."
            for n in range(100)]
    path = tmp_path / "talk.srt"
    path.write_text("\n\n".join(cues), encoding="utf-8")
    paragraphs = _paragraphs(load(path))
    assert len(paragraphs) > 5
    assert all(re.match(r"\[00:\d\d:\d\d\] ADA: Sentence", p) for p in paragraphs)
    assert all(len(p) < 900 for p in paragraphs)
    assert paragraphs[1].startswith("[00:00:1")
    assert paragraphs[-1].endswith("Sentence number 99 of a long talk about the difference engine.")


def test_subtitle_files_without_speech_give_one_line_reasons(tmp_path):
    header_only = tmp_path / "silent.vtt"
    header_only.write_text("WEBVTT\n\nNOTE the recording had no audio\n", encoding="utf-8")
    _one_line_error(header_only, "no cues in this WebVTT file", NothingToRead)
    empty_cues = tmp_path / "blank.vtt"
    empty_cues.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<c></c>\n", encoding="utf-8")
    _one_line_error(empty_cues, "no spoken text", NothingToRead)
    prose = tmp_path / "notes.srt"
    prose.write_text("These are my notes, not subtitles.\n", encoding="utf-8")
    _one_line_error(prose, "not a SubRip subtitle file")
    binary = tmp_path / "movie.srt"
    binary.write_bytes(_png())  # a picture named like subtitles
    assert skip_reason(binary) == "binary file (not text)"
    _one_line_error(binary, "binary file")


def test_marker_always_shows_hours():
    assert [marker(s) for s in (0, 59, 61, 3600, 45296, 360000)] == [
        "[00:00:00]", "[00:00:59]", "[00:01:01]", "[01:00:00]", "[12:34:56]", "[100:00:00]"]


_WORD = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=8)
_LINE = st.lists(_WORD, min_size=1, max_size=6).map(" ".join)
_TAGS = st.sampled_from(["<b>{}</b>", "<i>{}</i>", "<c.yellow>{}</c>", "<00:00:01.500>{}",
                         "{{\\an8}}{}", "<u>{}</u>", "<lang en>{}</lang>", "{}"])


def _render(cues: list[list[str]], srt: bool, newline: str) -> str:
    out = [] if srt else ["WEBVTT", ""]
    for n, lines in enumerate(cues):
        h, m, s = n // 3600, n // 60 % 60, n % 60
        sep = "," if srt else "."
        out += [str(n + 1), f"{h:02d}:{m:02d}:{s:02d}{sep}000 --> {h:02d}:{m:02d}:{s:02d}{sep}900",
                *lines, ""]
    return newline.join(out)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _in_order(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(w == h for h in it) for w in needles)


@given(st.lists(st.lists(_LINE, min_size=1, max_size=3), min_size=1, max_size=10),
       st.booleans(), st.sampled_from(["\n", "\r\n"]), st.data())
def test_every_cue_word_survives_in_order_and_no_timing_does(cues, srt, newline, data):
    flat = [line for lines in cues for line in lines]
    assume(all(a != b for a, b in itertools.pairwise(flat)))  # repeats roll up
    tagged = [[data.draw(_TAGS).format(line) for line in lines] for lines in cues]
    parsed, timings = parse_subtitles(_render(tagged, srt, newline))
    blocks = transcript_blocks(parsed)
    text = "\n".join(b.text for b in blocks)
    assert timings == len(cues)
    assert _in_order(_words(" ".join(flat)), _words(text))
    assert "-->" not in text and "<" not in text and "\\an8" not in text
    assert all(re.match(r"\[\d\d:\d\d:\d\d\] ", b.text) for b in blocks)


# ---------------------------------------------------------------------------- saved pages


def _qp(html: str, encoding: str) -> str:
    return quopri.encodestring(html.encode(encoding)).decode("ascii")


def _chrome_mhtml(html: str) -> bytes:
    """The page as Chrome's "Save as single file" writes it (Blink's MHTML serializer)."""
    boundary = "----MultipartBoundary--Xq2uPzIYsjq2VWPBGuWvDNhHm0rqqSBnfbuLK2dgBd----"
    png = base64.encodebytes(_png()).decode("ascii")
    text = f"""From: <Saved by Blink>
Snapshot-Content-Location: https://intranet.example.org/handbook/boilers
Subject: =?utf-8?Q?Boiler_maintenance_=E2=80=94_Facilities_handbook?=
Date: Tue, 5 Nov 2024 10:00:00 -0000
MIME-Version: 1.0
Content-Type: multipart/related;
\ttype="text/html";
\tboundary="{boundary}"


--{boundary}
Content-Type: text/html
Content-ID: <frame-6F4E5C2B1A0D9E8F7A6B5C4D3E2F1A0B@mhtml.blink>
Content-Transfer-Encoding: quoted-printable
Content-Location: https://intranet.example.org/handbook/boilers

{_qp(html, "utf-8")}
--{boundary}
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Location: https://intranet.example.org/img/valve.png

{png}
--{boundary}--
"""
    return text.replace("\n", "\r\n").encode("ascii")


def test_chrome_page_reads_exactly_like_the_html_file(tmp_path):
    html = PAGE_HTML.format(charset="UTF-8")
    page = tmp_path / "Boiler maintenance.mhtml"
    page.write_bytes(_chrome_mhtml(html))
    plain = tmp_path / "boilers.html"
    plain.write_text(html, encoding="utf-8")
    assert detect_format(page) == "mhtml" and skip_reason(page) is None
    doc = load(page)
    assert (doc.format, doc.loader) == ("mhtml", "MHTML (Python email + HTML)")
    assert doc.pages[0].blocks == load(plain).pages[0].blocks
    assert doc.title == "Boiler maintenance \u2014 Facilities handbook"
    assert doc.metadata["url"] == "https://intranet.example.org/handbook/boilers"
    text = _text(doc)
    assert "Bleed the radiators every autumn before the first frost; the café boiler" in text
    assert "Part: Burner nozzle; Interval: 12 months" in text
    assert "- Check the pressure gauge\n- Test the relief valve" in text
    assert [(b.level, b.text) for b in doc.pages[0].blocks if b.kind == "heading"] == [
        (1, "Boiler maintenance"), (2, "Service intervals")]
    assert "Home" not in text and "=3D" not in text and "iVBOR" not in text


def test_ie_web_archive_in_windows_1252_with_a_start_part(tmp_path):
    """IE and Word put the charset on the part, and may name the root with ``start``."""
    boundary = "----=_NextPart_000_0000_01DB2F6A.5C3E1B20"
    html = PAGE_HTML.format(charset="windows-1252").replace("\u2014", "-").replace("\u00a9", "(c)")
    text = f"""From: <Saved by Windows Internet Explorer 11>
Subject: Boiler maintenance - old intranet
Date: Mon, 4 Nov 2024 09:12:44 +0100
MIME-Version: 1.0
Content-Type: multipart/related;
\ttype="text/html";
\tstart="<root.page@example.org>";
\tboundary="{boundary}"
X-MimeOLE: Produced By Microsoft MimeOLE V6.1.7601.24158

This is a multi-part message in MIME format.

--{boundary}
Content-Type: text/html; charset="Windows-1252"
Content-Transfer-Encoding: quoted-printable
Content-Location: https://ads.example.net/banner.html

<html><body><p>Advertisement: buy a boiler</p></body></html>

--{boundary}
Content-Type: text/html;
\tcharset="Windows-1252"
Content-Transfer-Encoding: quoted-printable
Content-ID: <root.page@example.org>
Content-Location: http://intranet/boilers.htm

{_qp(html, "cp1252")}
--{boundary}--
"""
    path = tmp_path / "boilers.mht"
    path.write_bytes(text.replace("\n", "\r\n").encode("ascii"))
    doc = load(path)
    assert "Advertisement" not in _text(doc)
    assert "the café boiler goes first" in _text(doc)
    assert doc.title == "Boiler maintenance - Facilities handbook"
    assert doc.metadata["url"] == "http://intranet/boilers.htm"


def test_page_without_title_is_named_by_the_subject(tmp_path):
    html = "<html><body><h1>Rota</h1><p>Ada opens on Mondays.</p></body></html>"
    path = tmp_path / "rota.mht"
    path.write_bytes(_chrome_mhtml(html))
    doc = load(path)
    assert doc.title == "Boiler maintenance \u2014 Facilities handbook"
    assert _text(doc) == "Rota\n\nAda opens on Mondays."


def test_saved_page_with_only_plain_text(tmp_path):
    body = "Opening hours\n=============\n\nThe workshop opens at nine.\n"
    path = tmp_path / "hours.mht"
    path.write_bytes(("MIME-Version: 1.0\nContent-Type: multipart/related; boundary=\"b1\"\n\n"
                      f"--b1\nContent-Type: text/plain; charset=utf-8\n\n{body}\n--b1--\n")
                     .encode())
    doc = load(path)
    assert [(b.kind, b.text) for b in doc.pages[0].blocks] == [
        ("heading", "Opening hours"), ("paragraph", "The workshop opens at nine.")]
    assert doc.title == "Opening hours"


def test_files_that_are_not_saved_pages_give_one_line_reasons(tmp_path):
    prose = tmp_path / "notes.mht"
    prose.write_text("Just some notes, no headers at all.\n", encoding="utf-8")
    assert skip_reason(prose) == "not a saved web page (no MIME headers; mislabelled?)"
    _one_line_error(prose, "not a saved web page")
    html = tmp_path / "page.mhtml"
    html.write_text("<!DOCTYPE html><html><body><p>Hi</p></body></html>", encoding="utf-8")
    assert load(html).format == "html"  # a web page saved under the wrong name is read as one
    fragment = tmp_path / "fragment.mht"  # markup, but no page: nothing says what it is
    fragment.write_text("<p>Hi</p>", encoding="utf-8")
    _one_line_error(fragment, "rename it .html")
    images_only = tmp_path / "images.mht"
    buf = io.StringIO()
    buf.write('MIME-Version: 1.0\nContent-Type: multipart/related; boundary="b"\n\n--b\n'
              "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n")
    buf.write(base64.encodebytes(_png()).decode("ascii") + "--b--\n")
    images_only.write_text(buf.getvalue(), encoding="ascii")
    _one_line_error(images_only, "no HTML or text part")
    headers_only = tmp_path / "headers.mht"
    headers_only.write_text("Note: this is not MIME\n\nat all\n", encoding="utf-8")
    _one_line_error(headers_only, "no MIME headers")
    empty = tmp_path / "empty.mht"
    empty.write_bytes(b"")
    _one_line_error(empty, "empty file")


def test_a_saved_page_is_not_taken_for_mail(tmp_path):
    """Chrome's headers (From, Subject, Date, MIME-Version) are what make a file mail."""
    path = tmp_path / "page.mht"
    path.write_bytes(_chrome_mhtml(PAGE_HTML.format(charset="UTF-8")))
    assert detect_format(path) == "mhtml"
    assert load(path).format == "mhtml"
