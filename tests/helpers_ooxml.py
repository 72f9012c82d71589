"""Office Open XML packages changed part by part, to build what Office writes and the
libraries that make test files cannot (an embedded object, a chart in Word, a DDE link)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


def repack(source: bytes | Path, target: Path, edits: dict[str, Callable[[bytes], bytes]],
           add: dict[str, bytes] | None = None) -> Path:
    """Write ``source`` (a package's bytes or path) to ``target`` with the parts named in
    ``edits`` passed through their function and the parts in ``add`` appended."""
    data = source.read_bytes() if isinstance(source, Path) else source
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(target, "w") as out:
        for item in src.infolist():
            part = src.read(item.filename)
            out.writestr(item, edits.get(item.filename, lambda d: d)(part))
        for name, part in (add or {}).items():
            out.writestr(name, part)
    return target


def before(closing: str, xml: str) -> Callable[[bytes], bytes]:
    """An edit that inserts ``xml`` before the part's first ``closing`` tag."""
    return lambda data: data.replace(closing.encode(), xml.encode() + closing.encode(), 1)


def relationships(*links: tuple[str, str, str]) -> Callable[[bytes], bytes]:
    """An edit of a ``.rels`` part adding (id, kind, target) relationships ("rId9", "chart",
    "charts/chart1.xml"); a kind that is a whole URI is used as it is."""
    return before("</Relationships>", "".join(
        f'<Relationship Id="{rid}" Type="{kind if "://" in kind else RELATIONSHIPS + kind}" '
        f'Target="{target}"/>' for rid, kind, target in links))


def text_box_run(paragraphs: list[str]) -> str:
    """A run holding a text box as Word writes one: the DrawingML box, and its VML copy for
    older readers in mc:Fallback (the same text twice in the file)."""
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    return (
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        '<mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
        f'<wps:wsp><wps:txbx><w:txbxContent>{body}</w:txbxContent></wps:txbx></wps:wsp>'
        '</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>{body}</w:txbxContent>'
        '</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>')
