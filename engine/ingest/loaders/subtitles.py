"""Subtitles and meeting transcripts: WebVTT (.vtt) and SubRip (.srt).

Zoom, Teams, Google Meet and YouTube export what was said as subtitle files: one cue every few
seconds, each a cue number, a timing line and a line or two of speech wrapped in tags. Indexed as
plain text, the timings and tags would be most of every chunk and each 3-second cue its own line.
So only the speech is kept, with who said it and when:

* the speaker of a ``<v Name>`` voice tag (Teams), or of a "Name: text" prefix (Zoom), leads the
  text as "Name: ..."; a cue without either has no speaker (none is guessed from earlier cues:
  wrong attribution is worse than none when someone asks what a person said);
* consecutive cues of one speaker join into one paragraph, and a new speaker starts a new one;
  a paragraph is also closed near :data:`PARAGRAPH_CHARS` so a long monologue, or captions
  without speakers, still get a time marker in about every chunk;
* each paragraph starts with the time of its first cue, "[00:12:03] Ada Lovelace: ...", because
  users cite where in the meeting something was said;
* a line that repeats the line just before it, for the same speaker, is dropped: YouTube's
  automatic captions roll, each cue showing the previous cue's line again above the new one.

Timing lines, cue numbers and identifiers, the WEBVTT header, NOTE/STYLE/REGION blocks, inline
tags (``<c.yellow>``, ``<b>``, ``<00:00:01.000>``) and SubRip's ``{\\an8}`` positioning go.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.ingest.document import Block, Document, LoadError, NothingToRead, Page
from engine.ingest.loaders.common import clean_inline, raw_lines
from engine.ingest.loaders.text import read_text

#: A paragraph is closed before the next cue once it holds this many characters: about one chunk
#: (180 tokens) of speech, so most chunks begin with a time marker.
PARAGRAPH_CHARS = 700

_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,]\d{1,3})?"
#: "00:01:02.000 --> 00:01:05.000 align:start" (WebVTT), "00:01:02,000 --> 00:01:05,000" (SRT).
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
#: Blocks of a WebVTT file that hold no speech (comments, CSS, caption regions).
_NON_CUE = re.compile(r"^(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
#: A voice tag, its classes dropped and its name kept: <v Ada Lovelace>, <v.loud Bob>.
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>")
#: Other inline tags: <c.yellow>, </c>, <b>, <i>, <ruby>, <lang en>, <font color=...>, and the
#: karaoke timestamps <00:00:01.000>. A "<" followed by a space ("x < y") is text.
_TAG = re.compile(r"</?(?:[A-Za-z][^<>]*|\d[\d:.]*)>")
#: SubStation overrides that SubRip files carry: {\an8} (top of the screen), {\i1}.
_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
#: "Ada Lovelace: text", as Zoom writes a speaker: a name of one to four words, then the text.
_SPEAKER = re.compile(r"^([^\W\d_][\w.'’@-]*(?: [^\W\d_][\w.'’@-]*){0,3}): (\S.*)$")


@dataclass
class Cue:
    """What one speaker says in one cue (a cue where the voice changes gives one Cue per voice)."""

    start: int  # seconds from the start of the recording
    speaker: str | None
    lines: list[str] = field(default_factory=list)


def marker(seconds: int) -> str:
    """"[01:02:03]": hours always shown, so markers sort and read alike in every file."""
    minutes, secs = divmod(seconds, 60)
    return f"[{minutes // 60:02d}:{minutes % 60:02d}:{secs:02d}]"


def _clean(text: str) -> str:
    """One line of cue text without markup: tags and overrides dropped, entities decoded."""
    return clean_inline(html.unescape(_OVERRIDE.sub("", _TAG.sub("", text))))


def _seconds(match: re.Match[str]) -> int:
    hours, minutes, secs = match.group(1, 2, 3)
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)


def _cue_parts(start: int, lines: list[str]) -> list[Cue]:
    """The speakers and lines of one cue's text.

    A voice tag holds until the next one (WebVTT's rule: ``</v>`` is optional). Without voice
    tags, a line opening with "Name: " starts that speaker's part.
    """
    parts: list[Cue] = []
    text = "\n".join(lines)
    if _VOICE.search(text):
        pieces = _VOICE.split(text)  # text, name, text, name, text...
        voices = [None, *(clean_inline(_TAG.sub("", name or "")) or None
                          for name in pieces[1::2])]
        for speaker, piece in zip(voices, pieces[0::2], strict=True):
            cleaned = [c for line in piece.split("\n") if (c := _clean(line))]
            if cleaned:
                parts.append(Cue(start, speaker, cleaned))
        return parts
    for line in lines:
        cleaned = _clean(line)
        if not cleaned:
            continue
        if prefix := _SPEAKER.match(cleaned):
            parts.append(Cue(start, prefix.group(1), [prefix.group(2)]))
        elif parts:
            parts[-1].lines.append(cleaned)
        else:
            parts.append(Cue(start, None, [cleaned]))
    return parts


def parse_subtitles(text: str) -> tuple[list[Cue], int]:
    """``(cues, number of timing lines)`` of a WebVTT or SubRip text, in file order.

    Lenient, as players are: hours are optional, "," or "." before the milliseconds, cue
    settings ignored. The lines before a timing line in its block are the cue's number or
    identifier. A block without a timing line after a cue is that cue's text going on (SubRip
    files edited by hand sometimes hold a blank line inside a cue), except NOTE/STYLE/REGION
    blocks; before the first cue it is the header. A line with "-->" that is no timing is
    dropped: it is a damaged timing, not speech.
    """
    cues: list[Cue] = []
    timings = start = 0
    blocks: list[list[str]] = [[]]
    for line in raw_lines(text):
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    for block in blocks:
        starts = [i for i, line in enumerate(block) if "-->" in line]
        if not starts:
            if timings and block and not _NON_CUE.match(block[0]):
                more = _cue_parts(start, block)
                if cues and more and more[0].speaker is None:  # the same speaker going on
                    cues[-1].lines.extend(more.pop(0).lines)
                cues.extend(more)
            continue
        for n, at in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(block)
            lines = block[at + 1 : end]
            if n + 1 < len(starts) and lines and lines[-1].strip().isdigit():
                lines = lines[:-1]  # the next cue's number, its blank line missing
            timing = _TIMING.match(block[at])
            if timing is None:
                continue
            timings += 1
            start = _seconds(timing)
            cues.extend(_cue_parts(start, lines))
    return cues, timings


def transcript_blocks(cues: list[Cue]) -> list[Block]:
    """One paragraph per run of one speaker's cues: "[00:12:03] Ada Lovelace: ..."."""
    blocks: list[Block] = []
    lines: list[str] = []
    speaker: str | None = None
    start = size = 0
    last = ""

    def flush() -> None:
        if lines:
            who = f"{speaker}: " if speaker else ""
            blocks.append(Block(f"{marker(start)} {who}{' '.join(lines)}"))
            lines.clear()

    for cue in cues:
        if cue.speaker != speaker or size >= PARAGRAPH_CHARS:
            if cue.speaker != speaker:
                last = ""
            flush()
            speaker, size = cue.speaker, 0
        for line in cue.lines:
            if line == last:
                continue
            if not lines:
                start = cue.start
            lines.append(line)
            size += len(line) + 1
            last = line
    flush()
    return blocks


