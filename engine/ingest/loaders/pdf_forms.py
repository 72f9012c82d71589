"""What a user typed onto a PDF: the fields of a filled form, text added with a viewer's
typewriter tool, and comments (sticky notes).

Why: none of it is page text. A form's values live in its field widgets and the rest in
annotations, so PDFium's page text holds a tax return's or an application's printed labels
("Policy number") and none of the answers: a filled form read as a blank one, and so did the
flat form filled in with "Add text", which is how most people fill a PDF that has no fields.

* Text, choice and list fields with a value make one block of "Label: value" lines, the label
  being the field's tooltip (what the form shows the user, "TU") or else its name without the
  path of parent fields ("topmostSubform[0].Page1[0].f1_01[0]" gives "f1_01"). Check boxes and
  buttons say nothing a question could ask for ("Off", "Yes") and are left out.
* Typed text (free-text annotations) reads as paragraphs; comments (a sticky note, or what a
  reviewer wrote on a highlight) as "Comment: ...".
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

from engine.ingest.document import Block
from engine.ingest.loaders.common import clean_inline, clean_text, table_blocks

#: Longest text kept from one field or annotation (more is not something typed into a form).
MAX_VALUE_CHARS = 4000
#: Larger strings are not read at all (PDFium fills a buffer only when it holds the whole
#: string, so a value cannot be read in part).
MAX_STRING_BYTES = 1 << 20
#: A name's parent path and array index: "form[0].page1[0].f1_01[0]" -> "f1_01".
_NAME_PATH = re.compile(r"^(?:.*\.)?([^.]+?)(?:\[\d+\])?$")


def _utf16(call: Any, *args: Any) -> str:
    """A PDFium string getter's text: asked for its size, then read (UTF-16LE, NUL-ended)."""
    size = call(*args, None, 0)
    if size <= 2 or size > MAX_STRING_BYTES:
        return ""
    buffer = ctypes.create_string_buffer(size)
    call(*args, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
    return buffer.raw[:size - 2].decode("utf-16-le", errors="replace")[:MAX_VALUE_CHARS]


def _field(form: Any, annot: Any) -> tuple[str, str] | None:
    """(label, value) of a filled text, choice or list field's widget, else None."""
    import pypdfium2.raw as pdfium_c

    kinds = {pdfium_c.FPDF_FORMFIELD_TEXTFIELD, pdfium_c.FPDF_FORMFIELD_COMBOBOX,
             pdfium_c.FPDF_FORMFIELD_LISTBOX}
    if form is None or pdfium_c.FPDFAnnot_GetFormFieldType(form.raw, annot) not in kinds:
        return None
    value = clean_inline(_utf16(pdfium_c.FPDFAnnot_GetFormFieldValue, form.raw, annot))
    if not value:
        return None
    label = clean_inline(_utf16(pdfium_c.FPDFAnnot_GetFormFieldAlternateName, form.raw, annot))
    if not label:
        name = _utf16(pdfium_c.FPDFAnnot_GetFormFieldName, form.raw, annot).strip()
        match = _NAME_PATH.match(name)
        label = clean_inline(match.group(1) if match else name)
    return label.rstrip(":").strip() or "Field", value


def page_additions(form: Any, page: Any) -> list[Block]:
    """Blocks for what was typed onto ``page`` (a pypdfium2 page; ``form`` its document's
    ``formenv`` once forms are initialised, or None): its filled fields, typed text, comments."""
    import pypdfium2.raw as pdfium_c

    # a sticky note, and a highlight or other mark a reviewer wrote a comment on
    comments = {pdfium_c.FPDF_ANNOT_TEXT, pdfium_c.FPDF_ANNOT_HIGHLIGHT,
                pdfium_c.FPDF_ANNOT_UNDERLINE, pdfium_c.FPDF_ANNOT_SQUIGGLY,
                pdfium_c.FPDF_ANNOT_STRIKEOUT}
    fields: list[tuple[str, str]] = []
    typed: list[Block] = []
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, index)
        if not annot:
            continue
        try:
            kind = pdfium_c.FPDFAnnot_GetSubtype(annot)
            if kind == pdfium_c.FPDF_ANNOT_WIDGET:
                pair = _field(form, annot)
                if pair and pair not in fields:  # one field shown by several widgets
                    fields.append(pair)
            elif kind == pdfium_c.FPDF_ANNOT_FREETEXT or kind in comments:
                text = clean_text(_utf16(pdfium_c.FPDFAnnot_GetStringValue, annot,
                                         b"Contents"))
                if text:
                    typed.append(Block(f"Comment: {text}" if kind in comments else text))
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return table_blocks([[f"{label}:", value] for label, value in fields],
                        labelled=True) + typed
