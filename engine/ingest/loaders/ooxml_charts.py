"""Charts of Word documents and PowerPoint decks, read as their title and the data they plot.

Why: a deck's numbers are often only in its charts ("revenue by quarter"), and a chart was read
as its title alone, or not at all without one (python-pptx's sample decks of charts were "no
extractable text"). A chart's XML keeps the values it shows (the ``strCache`` / ``numCache`` of
each series, written by every Office program for exactly this: showing the chart without its
workbook), so the chart becomes a table: a row per category, a column per series ("Quarter:
Q3; Revenue: 4.1; Cost: 2.6"), cited where the chart is.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from engine.ingest.document import Block
from engine.ingest.loaders.common import clean_inline, format_value, table_blocks

_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
#: Charts with more points than this are summarised by their first rows (a table of thousands
#: of measurements is not what anyone asks a chart about).
MAX_CATEGORIES = 200


def chart_blocks(xml: bytes) -> list[Block]:
    """The blocks of one chart part (``chartN.xml``): "Chart: title", then its data table."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        return []
    chart = root.find(f"{_C}chart")
    if chart is None:
        return []
    title = _title(chart.find(f"{_C}title"))
    series = [_series(ser) for ser in chart.iter(f"{_C}ser")]
    series = [s for s in series if s[2]]
    blocks = [Block(f"Chart: {title}")] if title else []
    if series:
        blocks += table_blocks(_rows(series, _title(_axis_title(chart))), labelled=False)
    return blocks


def _title(title: Any) -> str:
    if title is None:
        return ""
    return clean_inline(" ".join(t.text or "" for t in title.iter(f"{_A}t")))


def _axis_title(chart: Any) -> Any:
    """The category axis's title ("Quarter"), which names the table's first column."""
    for axis in ("catAx", "dateAx"):
        found = chart.find(f"{_C}plotArea/{_C}{axis}/{_C}title")
        if found is not None:
            return found
    return None


def _points(element: Any) -> dict[int, str]:
    """Index -> shown value of a series' categories or values (cached or literal)."""
    if element is None:
        return {}
    found: dict[int, str] = {}
    for point in element.iter(f"{_C}pt"):
        value = point.findtext(f"{_C}v")
        if value is None:
            continue
        index = int(point.get("idx", len(found)))
        found.setdefault(index, value)  # multi-level categories: the innermost level first
    return found


def _series(ser: Any) -> tuple[str, dict[int, str], dict[int, str]]:
    """(name, categories, values) of one ``c:ser``, numbers as the chart shows them; scatter
    charts plot x against y."""
    name_points = _points(ser.find(f"{_C}tx"))
    name = clean_inline(name_points.get(0, "") or ser.findtext(f"{_C}tx/{_C}v") or "")
    axis = ser.find(f"{_C}cat")
    axis = ser.find(f"{_C}xVal") if axis is None else axis
    categories = _points(axis)
    if _is_date_format(axis):  # a date axis caches day numbers ("37261" for 5 Jan 2002)
        categories = {i: _date(v) for i, v in categories.items()}
    shown = ser.find(f"{_C}val")
    shown = ser.find(f"{_C}yVal") if shown is None else shown
    values = _points(shown)
    percent = shown is not None and any("%" in (code.text or "")
                                        for code in shown.iter(f"{_C}formatCode"))
    return name, categories, {i: _number(v, percent) for i, v in values.items()}


def _is_date_format(element: Any) -> bool:
    """Whether the cached numbers under ``element`` are shown as dates ("m/d/yy", "mmm-yy")."""
    if element is None:
        return False
    codes = [(code.text or "").lower() for code in element.iter(f"{_C}formatCode")]
    return any(re.search(r"[dy]|mmm", re.sub(r'"[^"]*"|\[[^]]*]', "", c)) for c in codes)


def _date(text: str) -> str:
    """A spreadsheet day number (1900 date system) as an ISO date; the text when it is none."""
    try:
        days = float(text)
    except ValueError:
        return text
    if not 1 <= days < 2958466:  # 1900-01-01 .. 9999-12-31
        return text
    moment = dt.datetime(1899, 12, 30) + dt.timedelta(days=days)
    return format_value(moment)


def _number(text: str, percent: bool = False) -> str:
    """A cached value as shown: "12", "4.35" (not "4.3500000000000005"), "25%" for 0.25 in a
    percent format."""
    try:
        value = float(text)
    except ValueError:
        return text
    if percent:
        return f"{value * 100:.12g}%"
    return format_value(value) if value.is_integer() else f"{value:.12g}"


def _rows(series: list[tuple[str, dict[int, str], dict[int, str]]], axis: str) -> list[list[str]]:
    """The data as a grid: header (axis title, series names), then a row per category."""
    categories: dict[int, str] = {}
    for _, cats, _ in series:
        for index, label in cats.items():
            categories.setdefault(index, label)
    indexes = sorted(categories or {i for _, _, values in series for i in values})
    header = [axis or "Category"] + [name or f"Series {n}" for n, (name, _, _) in
                                     enumerate(series, 1)]
    rows = [header]
    for index in indexes[:MAX_CATEGORIES]:
        label = _number(categories[index]) if index in categories else str(index + 1)
        rows.append([label] + [values.get(index, "") for _, _, values in series])
    return rows