def load_subtitles(path: Path) -> Document:
    """A .vtt or .srt file -> one page of time-stamped speaker paragraphs."""
    text, encoding = read_text(path)
    kind = "WebVTT" if path.suffix.lower() == ".vtt" else "SubRip"
    body = text.lstrip("\ufeff")
    header = body.split("\n", 1)[0].strip() if body.startswith("WEBVTT") else None
    cues, timings = parse_subtitles(text)
    if not timings:
        if header is not None:
            raise NothingToRead("no cues in this WebVTT file")
        if not body.strip():
            raise LoadError(f"empty {kind} file (no cues)")
        raise LoadError(f"not a {kind} subtitle file (no cue timing lines; mislabelled?)")
    blocks = transcript_blocks(cues)
    if not blocks:
        raise NothingToRead("no spoken text in these subtitles (every cue is empty)")
    speakers = list(dict.fromkeys(c.speaker for c in cues if c.speaker))
    title = clean_inline(header[6:].lstrip(" \t-:")) if header else ""
    meta = {"encoding": encoding, "cues": str(timings)}
    if speakers:
        meta["speakers"] = ", ".join(speakers[:20]) + (", …" if len(speakers) > 20 else "")
    return Document(path=str(path), format="subtitles", pages=[Page(1, blocks)],
                    title=title or None, metadata=meta)
