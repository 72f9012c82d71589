"""SVG drawings: a real LibreOffice export, and the shapes draw.io and Inkscape write."""

from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import LoadError, NothingToRead
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.svg import _label_text

SVG = 'xmlns="http://www.w3.org/2000/svg"'
#: How draw.io (diagrams.net) exports a labelled box: the label as HTML in a foreignObject, and
#: again as plain <text> for viewers without HTML, both in one <switch>.
DRAWIO = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg {SVG} xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="400" height="200">
<defs><style>.x {{ font: 12px sans-serif }}</style></defs>
<g><rect x="10" y="10" width="160" height="60"/>
<g transform="translate(-0.5 -0.5)"><switch>
<foreignObject requiredFeatures="http://www.w3.org/TR/SVG11/feature#Extensibility"
 width="100%" height="100%"><div xmlns="http://www.w3.org/1999/xhtml"><div><div>Backup server
<br/>nightly at 02:00</div></div></div></foreignObject>
<text x="90" y="44">Backup server nightly...</text></switch></g>
<g><switch><foreignObject width="100%" height="100%"><div xmlns="http://www.w3.org/1999/xhtml">
Offsite copy in Lisbon</div></foreignObject><text x="1" y="1">Offsite copy in Lis...</text>
</switch></g></g>
<switch><g requiredFeatures="http://www.w3.org/TR/SVG11/feature#Extensibility"/>
<a transform="translate(0,-5)" xlink:href="https://www.drawio.com/doc/faq/svg-export-text-problems"
 target="_blank"><text text-anchor="middle" x="50%" y="100%">Text is not SVG - cannot display</text>
</a></switch></svg>
"""
#: Inkscape 0.92: a title, a description, a flowed text box and a two-line text.
INKSCAPE = f"""<svg {SVG} xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd">
<title>Site plan</title><desc>Drawn for the 2025 season</desc>
<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">ignored</rdf:RDF>
</metadata>
<flowRoot><flowRegion><rect width="100" height="50"/></flowRegion>
<flowPara>The fuel store holds</flowPara><flowPara>2,000 litres of diesel.</flowPara></flowRoot>
<text x="0" y="0"><tspan sodipodi:role="line" x="0" y="0">Gate 3 is the</tspan><tspan
 sodipodi:role="line" x="0" y="20">fire exit</tspan></text>
<text>H<tspan>2</tspan>O tank</text>
</svg>"""


def test_drawio_labels_are_read_once(tmp_path):
    path = tmp_path / "backup.drawio.svg"
    path.write_text(DRAWIO)
    assert detect_format(path) == "svg"
    doc = load(path)
    assert [b.text for b in doc.pages[0].blocks] == ["Backup server\nnightly at 02:00",
                                                    "Offsite copy in Lisbon"]


def test_inkscape_text_title_and_flowed_text(tmp_path):
    path = tmp_path / "site.svg"
    path.write_text(INKSCAPE)
    doc = load(path)
    assert doc.title == "Site plan"
    blocks = doc.pages[0].blocks
    assert (blocks[0].kind, blocks[0].text) == ("heading", "Site plan")
    assert [b.text for b in blocks[1:]] == ["Drawn for the 2025 season",
                                           "The fuel store holds\n2,000 litres of diesel.",
                                           "Gate 3 is the\nfire exit", "H2O tank"]
    svgz = tmp_path / "site.svgz"
    svgz.write_bytes(gzip.compress(INKSCAPE.encode()))
    assert detect_format(svgz) == "svg" and load(svgz).title == "Site plan"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_a_libreoffice_drawing_exported_as_svg(tmp_path):
    from tests.test_loaders_drawings_flat import write_odg

    odg = write_odg(tmp_path / "site.odg", [["Generator shed north of the jetty"]])
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--headless", "--convert-to", "svg", "--outdir", str(tmp_path / "out"),
                    str(odg)], check=True, capture_output=True, timeout=120)
    doc = load(tmp_path / "out" / "site.svg")
    assert "Generator shed north of the jetty" in " ".join(doc.pages[0].text.split())


def test_icons_damaged_files_and_entities(tmp_path):
    icon = tmp_path / "icon.svg"
    icon.write_text(f'<svg {SVG}><path d="M0 0L10 10"/><style>text {{ fill: red }}</style></svg>')
    with pytest.raises(NothingToRead, match="no text in this drawing"):
        load(icon)
    named = tmp_path / "close.svg"  # an accessible icon: a title, and nothing else to read
    named.write_text(f'<svg {SVG}><title>Close dialog</title><path d="M0 0L9 9"/></svg>')
    with pytest.raises(NothingToRead, match=r"^only a word or two in this drawing"):
        load(named)
    broken = tmp_path / "broken.svg"
    broken.write_text(f"<svg {SVG}><text>Unclosed")
    with pytest.raises(LoadError, match=r"^corrupt SVG \(not well-formed XML"):
        load(broken)
    html = tmp_path / "page.svg"  # a web page named .svg is read as one (gnuplot's demo index)
    html.write_text("<html><body><p>Demos of the SVG terminal.</p></body></html>")
    assert skip_reason(html) is None and load(html).format == "html"
    makefile = tmp_path / "Makefile.svg"  # text that is no drawing is still refused
    makefile.write_text("all: html\n\nclean:\n\trm -f *.png\n")
    assert skip_reason(makefile) == "not an SVG drawing (no <svg> element; mislabelled?)"
    # an external entity is never fetched or read: the label keeps no file's contents
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = tmp_path / "xxe.svg"
    xxe.write_text(f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
                   f"<svg {SVG}><text>Label of the pump &s; end</text></svg>")
    doc = load(xxe)
    assert "TOP-SECRET" not in doc.pages[0].text and "Label" in doc.pages[0].text
    bad_gzip = tmp_path / "bad.svgz"
    bad_gzip.write_bytes(gzip.compress(b"<svg>")[:12])
    with pytest.raises(LoadError, match="corrupt"):
        load(bad_gzip)


@given(st.lists(st.text(alphabet="ab cd<>&é", min_size=0, max_size=12), min_size=1, max_size=5))
def test_a_labels_lines_keep_every_word_in_order(lines):
    from lxml import etree

    def esc(t: str) -> str:
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    spans = "".join(f'<tspan x="0">{esc(line)}</tspan>' for line in lines)
    element = etree.fromstring(f"<text {SVG}>{spans}</text>")
    text = _label_text(element)
    assert text.split() == " ".join(lines).split()
    assert not text or "" not in text.split("\n")  # no empty lines
