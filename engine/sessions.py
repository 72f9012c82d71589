"""Chat sessions persisted in SQLite under the data dir: list, rename, delete, export Markdown.

Why SQLite from the standard library: transactional (a crash never leaves half a turn), one
file, no server, and enough for thousands of sessions. Each turn stores the user message exactly
as it was sent to the model (with its numbered passages), so a reopened session rebuilds the
same prompt prefix and llama.cpp's cache keeps working for follow-up questions.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from engine import paths
from engine.errors import SatchelError
from engine.places import source_line
from engine.prompt import HistoryTurn

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    user_message TEXT NOT NULL,
    answer TEXT NOT NULL,
    mode TEXT NOT NULL,
    adapter TEXT,
    sources TEXT NOT NULL,
    timings TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, id);
"""


@dataclass(frozen=True)
class SessionInfo:
    id: int
    title: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class StoredTurn:
    question: str
    user_message: str
    answer: str
    mode: str
    adapter: str | None
    sources: list[dict]
    timings: dict
    created: float

    def history(self) -> HistoryTurn:
        """The turn as prompt history; knows which passages it showed (for follow-up reuse)."""
        shown = tuple((s["n"], s["chunk_id"]) for s in self.sources
                      if s.get("chunk_id") and not s.get("repeated"))
        return HistoryTurn(self.question, self.user_message, self.answer, shown=shown)


class SessionStore:
    """Open per call (cheap) so any thread may use it; SQLite serialises the writes."""

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = db_path or paths.sessions_dir() / "sessions.sqlite3"
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=10)
        db.execute("PRAGMA foreign_keys = ON")
        db.row_factory = sqlite3.Row
        return db

    def create(self, title: str = "New chat") -> int:
        now = time.time()
        with closing(self._connect()) as db, db:
            cur = db.execute("INSERT INTO sessions(title, created, updated) VALUES (?, ?, ?)",
                             (title.strip() or "New chat", now, now))
            return int(cur.lastrowid)

    def _require(self, db: sqlite3.Connection, session_id: int) -> None:
        if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SatchelError(f"no chat session with id {session_id}")

    def list(self) -> list[SessionInfo]:
        """Most recently used first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT s.id, s.title, s.created, s.updated, COUNT(t.id) AS n "
                              "FROM sessions s LEFT JOIN turns t ON t.session_id = s.id "
                              "GROUP BY s.id ORDER BY s.updated DESC, s.id DESC").fetchall()
        return [SessionInfo(r["id"], r["title"], r["created"], r["updated"], r["n"])
                for r in rows]

    def rename(self, session_id: int, title: str) -> None:
        title = title.strip()
        if not title:
            raise SatchelError("a session title cannot be empty")
        with closing(self._connect()) as db, db:
            self._require(db, session_id)
            db.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))

    def delete(self, session_id: int) -> None:
        with closing(self._connect()) as db, db:
            self._require(db, session_id)
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def add_turn(self, session_id: int, answer: object) -> None:
        """Store a finished :class:`engine.answer.Answer`; the first turn names the session."""
        data = answer.to_json()  # type: ignore[attr-defined]
        now = time.time()
        with closing(self._connect()) as db, db:
            self._require(db, session_id)
            first = db.execute("SELECT COUNT(*) FROM turns WHERE session_id = ?",
                               (session_id,)).fetchone()[0] == 0
            db.execute("INSERT INTO turns(session_id, question, user_message, answer, mode, "
                       "adapter, sources, timings, created) VALUES (?,?,?,?,?,?,?,?,?)",
                       (session_id, answer.question, answer.user_message,  # type: ignore
                        data["answer"], data["mode"], data["adapter"],
                        json.dumps(data["sources"]), json.dumps(data["timings"]), now))
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
            title = db.execute("SELECT title FROM sessions WHERE id = ?",
                               (session_id,)).fetchone()[0]
            if first and title == "New chat":
                short = " ".join(answer.question.split())  # type: ignore[attr-defined]
                db.execute("UPDATE sessions SET title = ? WHERE id = ?",
                           (short[:60] + ("…" if len(short) > 60 else ""), session_id))

    def turns(self, session_id: int) -> list[StoredTurn]:
        with closing(self._connect()) as db:
            self._require(db, session_id)
            rows = db.execute("SELECT * FROM turns WHERE session_id = ? ORDER BY id",
                              (session_id,)).fetchall()
        return [StoredTurn(r["question"], r["user_message"], r["answer"], r["mode"],
                           r["adapter"], json.loads(r["sources"]), json.loads(r["timings"]),
                           r["created"]) for r in rows]

    def history(self, session_id: int) -> list[HistoryTurn]:
        return [t.history() for t in self.turns(session_id)]

    def export_markdown(self, session_id: int) -> str:
        """The session as a Markdown document: questions, answers, numbered sources."""
        info = next((s for s in self.list() if s.id == session_id), None)
        if info is None:
            raise SatchelError(f"no chat session with id {session_id}")
        lines = [f"# {info.title}", "",
                 f"_Exported from Satchel on {time.strftime('%Y-%m-%d %H:%M')}_", ""]
        for turn in self.turns(session_id):
            lines += [f"## {turn.question}", "", f"*Mode: {turn.mode}"
                      + (f", adapter {turn.adapter}" if turn.adapter else "") + "*", "",
                      turn.answer or "_(no answer)_", ""]
            if turn.sources:
                lines.append("Sources:")
                for s in turn.sources:
                    name = source_line(Path(s["path"]).name, s["path"], int(s["page"]))
                    lines.append(f"- [{s['n']}] {name}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"
