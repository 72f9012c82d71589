"""Question sets: the JSON Lines files evaluation (and the demo) read, validated line by line.

Format (DESIGN.md), one object a line::

    {"question": str, "answers": [str, ...], "sources": [str, ...], "pages": [int, ...]}

``sources`` (file names or path suffixes of the gold documents) and ``pages`` are optional.
People write and edit these files by hand, so a mistake must point at the line and say what is
wrong in one line ("qa.jsonl:7: 'answers' must be a non-empty list of strings"), never a
traceback. Unknown keys are refused for the same reason: ``"page": 3`` instead of ``"pages"``
would otherwise be ignored silently and the question scored without its page.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import SatchelError

#: Keys a question object may have: the format's four plus bookkeeping the drafter writes.
REQUIRED_KEYS = ("question", "answers")
OPTIONAL_KEYS = ("sources", "pages", "id", "chunk_id", "note", "sentence")


class QuestionSetError(SatchelError):
    """A question file that cannot be used; the message is one line with the file and line."""


@dataclass(frozen=True)
class QAItem:
    """One question with its gold answers and, optionally, gold sources and pages."""

    question: str
    answers: tuple[str, ...]
    sources: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()
    line: int = 0  # 1-based line in the file it came from (0: built in code)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The object as it is written to a question file (optional keys only when set)."""
        data: dict[str, Any] = {"question": self.question, "answers": list(self.answers)}
        if self.sources:
            data["sources"] = list(self.sources)
        if self.pages:
            data["pages"] = list(self.pages)
        data.update(self.extra)
        return data

    def key(self) -> str:
        """A stable fingerprint of what is scored (question and gold), for resume journals.

        Line numbers are not part of it: moving a question in the file keeps its finished rows,
        editing its gold answers does not.
        """
        payload = json.dumps([self.question, self.answers, self.sources, self.pages])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _check_item(raw: Any, where: str, line: int) -> QAItem:
    if not isinstance(raw, dict):
        raise QuestionSetError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise QuestionSetError(f"{where}: unknown key {unknown[0]!r} (expected question, "
                               "answers, sources, pages)")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionSetError(f"{where}: 'question' must be a non-empty string")
    answers = raw.get("answers")
    if "answers" not in raw:
        raise QuestionSetError(f"{where}: 'answers' is missing (a list of accepted answers)")
    if (not isinstance(answers, list) or not answers
            or not all(isinstance(a, str) and a.strip() for a in answers)):
        raise QuestionSetError(f"{where}: 'answers' must be a non-empty list of non-empty "
                               "strings")
    sources = raw.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.strip()
                                                for s in sources):
        raise QuestionSetError(f"{where}: 'sources' must be a list of file names or path "
                               "suffixes")
    pages = raw.get("pages", [])
    if not isinstance(pages, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in pages):
        raise QuestionSetError(f"{where}: 'pages' must be a list of page numbers (1 or more)")
    extra = {k: raw[k] for k in ("id", "chunk_id", "note", "sentence") if k in raw}
    return QAItem(question=" ".join(question.split()),
                  answers=tuple(a.strip() for a in answers),
                  sources=tuple(s.strip() for s in sources), pages=tuple(pages),
                  line=line, extra=extra)


def parse_questions(text: str, name: str = "<questions>") -> list[QAItem]:
    """Parse question-set text; blank lines and lines starting with ``#`` or ``//`` are skipped.

    Raises :class:`QuestionSetError` at the first bad line, naming it.
    """
    items: list[QAItem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        where = f"{name}:{number}"
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{where}: not valid JSON ({exc.msg} at column "
                                   f"{exc.colno})") from None
        items.append(_check_item(raw, where, number))
    if not items:
        raise QuestionSetError(f"{name}: no questions in the file")
    return items


def load_questions(path: str | os.PathLike[str], limit: int | None = None) -> list[QAItem]:
    """Read and validate a question file; ``limit`` keeps the first N questions."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise QuestionSetError(f"question file {path} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionSetError(f"{path.name}: not UTF-8 text") from None
    except OSError as exc:
        raise QuestionSetError(f"cannot read {path}: {exc.strerror or exc}") from None
    items = parse_questions(text, path.name)
    if limit is not None:
        if limit < 1:
            raise QuestionSetError("--limit must be at least 1")
        items = items[:limit]
    return items


def dump_questions(items: list[QAItem]) -> str:
    """Question-set text for ``items`` (one compact JSON object a line)."""
    return "".join(json.dumps(i.to_json(), ensure_ascii=False) + "\n" for i in items)


def write_questions(path: str | os.PathLike[str], items: list[QAItem]) -> Path:
    """Write a question file atomically (a half-written set would fail validation later)."""
    from engine.paths import atomic_write_text

    path = Path(path).expanduser().resolve()
    atomic_write_text(path, dump_questions(items))
    return path
