"""Tables in PDFs are read as rows that name their columns; prose, contents pages and forms of
pieces are not taken for tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.ingest.loaders import load

DATA = Path(__file__).parent / "data"
#: Page 7 of libpst's MAPI_definitions.pdf (libpst 0.6.76, Debian source package): a three-column
#: table whose descriptions wrap over several lines and hold bulleted lists.
MAPI = DATA / "libpst-mapi-definitions-p7.pdf"

STATEMENT = [("Date", "Description", "Amount", "Balance"),
             ("2025-03-01", "Opening balance", "", "1,204.50"),
             ("2025-03-03", "Harbour Cafe", "-3.50", "1,201.00"),
             ("2025-03-09", "Rent transfer to K. Olsen for the flat in Harbour Road, March",
              "-1,100.00", "2,951.00"),
             ("2025-03-12", "Electricity, Nordic Power AS", "-86.20", "2,864.80")]


def blocks(path: Path) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for p in load(path).pages for b in p.blocks]


def statement_pdf(path: Path, valign: str = "MIDDLE") -> Path:
    """A bank statement: a sentence, a table with a bold header, amounts set flush right and a
    description that wraps, then a sentence (fpdf2 draws each cell as a piece of its own)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Account activity for March 2025. All amounts in euros.")
    pdf.set_x(pdf.l_margin)
    pdf.cell(60, 6, "Harbour Savings Bank")  # a line of two pieces just above the table
    pdf.cell(0, 6, "Statement 3 of 12", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    with pdf.table(col_widths=(25, 75, 25, 25), v_align=valign,
                   text_align=("LEFT", "LEFT", "RIGHT", "RIGHT"),
                   headings_style=FontFace(emphasis="BOLD")) as table:
        for cells in STATEMENT:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Questions about this statement? Call 0800 555 0199.")
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("valign", ["MIDDLE", "TOP"])
def test_a_statement_table_reads_as_rows_that_name_their_columns(tmp_path, valign):
    got = blocks(statement_pdf(tmp_path / "statement.pdf", valign))
    assert got == [
        ("paragraph", "Account activity for March 2025. All amounts in euros. "
                      "Harbour Savings Bank Statement 3 of 12"),
        ("table", "Date: 2025-03-01; Description: Opening balance; Balance: 1,204.50\n"
                  "Date: 2025-03-03; Description: Harbour Cafe; Amount: -3.50; "
                  "Balance: 1,201.00\n"
                  "Date: 2025-03-09; Description: Rent transfer to K. Olsen for the flat in "
                  "Harbour Road, March; Amount: -1,100.00; Balance: 2,951.00\n"
                  "Date: 2025-03-12; Description: Electricity, Nordic Power AS; "
                  "Amount: -86.20; Balance: 2,864.80"),
        ("paragraph", "Questions about this statement? Call 0800 555 0199."),
    ]


def test_a_real_table_with_wrapped_descriptions_and_lists_in_cells():
    (kind, table), *rest = blocks(MAPI)
    rows = table.splitlines()
    assert kind == "table" and len(rows) == 11
    assert rows[1] == ("Value type: 0x0014; Identifier: PT_LONGLONG PT_I8; "
                       "Description: Integer 64-bit signed")
    assert rows[4].startswith("Value type: 0x0040; Identifier: PT_SYSTIME; Description: "
                              "Windows Filetime or System Time (64-bit) Filetime is stored as: "
                              "• 32-bit low part • 32-bit high part It contains the number")
    assert rows[-1] == ("Value type: 0x1001; Identifier: PT_MV_NULL; "
                        "Description: Array of NULL values")
    assert [k for k, _ in rest] == ["paragraph", "paragraph"]


def test_prose_contents_and_two_columns_are_not_tables(tmp_path):
    """Words placed one by one (as an OCR layer places them), a contents page whose page
    numbers line up, and label / value pairs in two columns stay what they were."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    words = ("The harbour master keeps the tide tables for the season and posts them at the "
             "gate each morning before the first boats leave the inner basin").split()
    y, x = 30.0, 20.0
    for n, word in enumerate(words):  # a line of pieces a few spaces apart, ragged
        if x + pdf.get_string_width(word) > 180:
            y, x = y + 6, 20.0 + (n % 3)
        pdf.text(x, y, word)
        x += pdf.get_string_width(word) + 2.5 + (n * 7 % 5)
    for n, (title, page) in enumerate([("Introduction", 1), ("Tides", 4), ("Moorings", 9),
                                       ("Fees", 12)]):
        pdf.text(20, 90 + 6 * n, f"{n + 1}. {title} " + ". " * 30)
        pdf.text(180, 90 + 6 * n, str(page))
    for n, (label, value) in enumerate([("Invoice number", "INV-2025-001"),
                                        ("Date", "2025-03-01"), ("Due", "2025-03-31")]):
        pdf.text(20, 130 + 6 * n, label)
        pdf.text(80, 130 + 6 * n, value)
    pdf.output(str(tmp_path / "not-tables.pdf"))
    kinds = [kind for kind, _ in blocks(tmp_path / "not-tables.pdf")]
    assert "table" not in kinds


def test_a_table_of_names_only_has_no_header(tmp_path):
    """A list of keyboard shortcuts: its first row is a row like the others, not the names of
    the columns (which labelled every other row with its cells)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    rows = [("File.NewProject", "CTRL + SHIFT + N", "New project"),
            ("File.OpenProject", "CTRL + SHIFT + O", "Open project"),
            ("Project.AddClass", "SHIFT + ALT + C", "Add a class")]
    with pdf.table(col_widths=(50, 50, 50), first_row_as_headings=False) as table:
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.output(str(tmp_path / "keys.pdf"))
    assert blocks(tmp_path / "keys.pdf") == [
        ("table", "File.NewProject | CTRL + SHIFT + N | New project\n"
                  "File.OpenProject | CTRL + SHIFT + O | Open project\n"
                  "Project.AddClass | SHIFT + ALT + C | Add a class")]
