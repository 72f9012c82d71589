"""(Re)generate the sample corpus: ``python -m engine.samples.build_corpus [OUT_DIR]``.

Each file is written by the real library for its format (fpdf2, python-docx, odfpy, python-pptx,
openpyxl, ebooklib; plain writes for text formats), so the loaders are tested on what those tools
really produce. Output is deterministic: document dates are fixed, and every zip-based file is
rewritten with fixed member timestamps, so re-running yields byte-identical files (given the same
library and zlib versions). The question set ``qa_draft.jsonl`` is written next to the package
from :data:`engine.samples.content.QUESTIONS`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import zipfile
from pathlib import Path

from engine.samples import CORPUS_DIR, QA_PATH
from engine.samples import content as c
from engine.samples.text_files import TEXT_FILES

FIXED = dt.datetime(2025, 11, 1, 9, 0, 0, tzinfo=dt.UTC)
FIXED_NAIVE = FIXED.replace(tzinfo=None)
AUTHOR = "Halcyon Reach Station Office"


def normalize_zip(path: Path) -> None:
    """Rewrite a zip with fixed timestamps and fixed document dates, keeping member order and
    compression (EPUB's stored ``mimetype`` must stay first and uncompressed)."""
    stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            fixed.compress_type = info.compress_type
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, data)


