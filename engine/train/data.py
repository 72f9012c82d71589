"""Training data: what the adapter learns from, where it came from, and what is kept aside.

Three sources, one shape (:class:`Example`):

* an indexed collection: its chunks in document order with the chunker's overlap trimmed away, as
  plain text for continued pre-training (learn the documents' vocabulary and facts). Trimming
  matters for the held-out split: with overlapping chunks, a held-out chunk's first sentences
  would also be in its neighbour, and the held-out loss would flatter the adapter;
* a user file of pairs (JSONL or CSV): ``question``/``answer``, ``prompt``/``completion``, the
  question-set format's ``question``/``answers``, or chat ``messages``; trained with the base
  model's chat template and loss on the answer tokens only;
* pairs the model generated from a collection (:mod:`engine.train.generate_qa` writes them as a
  JSONL file the user reviews, then they come in as a pairs file).

Bad data is the user's to fix, so every problem is one line naming the file and line. A held-out
split is chosen by content hash (stable when the file is reordered or grows), and a fixed control
set of general text (``control.md``) measures forgetting.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import SatchelError

CONTROL_FILE = Path(__file__).with_name("control.md")
#: Fewer examples than this cannot give both a training set and a held-out set worth measuring.
MIN_EXAMPLES = 4
_ROLES = {"system", "user", "assistant"}
_PAIR_KEYS = (("question", "answer"), ("prompt", "completion"), ("instruction", "output"),
              ("input", "output"))


class TrainDataError(SatchelError):
    """Training data that cannot be used; ``str()`` names the file and line when there is one."""


@dataclass(frozen=True)
class Example:
    """One training example: plain ``text`` (continued pre-training) or chat ``messages``."""

    origin: str  # where it came from, for messages: "pairs.jsonl line 12", "report.pdf p.3"
    text: str = ""
    messages: tuple[tuple[str, str], ...] = ()  # (role, content); the last one is the assistant

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)

    def key(self) -> str:
        """A content hash: the held-out split and the data fingerprint use it."""
        body = self.text if not self.messages else json.dumps(self.messages)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def preview(self, width: int = 160) -> str:
        if self.messages:
            q = next((c for r, c in self.messages if r == "user"), "")
            a = self.messages[-1][1]
            if "\nQuestion: " in q:  # a reader example: the answer-time RAG prompt
                passages, _, q = q.rpartition("\nQuestion: ")
                shown = sum(1 for line in passages.splitlines() if line.startswith("["))
                return f"Q: {q} | {shown} passage{'s' * (shown != 1)} | A: {a}"
            body = f"Q: {q} | A: {a}"
        else:
            body = self.text
        body = " ".join(body.split())
        return body if len(body) <= width else body[: width - 3] + "..."


@dataclass
class TrainingData:
    """Train / held-out examples, the control texts, and a description of the source."""

    source: dict[str, Any]
    train: list[Example]
    heldout: list[Example]
    control: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Identifies the exact data (a checkpoint is only resumed on the same data)."""
        digest = hashlib.sha256()
        for part, examples in (("t", self.train), ("h", self.heldout)):
            for ex in examples:
                digest.update(f"{part}:{ex.key()}\n".encode())
        return digest.hexdigest()

    def preview(self, n: int = 5) -> list[str]:
        """A few lines to show before training, so the user sees what the model will learn."""
        return [ex.preview() for ex in self.train[:n]]


# -- sources --------------------------------------------------------------------------------------
def from_collection(name: str) -> list[Example]:
    """A collection's text in document order, one example per chunk, overlaps trimmed."""
    from engine.index import Collection

    coll = Collection.open(name)
    if not coll.count_chunks():
        raise TrainDataError(f"collection {name!r} has no text to train on; index some files "
                             "into it first")
    rows = (coll.chunks.search().select(["path", "page", "start", "end", "ordinal", "text"])
            .limit(None).to_list())
    rows.sort(key=lambda r: (r["path"], r["page"], r["start"], r["ordinal"]))
    examples: list[Example] = []
    covered: dict[tuple[str, int], int] = {}  # (path, page) -> end of the text already taken
    for row in rows:
        where = (row["path"], row["page"])
        seen_end = covered.get(where, 0)
        text = row["text"]
        if row["start"] < seen_end:
            text = text[seen_end - row["start"]:]  # drop what the previous chunk already had
        covered[where] = max(seen_end, row["end"])
        text = text.strip()
        if len(text) >= 20:  # a lone heading or table cell teaches nothing on its own
            examples.append(Example(f"{Path(row['path']).name} p.{row['page']}", text=text))
    if not examples:
        raise TrainDataError(f"collection {name!r} has no text to train on")
    return examples


def _one_line(value: Any) -> str:
    text = str(value)
    return text if len(text) < 60 else text[:57] + "..."


