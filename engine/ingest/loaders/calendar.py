"""Calendars (.ics) and address books (.vcf): the events and contacts people export and keep.

Google Calendar, Outlook, Thunderbird and Apple Calendar export iCalendar (RFC 5545); phones and
mail programs export contacts as vCard (2.1, 3.0, 4.0). Indexed as text, their property lines
("DTSTART;TZID=Europe/Lisbon:20250314T093000") would be most of every chunk and no sentence a
question matches. So each event, to-do, journal entry or contact becomes one plain paragraph:

    Dentist check-up: 2025-03-14 09:30 to 10:00 (Europe/Lisbon). Where: Rua Augusta 12.
    Repeats yearly. Notes: bring the X-rays.

    Ada Lovelace (Analytical Engines Ltd, engineer). E-mail: ada@example.org (work).
    Phone: +44 20 7946 0000 (cell). Birthday: 1815-12-10.

A calendar's events are pages by month ("March 2025", events sorted by start), so a citation says
when; an address book is one page, a paragraph per contact. Photos, keys and sounds are binary
data, not text, and are left out. Lines are unfolded (a line that starts with a space or a tab
continues the one before), values unescaped ("\\n", "\\,"), and vCard 2.1's quoted-printable
values decoded.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterator
from pathlib import Path

from engine.ingest.document import Block, Document, NothingToRead, Page
from engine.ingest.loaders.common import clean_inline
from engine.ingest.loaders.text import read_text

Property = tuple[str, dict[str, str], str]  # name, parameters, value (still escaped)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2})(?::?\d{2})?(Z)?)?$")
_ITEMS = {"VEVENT": "", "VTODO": "To do: ", "VJOURNAL": "Note: "}
_SKIP_VALUES = frozenset({"PHOTO", "LOGO", "SOUND", "KEY", "ATTACH"})
_FREQ = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}


def unfold(text: str) -> list[str]:
    """Content lines: a physical line starting with a space or a tab continues the one before."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def parse_line(line: str) -> Property | None:
    """``NAME;PARAM=x;PARAM="a:b":value`` -> (NAME, {PARAM: x}, value); None if not a property."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            head, value = line[:i], line[i + 1:]
            break
    else:
        return None
    name, *params = head.split(";")
    out: dict[str, str] = {}
    for param in params:
        key, _, val = param.partition("=")
        out[key.strip().upper()] = val.strip().strip('"') if val else key.strip().upper()
    name = name.strip().upper().rsplit(".", 1)[-1]  # "item1.EMAIL" (Apple's groups)
    return (name, out, value) if name else None


def unescape(value: str, params: dict[str, str]) -> str:
    """A text value: vCard 2.1 quoted-printable decoded, "\\n", "\\,", "\\;" and "\\\\" undone."""
    if params.get("ENCODING", "").upper() in ("QUOTED-PRINTABLE", "QP") or \
            "QUOTED-PRINTABLE" in params:
        charset = params.get("CHARSET", "utf-8")
        try:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode(charset,
                                                                                   "replace")
        except LookupError:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode("utf-8",
                                                                                   "replace")
    return re.sub(r"\\([nN,;\\:])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def components(lines: list[str]) -> Iterator[tuple[str, list[Property]]]:
    """(component name, its own properties) for every BEGIN/END block, innermost first; a
    property belongs to the innermost open component (an alarm's to the alarm)."""
    stack: list[tuple[str, list[Property]]] = []
    for line in lines:
        prop = parse_line(line)
        if prop is None:
            continue
        name, _params, value = prop
        if name == "BEGIN":
            stack.append((value.strip().upper(), []))
        elif name == "END" and stack:
            yield stack.pop()
        elif stack:
            stack[-1][1].append(prop)


def _when(value: str, params: dict[str, str]) -> tuple[str, str]:
    """(sort key, "2025-03-14 09:30 (Europe/Lisbon)") of a DATE or DATE-TIME value."""
    m = _DATE.match(value.strip())
    if not m:
        return value, clean_inline(value)
    date = f"{m[1]}-{m[2]}-{m[3]}"
    if not m[4]:
        return date, date
    zone = " UTC" if m[6] else (f" ({params['TZID']})" if params.get("TZID") else "")
    return f"{date}T{m[4]}{m[5]}", f"{date} {m[4]}:{m[5]}{zone}"


def _first(props: list[Property], name: str) -> Property | None:
    return next((p for p in props if p[0] == name), None)


def _text(props: list[Property], name: str) -> str:
    prop = _first(props, name)
    return clean_inline(unescape(prop[2], prop[1])) if prop else ""


def event_paragraph(kind: str, props: list[Property]) -> tuple[str, str] | None:
    """(sort key, paragraph) of one event, to-do or journal entry; None when it says nothing."""
    summary = _text(props, "SUMMARY") or "(no title)"
    start = _first(props, "DTSTART") or _first(props, "DUE")
    key, when = _when(start[2], start[1]) if start else ("", "")
    end = _first(props, "DTEND")
    if start and end:
        end_when = _when(end[2], end[1])[1]
        same_day = end_when[:10] == when[:10] and len(end_when) > 10
        when += f" to {end_when[11:] if same_day else end_when}"
    parts = [f"{_ITEMS[kind]}{summary}" + (f": {when}" if when else "") + "."]
    if location := _text(props, "LOCATION"):
        parts.append(f"Where: {location}.")
    if rule := _first(props, "RRULE"):
        freq = re.search(r"FREQ=(\w+)", rule[2].upper())
        until = re.search(r"UNTIL=(\d{8})", rule[2].upper())
        parts.append(f"Repeats {_FREQ.get(freq[1], freq[1].lower()) if freq else ''}"
                     .rstrip() + (f" until {_when(until[1], {})[1]}" if until else "") + ".")
    if organizer := _first(props, "ORGANIZER"):
        parts.append(f"Organizer: {_person(organizer)}.")
    attendees = [_person(p) for p in props if p[0] == "ATTENDEE"]
    if attendees:
        parts.append(f"Attendees: {', '.join(attendees)}.")
    if status := _text(props, "STATUS"):
        parts.append(f"Status: {status.lower()}.")
    if notes := " ".join(unescape(p[2], p[1]).strip() for p in props if p[0] == "DESCRIPTION"):
        parts.append(f"Notes: {' '.join(notes.split())}")
    if summary == "(no title)" and len(parts) == 1:
        return None
    return key, " ".join(parts)


def _person(prop: Property) -> str:
    name = prop[1].get("CN", "")
    address = re.sub(r"^mailto:", "", prop[2].strip(), flags=re.IGNORECASE)
    return f"{name} <{address}>" if name and address else (name or address)


def load_calendar(path: Path) -> Document:
    """An .ics file -> pages by month of its events (to-dos and journal entries too)."""
    text, encoding = read_text(path)
    lines = unfold(text.lstrip("\ufeff"))  # BEGIN:VCALENDAR was checked by the content sniff
    items: list[tuple[str, str]] = []
    title = ""
    for kind, props in components(lines):
        if kind == "VCALENDAR":
            title = _text(props, "X-WR-CALNAME")
        elif kind in _ITEMS and (item := event_paragraph(kind, props)):
            items.append(item)
    if not items:
        raise NothingToRead("no events in this calendar")
    pages: list[Page] = []
    for key, paragraph in sorted(items, key=lambda item: item[0]):
        month = key[:7] if re.match(r"\d{4}-\d{2}", key) else ""
        label = f"{_MONTHS[int(month[5:]) - 1]} {month[:4]}" if month else "Undated"
        if not pages or pages[-1].label != label:
            pages.append(Page(number=len(pages) + 1, blocks=[], label=label))
        pages[-1].blocks.append(Block(paragraph))
    return Document(path=str(path), format="calendar", pages=pages, title=title or None,
                    metadata={"encoding": encoding, "events": str(len(items))})


def contact_paragraph(props: list[Property]) -> str | None:
    """One contact as a paragraph; None when it has no name or way to reach anyone."""
    name = _text(props, "FN")
    if not name and (n := _first(props, "N")):
        family, given, *_ = [*unescape(n[2], n[1]).split(";"), "", ""]
        name = clean_inline(f"{given} {family}")
    org = _text(props, "ORG").replace(";", ", ").strip(", ")
    role = _text(props, "TITLE") or _text(props, "ROLE")
    head = name or org or "(no name)"
    extra = ", ".join(x for x in (org if name else "", role) if x)
    parts = [head + (f" ({extra})" if extra else "") + "."]
    for field, label in (("EMAIL", "E-mail"), ("TEL", "Phone"), ("ADR", "Address"),
                         ("URL", "Web"), ("IMPP", "Chat")):
        values = []
        for prop in (p for p in props if p[0] == field):
            value = clean_inline(", ".join(x.strip() for x in unescape(prop[2], prop[1])
                                           .split(";") if x.strip()))
            kinds = [t.lower() for t in re.split(r"[,;]", prop[1].get("TYPE", ""))
                     if t and t.lower() not in ("internet", "pref", "voice", "x400")]
            kinds += [k.lower() for k in prop[1] if k in ("HOME", "WORK", "CELL", "FAX")]
            if value:
                values.append(value + (f" ({', '.join(dict.fromkeys(kinds))})" if kinds else ""))
        if values:
            parts.append(f"{label}: {'; '.join(values)}.")
    if birthday := _first(props, "BDAY"):
        parts.append(f"Birthday: {_when(birthday[2], birthday[1])[1]}.")
    if note := _text(props, "NOTE"):
        parts.append(f"Note: {note}")
    if len(parts) == 1 and head == "(no name)":
        return None
    return " ".join(parts)


def load_vcard(path: Path) -> Document:
    """A .vcf file -> one page, a paragraph per contact (in the file's order)."""
    text, encoding = read_text(path)
    lines = unfold(text.lstrip("\ufeff"))  # BEGIN:VCARD was checked by the content sniff
    blocks = [Block(p) for kind, props in components(lines) if kind == "VCARD"
              and (p := contact_paragraph([x for x in props if x[0] not in _SKIP_VALUES]))]
    if not blocks:
        raise NothingToRead("no contacts in this address book")
    return Document(path=str(path), format="vcard", pages=[Page(1, blocks)],
                    metadata={"encoding": encoding, "contacts": str(len(blocks))})
