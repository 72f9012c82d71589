"""Charts are read as their title and the data they plot, from the values the chart caches.

Charts are made by python-pptx (the same chart XML PowerPoint and Word write, caches included);
the Word document shows one of them in a paragraph, as Word's Insert > Chart does.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.loaders import load
from engine.ingest.loaders.ooxml_charts import chart_blocks
from tests.helpers_ooxml import before, relationships, repack


def _deck_with_charts(path: Path) -> Path:
    import pptx
    from pptx.chart.data import CategoryChartData, XyChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Harbour traffic"
    data = CategoryChartData(number_format="0.0")
    data.categories = ["Q1", "Q2", "Q3"]
    data.add_series("Ferries", (120, 135.5, 98))
    data.add_series("Yachts", (40, 310, 12.25))
    frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1.5),
                                   Inches(8), Inches(5), data)
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Vessels per quarter"
    shares = CategoryChartData(number_format="0%")
    shares.categories = [dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    shares.add_series("Berths used", (0.25, 0.875))
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_chart(
        XL_CHART_TYPE.LINE, 0, 0, Inches(8), Inches(5), shares)  # no title, no text at all
    xy = XyChartData()
    depth = xy.add_series("Depth")
    for x, y in ((1, 4.5), (2, 6.25)):
        depth.add_data_point(x, y)
    deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_chart(
        XL_CHART_TYPE.XY_SCATTER, 0, 0, Inches(8), Inches(5), xy)
    deck.save(path)
    return path


def test_a_deck_of_charts_reads_their_data(tmp_path):
    doc = load(_deck_with_charts(tmp_path / "traffic.pptx"))
    assert doc.pages[0].text == (
        "Harbour traffic\n\nChart: Vessels per quarter\n\n"
        "Category: Q1; Ferries: 120; Yachts: 40\n"
        "Category: Q2; Ferries: 135.5; Yachts: 310\n"
        "Category: Q3; Ferries: 98; Yachts: 12.25")
    assert doc.pages[1].text == ("Category: 2025-03-01; Berths used: 25%\n"
                                 "Category: 2025-04-01; Berths used: 87.5%")
    assert doc.pages[2].text == "Category: 1; Depth: 4.5\nCategory: 2; Depth: 6.25"


def _word_with_chart(tmp_path: Path) -> Path:
    """A Word document showing the deck's first chart between two paragraphs."""
    import docx

    deck = _deck_with_charts(tmp_path / "source.pptx")
    with zipfile.ZipFile(deck) as zf:
        chart = zf.read(next(n for n in zf.namelist() if n.endswith("chart1.xml")))
    document = docx.Document()
    document.add_paragraph("Traffic rose in the second quarter.")
    document.add_paragraph("").add_run()  # the chart's paragraph
    document.add_paragraph("Figures from the harbour office.")
    source = io.BytesIO()
    document.save(source)
    inline = ('<w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/'
              'drawingml/2006/wordprocessingDrawing"><wp:extent cx="5486400" cy="3200400"/>'
              '<wp:docPr id="1" name="Chart 1"/><a:graphic xmlns:a="http://schemas.'
              'openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.'
              'openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.'
              'openxmlformats.org/drawingml/2006/chart" xmlns:r="http://schemas.'
              'openxmlformats.org/officeDocument/2006/relationships" r:id="rIdChart1"/>'
              "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r>")
    return repack(source.getvalue(), tmp_path / "report.docx", {
        "word/_rels/document.xml.rels": relationships(("rIdChart1", "chart",
                                                       "charts/chart1.xml")),
        "[Content_Types].xml": before("</Types>", (
            '<Override PartName="/word/charts/chart1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.drawingml.chart+xml"/>')),
        "word/document.xml": lambda data: data.replace(b"<w:r/>", inline.encode(), 1)},
        {"word/charts/chart1.xml": chart})


def test_a_chart_in_a_word_document_is_read_where_it_is(tmp_path):
    path = _word_with_chart(tmp_path)
    text = load(path).pages[0].text
    assert text.startswith("Traffic rose in the second quarter.\n\nChart: Vessels per quarter\n\n"
                           "Category: Q1; Ferries: 120; Yachts: 40\n")
    assert text.endswith("Category: Q3; Ferries: 98; Yachts: 12.25\n\n"
                         "Figures from the harbour office.")


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_chart_part_gives_blocks_or_nothing(data):
    for blob in (data, b'<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/'
                       b'2006/chart"><c:chart>' + data + b"</c:chart></c:chartSpace>"):
        assert all(block.text for block in chart_blocks(blob))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_charts_of_opendocument_files_read_as_their_data(tmp_path):
    """LibreOffice keeps a chart as an embedded object ("Object 1") with its data table; a
    Writer chart sits inside a paragraph, an Impress one in a frame of the slide."""
    from engine.ingest.loaders.legacy import convert

    impress, writer = tmp_path / "impress", tmp_path / "writer"  # convert wants empty folders
    impress.mkdir()
    writer.mkdir()
    table = ("Chart: Vessels per quarter\n\nCategory: Q1; Ferries: 120; Yachts: 40\n"
             "Category: Q2; Ferries: 135.5; Yachts: 310\nCategory: Q3; Ferries: 98; Yachts: 12.25")
    deck = convert(_deck_with_charts(tmp_path / "traffic.pptx"), "odp", impress)
    assert load(deck).pages[0].text == f"Harbour traffic\n\n{table}"
    text = convert(_word_with_chart(tmp_path), "odt", writer)
    assert load(text).pages[0].text == (f"Traffic rose in the second quarter.\n\n{table}\n\n"
                                        "Figures from the harbour office.")
