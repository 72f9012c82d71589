"""Calendars and address books as Google, Outlook, Thunderbird, Apple and old phones write them.

``tests/data/mozilla.ics`` is a real Mozilla Calendar export (from pyparsing's examples), folded
in the odd way that program folded every property; the others follow the exporters' layouts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import LoadError, NothingToRead
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.calendar import parse_line, unescape, unfold

DATA = Path(__file__).resolve().parent / "data"

GOOGLE = """BEGIN:VCALENDAR\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
VERSION:2.0\r
X-WR-CALNAME:Family\r
X-WR-TIMEZONE:Europe/Lisbon\r
BEGIN:VTIMEZONE\r
TZID:Europe/Lisbon\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0100\r
DTSTART:19701025T020000\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
DTSTART;TZID=Europe/Lisbon:20250314T093000\r
DTEND;TZID=Europe/Lisbon:20250314T100000\r
RRULE:FREQ=YEARLY\r
SUMMARY:Dentist check-up\r
LOCATION:Clínica Sorriso\\, Rua Augusta 12\\, Lisboa\r
DESCRIPTION:Bring the X-rays from last year.\\nAsk about the crown on the lo\r
 wer left molar.\r
ORGANIZER;CN=Ana Silva:mailto:ana@example.org\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;CN=Rui Silva:mailto:rui@example.org\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:This is an event reminder\r
TRIGGER:-P0DT0H30M0S\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART;VALUE=DATE:20250201\r
DTEND;VALUE=DATE:20250202\r
SUMMARY:Car insurance renewal (policy AX-4471)\r
END:VEVENT\r
BEGIN:VTODO\r
DUE:20250320T170000Z\r
SUMMARY:Send the tax forms to the accountant\r
STATUS:NEEDS-ACTION\r
END:VTODO\r
END:VCALENDAR\r
"""

CONTACTS = """BEGIN:VCARD
VERSION:3.0
FN:Ada Lovelace
N:Lovelace;Ada;;;
ORG:Analytical Engines Ltd;Research
TITLE:Engineer
EMAIL;TYPE=INTERNET;TYPE=WORK:ada@example.org
TEL;TYPE=CELL:+44 20 7946 0000
item1.ADR;TYPE=HOME:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom
item1.X-ABLabel:home
BDAY:1815-12-10
NOTE:Prefers calls after 10:00\\; allergic to cats.
PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHR
 oXHx0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/
END:VCARD
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Gon=C3=A7alves;Jo=C3=A3o;;;
TEL;CELL;PREF:+351 912 345 678
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Harbour office
TEL;VALUE=uri;TYPE="voice,work":tel:+351-21-000-1234
URL:https://harbour.example.pt
END:VCARD
"""


def test_a_google_calendar_export_reads_as_events_by_month(tmp_path):
    path = tmp_path / "family.ics"
    path.write_bytes(GOOGLE.encode())
    assert detect_format(path) == "calendar"
    doc = load(path)
    assert doc.title == "Family" and doc.metadata["events"] == "3"
    assert [(p.number, p.label) for p in doc.pages] == [(1, "February 2025"), (2, "March 2025")]
    dentist = doc.pages[1].blocks[0].text
    assert dentist == (
        "Dentist check-up: 2025-03-14 09:30 (Europe/Lisbon) to 10:00 (Europe/Lisbon). "
        "Where: Clínica Sorriso, Rua Augusta 12, Lisboa. Repeats yearly. "
        "Organizer: Ana Silva <ana@example.org>. Attendees: Rui Silva <rui@example.org>. "
        "Notes: Bring the X-rays from last year. Ask about the crown on the lower left molar.")
    assert "event reminder" not in doc.pages[1].text  # the alarm's text is not the event's
    assert doc.pages[0].blocks[0].text == ("Car insurance renewal (policy AX-4471): 2025-02-01 "
                                           "to 2025-02-02.")
    assert doc.pages[1].blocks[1].text == ("To do: Send the tax forms to the accountant: "
                                           "2025-03-20 17:00 UTC. Status: needs-action.")


def test_a_real_mozilla_calendar_with_its_odd_folding():
    doc = load(DATA / "mozilla.ics")
    assert [p.label for p in doc.pages] == ["July 2004"]
    assert doc.pages[0].blocks[0].text.startswith(
        "Test event: 2004-07-14 to 2004-08-15. Where: Somewhere over the rainbow. "
        "Repeats monthly until 2004-09-14.")


def test_an_address_book_reads_a_paragraph_per_contact(tmp_path):
    path = tmp_path / "contacts.vcf"
    path.write_text(CONTACTS)
    assert detect_format(path) == "vcard"
    doc = load(path)
    texts = [b.text for b in doc.pages[0].blocks]
    assert texts == [
        "Ada Lovelace (Analytical Engines Ltd, Research, Engineer). E-mail: ada@example.org "
        "(work). Phone: +44 20 7946 0000 (cell). Address: 12 St James's Square, London, "
        "SW1Y 4JH, United Kingdom (home). Birthday: 1815-12-10. Note: Prefers calls after "
        "10:00; allergic to cats.",
        "João Gonçalves. Phone: +351 912 345 678 (cell).",
        "Harbour office. Phone: tel:+351-21-000-1234 (work). Web: https://harbour.example.pt."]
    assert "9j/4AAQ" not in doc.pages[0].text  # a photo is data, not text


def test_files_that_are_not_calendars_or_contacts(tmp_path):
    notes = tmp_path / "notes.ics"
    notes.write_text("Meeting notes, not a calendar.\n")
    with pytest.raises(LoadError, match=r"^not an iCalendar file \(no BEGIN:VCALENDAR"):
        load(notes)
    empty = tmp_path / "empty.ics"
    empty.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
    with pytest.raises(NothingToRead, match="no events"):
        load(empty)
    genome = tmp_path / "sample.vcf"  # genomics uses .vcf too, for files of gigabytes
    genome.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n1\t10177\t.\tA\tAC\n")
    assert skip_reason(genome) == "a genomic variant call file (VCF), not an address book"
    binary = tmp_path / "card.vcf"
    binary.write_bytes(b"\x00\x01BEGIN:VCARD\x00" * 50)
    assert skip_reason(binary) == "binary file (not text)"


@given(st.text(alphabet="abc:;,\\\n é", max_size=40))
def test_escaping_round_trips(value):
    """What an exporter escapes (RFC 5545 3.3.11) comes back as it was."""
    escaped = (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
               .replace("\n", "\\n"))
    assert unescape(escaped, {}) == value


@given(st.text(alphabet="abcdef é:;", min_size=1, max_size=200))
def test_folded_lines_unfold_to_the_original(value):
    line = f"DESCRIPTION:{value}".replace("\n", "")
    folded = "\r\n ".join(line[i:i + 75] for i in range(0, len(line), 75))
    assert unfold(folded + "\r\n") == [line]
    name, params, rest = parse_line(line)
    assert (name, params, rest) == ("DESCRIPTION", {}, value)


def test_events_and_contacts_are_found_by_hybrid_search(tmp_path):
    from engine.indexer import index_paths
    from engine.retrieve import search

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "family.ics").write_bytes(GOOGLE.encode())
    (folder / "contacts.vcf").write_text(CONTACTS)
    summary = index_paths([folder])
    assert summary.files_indexed == 2 and not summary.files_failed
    dentist = search("When is my dentist appointment?", k=1)[0]
    assert dentist.path.endswith("family.ics") and dentist.page == 2  # March 2025
    ada = search("What is Ada Lovelace's phone number?", k=1)[0]
    assert ada.path.endswith("contacts.vcf") and "+44 20 7946 0000" in ada.text