def _pair_from_object(obj: Any, where: str) -> Example:
    """One JSON object (or CSV row) -> a chat example; TrainDataError says what is wrong."""
    if not isinstance(obj, dict):
        raise TrainDataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if "messages" in obj:
        msgs = obj["messages"]
        if not isinstance(msgs, list) or not msgs:
            raise TrainDataError(f"{where}: 'messages' must be a non-empty list")
        out: list[tuple[str, str]] = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(
                    m.get("content"), str):
                raise TrainDataError(f"{where}: message {i + 1} needs a role (system, user or "
                                     "assistant) and a text content")
            out.append((m["role"], m["content"]))
        if out[-1][0] != "assistant" or not out[-1][1].strip():
            raise TrainDataError(f"{where}: the last message must be a non-empty assistant "
                                 "reply (the answer to learn)")
        if not any(r == "user" for r, _ in out):
            raise TrainDataError(f"{where}: 'messages' has no user message")
        return Example(where, messages=tuple(out))
    question = answer = None
    for qk, ak in _PAIR_KEYS:
        if qk in obj and ak in obj:
            question, answer = obj[qk], obj[ak]
            break
    if question is None and "question" in obj and "answers" in obj:  # the question-set format
        answers = obj["answers"]
        answer = answers[0] if isinstance(answers, list) and answers else None
        question = obj["question"]
    if question is None and answer is None:
        keys = ", ".join(sorted(map(str, obj))) or "none"
        raise TrainDataError(f"{where}: needs question/answer, prompt/completion or messages "
                             f"(found keys: {_one_line(keys)})")
    if not isinstance(question, str) or not question.strip():
        raise TrainDataError(f"{where}: the question is empty or not text")
    if not isinstance(answer, str) or not answer.strip():
        raise TrainDataError(f"{where}: the answer is empty or not text")
    return Example(where, messages=(("user", question.strip()), ("assistant", answer.strip())))


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TrainDataError(f"training data file not found: {path}") from None
    except IsADirectoryError:
        raise TrainDataError(f"{path} is a folder; give a .jsonl or .csv file") from None
    except OSError as exc:
        raise TrainDataError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainDataError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise TrainDataError(f"{path.name} is empty: it has no training pairs")
    return text


def from_pairs_file(path: str | Path) -> list[Example]:
    """Pairs from JSONL (one object a line) or CSV (header row naming the columns)."""
    path = Path(path).expanduser()
    text = _read_text(path)
    examples: list[Example] = []
    if path.suffix.lower() in (".csv", ".tsv"):
        try:
            dialect: Any = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.Sniffer(
            ).sniff(text[:4096], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if not any(q in fields and a in fields for q, a in _PAIR_KEYS):
            raise TrainDataError(f"{path.name}: the header row must name question and answer "
                                 "(or prompt and completion) columns; found: "
                                 f"{_one_line(', '.join(fields) or 'nothing')}")
        try:
            for row in reader:
                line = reader.line_num
                clean = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
                if not any(v.strip() for v in clean.values()):
                    continue
                examples.append(_pair_from_object(clean, f"{path.name} line {line}"))
        except csv.Error as exc:
            raise TrainDataError(f"{path.name} line {reader.line_num}: bad CSV ({exc})") from None
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrainDataError(f"{path.name} line {number}: not valid JSON ({exc.msg} at "
                                     f"column {exc.colno})") from None
            examples.append(_pair_from_object(obj, f"{path.name} line {number}"))
    if not examples:
        raise TrainDataError(f"{path.name} is empty: it has no training pairs")
    return examples


def control_texts() -> list[str]:
    """The fixed control set: short general-knowledge paragraphs (forgetting shows up here)."""
    text = CONTROL_FILE.read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


# -- split ----------------------------------------------------------------------------------------
def split_heldout(examples: list[Example], fraction: float = 0.1, *, min_heldout: int = 2,
                  max_heldout: int = 200, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """(train, held-out); held-out picked by a seeded content hash, order otherwise kept.

    Duplicates (same content) are dropped first, so a repeated passage cannot sit on both sides.
    """
    unique: dict[str, Example] = {}
    for ex in examples:
        unique.setdefault(ex.key(), ex)
    items = list(unique.values())
    if len(items) < MIN_EXAMPLES:
        raise TrainDataError(f"too little training data: {len(items)} distinct examples; at "
                             f"least {MIN_EXAMPLES} are needed (one is kept aside to measure)")
    n_held = max(min_heldout, round(len(items) * fraction))
    n_held = min(n_held, max_heldout, len(items) // 2)
    ranked = sorted(items, key=lambda e: hashlib.sha256(f"{seed}:{e.key()}".encode()).digest())
    held_keys = {e.key() for e in ranked[:n_held]}
    train = [e for e in items if e.key() not in held_keys]
    heldout = [e for e in items if e.key() in held_keys]
    return train, heldout


def load_training_data(*, collection: str | None = None, data_file: str | Path | None = None,
                       heldout_fraction: float = 0.1, seed: int = 0) -> TrainingData:
    """Read one source, split it, attach the control set. Exactly one source must be given."""
    if (collection is None) == (data_file is None):
        raise TrainDataError("give exactly one training source: a collection or a data file")
    if collection is not None:
        examples = from_collection(collection)
        source: dict[str, Any] = {"kind": "collection", "name": collection}
    else:
        examples = from_pairs_file(data_file)  # type: ignore[arg-type]
        source = {"kind": "pairs", "path": str(Path(data_file).expanduser().resolve())}  # type: ignore[arg-type]
    train, heldout = split_heldout(examples, heldout_fraction, seed=seed)
    source["examples"] = len(train) + len(heldout)
    return TrainingData(source, train, heldout, control_texts())
