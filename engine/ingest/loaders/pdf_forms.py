"""The filled-in fields of a PDF form: what a user typed into a tax return, an application or an
order form.

Why: a form's values are not page text. They live in the form's field widgets (annotations), so
PDFium's page text holds the printed labels ("Policy number") and none of the answers: a filled
form read as a blank one. Each page's text, choice and list fields with a value become one block
of "Label: value" lines, the label being the field's tooltip (what the form shows the user, "TU")
or else its name without the path of parent fields ("topmostSubform[0].Page1[0].f1_01[0]" gives
"f1_01"). Check boxes and buttons say nothing a question could ask for ("Off", "Yes") and are
left out.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

from engine.ingest.loaders.common import clean_inline

#: Longest value read from one field (a multi-line box may hold a letter; more is not a field).
MAX_VALUE_CHARS = 4000
#: A name's parent path and array index: "form[0].page1[0].f1_01[0]" -> "f1_01".
_NAME_PATH = re.compile(r"^(?:.*\.)?([^.]+?)(?:\[\d+\])?$")


def _utf16(call: Any, *args: Any) -> str:
    """A PDFium string getter's text: asked for its size, then read (UTF-16LE, NUL-ended)."""
    size = call(*args, None, 0)
    if size <= 2:
        return ""
    size = min(size, 2 * MAX_VALUE_CHARS + 2)
    buffer = ctypes.create_string_buffer(size)
    call(*args, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
    return buffer.raw[:size - 2].decode("utf-16-le", errors="replace")


def field_values(form: Any, page: Any) -> list[tuple[str, str]]:
    """(label, value) of each filled text, choice or list field on ``page`` (a pypdfium2 page
    of a document whose forms were initialised: ``form`` is its ``formenv``)."""
    import pypdfium2.raw as pdfium_c

    kinds = {pdfium_c.FPDF_FORMFIELD_TEXTFIELD, pdfium_c.FPDF_FORMFIELD_COMBOBOX,
             pdfium_c.FPDF_FORMFIELD_LISTBOX}
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, index)
        if not annot:
            continue
        try:
            if (pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET
                    or pdfium_c.FPDFAnnot_GetFormFieldType(form.raw, annot) not in kinds):
                continue
            value = clean_inline(_utf16(pdfium_c.FPDFAnnot_GetFormFieldValue, form.raw, annot))
            if not value:
                continue
            label = clean_inline(_utf16(pdfium_c.FPDFAnnot_GetFormFieldAlternateName, form.raw,
                                        annot))
            if not label:
                name = _utf16(pdfium_c.FPDFAnnot_GetFormFieldName, form.raw, annot)
                match = _NAME_PATH.match(name.strip())
                label = clean_inline(match.group(1) if match else name)
            pair = (label.rstrip(":").strip() or "Field", value)
            if pair not in seen:  # one field shown by several widgets (a name on each page)
                seen.add(pair)
                out.append(pair)
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return out
