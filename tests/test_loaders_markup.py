"""AsciiDoc and Org: a real project README (Eclipse Jetty's, in tests/data) and the constructs
the two markups' documentation shows."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest.loaders import detect_format, load
from engine.ingest.loaders.markup import parse_asciidoc, parse_org
from engine.ingest.loaders.text import parse_rst

DATA = Path(__file__).resolve().parent / "data"

ADOC = """= Field Station Handbook
Ada Lovelace <ada@example.org>
:toc: left
:icons: font

// a comment the page never shows
////
A comment block,
over two lines.
////

== Generators

The north generator runs on diesel and is serviced every *250 hours*.
See link:https://example.org/manual.pdf[the maker's manual].

.Start-up command
[source,bash]
----
sudo systemctl start generator@north
----

[NOTE]
====
Never refuel a running generator.
====

=== Fuel

* Diesel is stored in tank T-2.
* The tank holds 2,000 litres
  when full.

|===
|Tank |Litres
|T-2 |2000
|===
"""

ORG = """#+TITLE: Lab notes
#+AUTHOR: Ada
#+STARTUP: overview

* TODO [#A] Order sensors                                          :lab:urgent:
  :PROPERTIES:
  :CREATED:  [2025-03-01 Sat 10:00]
  :END:
Order three CTD sensors from [[https://example.org/shop][the supplier]] before April.

** DONE Calibrate the probe
- Rinse it in distilled water
- Calibrate at 25 °C
  for ten minutes

#+BEGIN_SRC python
probe.calibrate(temperature=25)
#+END_SRC

# a comment line
| Probe | Drift |
|-------+-------|
| P-7   | 0.3   |
"""


def test_a_real_asciidoc_readme():
    doc = load(DATA / "jetty-README.adoc")
    assert detect_format(DATA / "jetty-README.adoc") == "asciidoc"
    assert doc.title == "ECLIPSE JETTY"
    blocks = doc.pages[0].blocks
    assert ("heading", "Quick Setup") in [(b.kind, b.text) for b in blocks]
    text = doc.pages[0].text
    assert "Jetty is available under an open source license, and the full source code is " \
           "available at GitHub." in text  # link:url[text] read as its text
    assert "tag::quick" not in text  # a comment
    code = [b.text for b in blocks if b.kind == "code"]
    assert code[0].startswith("```\n$ export JETTY_HOME=/path/to/jetty-home")


def test_asciidoc_constructs(tmp_path):
    path = tmp_path / "handbook.adoc"
    path.write_text(ADOC)
    doc = load(path)
    assert doc.title == "Field Station Handbook"
    got = [(b.kind, b.text) for b in doc.pages[0].blocks]
    assert got == [
        ("heading", "Field Station Handbook"),
        ("paragraph", "Ada Lovelace <ada@example.org>"),
        ("heading", "Generators"),
        ("paragraph", "The north generator runs on diesel and is serviced every *250 hours*.\n"
                      "See the maker's manual."),
        ("code", "```bash\nsudo systemctl start generator@north\n```"),
        ("paragraph", "Never refuel a running generator."),
        ("heading", "Fuel"),
        ("list", "* Diesel is stored in tank T-2.\n* The tank holds 2,000 litres when full."),
        ("table", "Tank | Litres\nT-2 | 2000"),
    ]
    assert "comment" not in doc.pages[0].text and ":toc:" not in doc.pages[0].text


def test_org_constructs(tmp_path):
    path = tmp_path / "notes.org"
    path.write_text(ORG)
    assert detect_format(path) == "org"
    doc = load(path)
    assert doc.title == "Lab notes"
    got = [(b.kind, b.level, b.text) for b in doc.pages[0].blocks]
    assert got == [
        ("heading", 1, "Order sensors"),
        ("paragraph", 0, "Order three CTD sensors from the supplier before April."),
        ("heading", 2, "Calibrate the probe"),
        ("list", 0, "- Rinse it in distilled water\n- Calibrate at 25 °C for ten minutes"),
        ("code", 0, "```python\nprobe.calibrate(temperature=25)\n```"),
        ("table", 0, "Probe: P-7; Drift: 0.3"),  # the rule marks the header
    ]


_WORDS = st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=8)


@given(st.lists(_WORDS, min_size=1, max_size=5))
def test_plain_paragraphs_keep_every_word(paragraphs):
    source = "\n\n".join(" ".join(words) for words in paragraphs)
    for parse in (parse_asciidoc, parse_org):
        blocks, _ = parse(source)
        got = re.findall(r"[a-z]+", " ".join(b.text for b in blocks))
        assert got == [w for words in paragraphs for w in words]
        assert len(blocks) == len(paragraphs)


def test_asciidoc_tables_by_column_count_with_their_header():
    source = ('[cols="2*",options="header"]\n|===\n|Tank\n|Litres\n|T-2\n|2000\n|===\n\n'
              "|===\n|Tank |Litres\n\n|T-3\n|1500 when\nfull\n\n|T-4 |900\n|===\n\n"
              "[[header-note]]\nAn anchor names this paragraph.\n\n|===\n|a |b\n|c |d\n|===\n")
    blocks, _ = parse_asciidoc(source)
    assert [(b.kind, b.text) for b in blocks] == [
        ("table", "Tank: T-2; Litres: 2000"),  # cells one per line, two columns by cols
        ("table", "Tank: T-3; Litres: 1500 when full\nTank: T-4; Litres: 900"),  # implicit
        ("paragraph", "An anchor names this paragraph."),  # the anchor is not shown ...
        ("table", "a | b\nc | d")]  # ... nor does "header" in it make the next table's header


_word = st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=9)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(
    st.lists(_word, min_size=n, max_size=n, unique=True),
    st.lists(st.lists(_word, min_size=n, max_size=n), min_size=1, max_size=5))),
    st.booleans())
def test_rst_grid_and_simple_tables_read_as_rows_under_their_header(table, grid):
    header, rows = table
    widths = [max(len(c) for c in column) + 2 for column in zip(header, *rows, strict=True)]

    def line(cells: list[str], sep: str) -> str:
        return sep.join(c.ljust(w) for c, w in zip(cells, widths, strict=True))

    if grid:
        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        head = rule.replace("-", "=")
        body = [f"| {line(r, ' | ')} |" for r in rows]
        source = [rule, f"| {line(header, ' | ')} |", head,
                  *(x for b in body for x in (b, rule))]
    else:
        rule = "  ".join("=" * w for w in widths)
        source = [rule, line(header, "  "), rule, *(line(r, "  ") for r in rows), rule]
    blocks = parse_rst("Before.\n\n" + "\n".join(source) + "\n\nAfter.\n")
    assert [b.kind for b in blocks] == ["paragraph", "table", "paragraph"]
    assert blocks[1].text.split("\n") == ["; ".join(f"{h}: {c}" for h, c in zip(
        header, row, strict=True)) for row in rows]


def test_rst_list_tables_and_cells_over_several_lines():
    source = (".. list-table:: Tank sizes\n   :header-rows: 1\n   :widths: 10 20\n\n"
              "   * - Tank\n     - Litres\n   * - T-2\n     - 2000 when\n       full\n\n"
              "=====  =========\nTank   Litres\n=====  =========\nT-3    1500\n       (estimate)\n"
              "=====  =========\n")
    assert [(b.kind, b.text) for b in parse_rst(source)] == [
        ("paragraph", "Tank sizes"),
        ("table", "Tank: T-2; Litres: 2000 when full"),
        ("table", "Tank: T-3; Litres: 1500 (estimate)")]