def build_pdf(out: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(FIXED)
    pdf.set_title(c.REPORT_TITLE)
    pdf.set_author(AUTHOR)
    pdf.set_creator("engine.samples.build_corpus")
    pdf.set_producer("fpdf2")
    for number, (heading, paragraphs) in enumerate(c.REPORT_PAGES, start=1):
        pdf.add_page()
        if number == 1:
            pdf.set_page_label(label_style="r")  # the foreword is page "i"
        elif number == 2:
            pdf.set_page_label(label_style="D", label_start=1)
        if number == 1:
            pdf.set_font("Helvetica", "B", 22)
            pdf.multi_cell(0, 11, c.REPORT_TITLE, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(6)
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font("Helvetica", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.output(str(out / "annual_report_2025.pdf"))


def build_docx(out: Path) -> None:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author, props.last_modified_by = c.HANDBOOK_TITLE, AUTHOR, AUTHOR
    props.created = props.modified = FIXED_NAIVE
    props.revision = 1
    document.add_paragraph(c.HANDBOOK_TITLE, style="Title")
    for kind, text in c.HANDBOOK:
        if kind == "h1":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
        elif kind == "bullet":
            document.add_paragraph(text, style="List Bullet")
        else:
            document.add_paragraph(text)
        if text == "Field parties call the station on the channel of the zone they are working in.":
            table = document.add_table(rows=0, cols=len(c.RADIO_TABLE[0]))
            table.style = "Table Grid"
            for row in c.RADIO_TABLE:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = value
    target = out / "field_safety_handbook.docx"
    document.save(str(target))
    normalize_zip(target)


def build_odt(out: Path) -> None:
    from odf import dc, meta, table, text
    from odf.element import Element
    from odf.opendocument import OpenDocumentText

    # odfpy collects namespace declarations in a class-level dict shared by every document of the
    # process; without a reset a second build in one process declares more namespaces.
    Element.namespaces.clear()
    document = OpenDocumentText()
    document.meta.addElement(dc.Title(text=c.MINUTES_TITLE))
    document.meta.addElement(dc.Creator(text=AUTHOR))
    document.meta.addElement(meta.CreationDate(text=FIXED.strftime("%Y-%m-%dT%H:%M:%S")))
    body = document.text
    body.addElement(text.H(outlinelevel=1, text=c.MINUTES_TITLE))
    body.addElement(text.P(text=c.MINUTES_INTRO))
    body.addElement(text.H(outlinelevel=2, text="Attendees"))
    attendees = text.List()
    for name in c.MINUTES_ATTENDEES:
        item = text.ListItem()
        item.addElement(text.P(text=name))
        attendees.addElement(item)
    body.addElement(attendees)
    body.addElement(text.H(outlinelevel=2, text="Decisions"))
    body.addElement(text.P(text=c.MINUTES_DECISIONS))
    body.addElement(text.H(outlinelevel=2, text="Action items"))
    grid = table.Table(name="Actions")
    grid.addElement(table.TableColumn(numbercolumnsrepeated=len(c.MINUTES_ACTIONS[0])))
    for row in c.MINUTES_ACTIONS:
        tr = table.TableRow()
        for value in row:
            cell = table.TableCell()
            cell.addElement(text.P(text=value))
            tr.addElement(cell)
        grid.addElement(tr)
    body.addElement(grid)
    body.addElement(text.H(outlinelevel=2, text="Next meeting"))
    body.addElement(text.P(text=c.MINUTES_NEXT))
    target = out / "council_minutes_2025-06-02.odt"
    document.save(str(target))
    normalize_zip(target)


def build_pptx(out: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    props = deck.core_properties
    props.title, props.author, props.last_modified_by = "Arrivals briefing 2025-26", AUTHOR, AUTHOR
    props.created = props.modified = FIXED_NAIVE
    props.revision = 1
    for number, (title, lines, notes, grid) in enumerate(c.SLIDES, start=1):
        layout = deck.slide_layouts[0 if number == 1 else (5 if grid else 1)]
        slide = deck.slides.add_slide(layout)
        slide.shapes.title.text = title
        if lines:
            body = slide.placeholders[1].text_frame
            body.text = lines[0]
            for line in lines[1:]:
                body.add_paragraph().text = line
        if grid:
            shape = slide.shapes.add_table(
                len(grid), len(grid[0]), Inches(0.8), Inches(2.0), Inches(8.4), Inches(1.5)
            )
            for r, row in enumerate(grid):
                for col, value in enumerate(row):
                    shape.table.cell(r, col).text = value
        slide.notes_slide.notes_text_frame.text = notes
    target = out / "onboarding_2025.pptx"
    deck.save(str(target))
    normalize_zip(target)


def build_xlsx(out: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.creator = AUTHOR
    workbook.properties.title = "Stores and fleet register"
    workbook.properties.created = workbook.properties.modified = FIXED_NAIVE
    inventory = workbook.active
    inventory.title = "Inventory"
    for row in c.INVENTORY:
        inventory.append(row)
    vessels = workbook.create_sheet("Vessels")
    for row in c.VESSELS:
        vessels.append(row)
    target = out / "stores_and_fleet.xlsx"
    workbook.save(str(target))
    normalize_zip(target)


def build_csv(out: Path) -> None:
    lines = [",".join(row) for row in c.BUOYS]
    (out / "buoy_deployments.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def build_epub(out: Path) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("halcyon-reach-history-2025")
    book.set_title(c.HISTORY_TITLE)
    book.set_language("en")
    book.add_author("Agnes Thorvaldsen-Rhee")
    chapters = []
    for number, (title, paragraphs) in enumerate(c.CHAPTERS, start=1):
        chapter = epub.EpubHtml(title=title, file_name=f"chapter{number}.xhtml", lang="en")
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        chapter.content = f"<h1>Chapter {number}: {title}</h1>{body}"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = [epub.Link(ch.file_name, ch.title, f"ch{n}") for n, ch in enumerate(chapters, 1)]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    target = out / "history_of_halcyon_reach.epub"
    epub.write_epub(str(target), book, {"mtime": FIXED})
    normalize_zip(target)


def build_text_files(out: Path) -> None:
    for name, (text, encoding) in TEXT_FILES.items():
        (out / name).write_bytes(text.encode(encoding))


def build_qa(path: Path) -> None:
    lines = [
        json.dumps({"question": q, "answers": a, "sources": [s], "pages": [p]}, ensure_ascii=False)
        for q, a, s, p in c.QUESTIONS
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(out: Path = CORPUS_DIR, qa_path: Path | None = QA_PATH) -> list[Path]:
    """Write every corpus file into ``out`` (and the question set to ``qa_path``)."""
    out.mkdir(parents=True, exist_ok=True)
    for builder in (
        build_pdf, build_docx, build_odt, build_pptx, build_xlsx, build_csv, build_epub,
        build_text_files,
    ):  # fmt: skip
        builder(out)
    if qa_path is not None:
        build_qa(qa_path)
    return sorted(out.iterdir())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else CORPUS_DIR
    files = build(out, QA_PATH if not args else None)
    total = sum(f.stat().st_size for f in files)
    for f in files:
        print(f"{f.stat().st_size:>8}  {f.name}")
    print(f"{total:>8}  total ({len(files)} files) in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
