"""Parse and chunk files in a child process, with a time limit and a memory limit per file.

Why a process: one bad PDF must not hang or crash the app (the complaint users have about every
peer). A thread cannot be killed; a child process can. The child loads and chunks a file and sends
back plain dataclasses; when a file takes longer than its time limit the child is killed and a new
one started for the next file; when the child dies (a parser segfault, the memory limit) the file
is reported with the reason and indexing goes on.

The child is started with "spawn": the parent may hold torch and LanceDB thread pools, which do
not survive fork().
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import SatchelError
from engine.ingest.chunker import Chunk
from engine.ingest.document import Document
from engine.ingest.file_names import is_text, printable, valid_text
from engine.ingest.revisions import OCR_OFF_KEY

STARTUP_TIMEOUT_S = 120.0
#: A parser child's temporary files (an attachment written out to be read, a PostScript file
#: printed to PDF, LibreOffice's conversions) go in a folder of its own, named after the
#: Satchel process that owns it, removed whenever the child ends or is killed. Loaders clean
#: up after themselves, but not when the child is killed mid-file (a cancelled run, a time
#: limit): copies of the user's documents stayed in /tmp. A folder whose owner died (killed
#: itself) is removed by the next parser started.
TEMP_PREFIX = "satchel-parse-"


@dataclass(frozen=True)
class ParseConfig:
    """Everything the child needs to turn a path into chunks."""

    tokenizer_dir: str
    max_tokens: int
    overlap_tokens: int
    max_bytes: int | None
    memory_limit_bytes: int | None = 4 << 30
    #: read scanned PDF pages and images with OCR (setting ``ocr``)
    ocr: bool = True
    ocr_languages: str = "eng"


@dataclass(frozen=True)
class ParsedFile:
    """A file the child parsed successfully."""

    path: str
    format: str
    title: str
    pages: int
    chunks: list[Chunk]
    #: what read it ("python-docx", "... + OCR on 2 of 5 pages")
    loader: str = ""
    #: documents inside the file (messages, attachments), each with its own part path
    parts: tuple[ParsedFile, ...] = ()
    #: pages that needed OCR were left unread because OCR was off
    ocr_off: bool = False
    #: (part path, reason, skipped) of the parts at any depth that were not read
    #: (:func:`engine.ingest.document.unread_parts`); on the file's own entry only
    unread: tuple[tuple[str, str, bool], ...] = ()

    def walk(self) -> list[ParsedFile]:
        """This file's own document first, then its parts."""
        return [self, *self.parts]


class ParseFailed(Exception):
    """The file could not be parsed; ``str()`` is the one-line reason for the report."""


class NoText(ParseFailed):
    """The file is fine but holds no words (a photo): skipped, not failed."""


class ParseCancelled(Exception):
    """The job was cancelled while this file was parsed: the file is neither read nor failed
    (the next run reads it)."""


#: How often a parse waiting on its child looks at whether the job was cancelled.
CANCEL_POLL_S = 0.25


class ParserUnavailable(SatchelError):
    """The parser process itself cannot run (not one file's fault): the whole run stops."""


def _silence_stdout() -> None:
    """Point this process's standard output (file descriptor 1) at /dev/null."""
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _private_temp() -> str:
    """A new temporary folder for a parser child (:data:`TEMP_PREFIX`), after removing those
    of Satchel processes that are gone."""
    import shutil
    import tempfile
    from pathlib import Path

    if os.name == "posix":  # os.kill(pid, 0) only asks on POSIX (on Windows it terminates)
        for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
            owner = folder.name[len(TEMP_PREFIX):].split("-", 1)[0]
            try:
                if not owner.isdigit() or int(owner) == os.getpid() \
                        or folder.stat().st_uid != os.getuid():
                    continue
                os.kill(int(owner), 0)
            except ProcessLookupError:  # its Satchel process is gone
                shutil.rmtree(folder, ignore_errors=True)
            except OSError:  # alive (another user's, or not ours to ask), or already removed
                continue
    return tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")


def _child_main(conn: Any, config: ParseConfig, temp_dir: str = "") -> None:
    """Child loop: receive a path, reply ("ok", ParsedFile), ("empty", reason) or
    ("error", reason). Temporary files go in ``temp_dir`` (:data:`TEMP_PREFIX`), this
    process's and the programs' it runs."""
    if temp_dir:
        import tempfile

        for name in ("TMPDIR", "TEMP", "TMP"):
            os.environ[name] = temp_dir
        tempfile.tempdir = temp_dir
    from engine import netguard

    netguard.install()  # every Satchel process refuses the network, parser children included
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # A library's warning about one file's bytes (Pillow's "Corrupt EXIF data" on a photo) went
    # to the terminal over the progress bar; what became of each file is in the summary.
    warnings.simplefilter("ignore")
    # Parsers print what they cannot parse (odfpy printed a document's whole XML part): a
    # user's text went to the terminal, and broke `satchel index --json`. The child's standard
    # output, down to its file descriptor, goes nowhere; replies travel on the pipe.
    _silence_stdout()
    if config.memory_limit_bytes:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (config.memory_limit_bytes,
                                                    config.memory_limit_bytes))
        except (ValueError, OSError):
            pass
    try:
        from engine.ingest import loaders, progress
        from engine.ingest.chunker import chunk_document
        from engine.ingest.document import (
            LoadError,
            LoadOptions,
            NothingToRead,
            parser_error,
            unread_parts,
        )
        from engine.ingest.tokens import load_tokenizer

        options = LoadOptions(ocr=config.ocr, ocr_languages=config.ocr_languages)
        progress.set_reporter(lambda message: conn.send(("progress", message)))

        counter = load_tokenizer(config.tokenizer_dir)
    except Exception as exc:  # the parent reports it; a traceback here would reach no one
        conn.send(("failed", f"{type(exc).__name__}: {str(exc)[:200]}"))
        return
    conn.send(("ready", None))  # start-up (imports, tokenizer) is not charged to any file
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        try:
            doc = as_text(loaders.load(path, max_bytes=config.max_bytes, options=options))
            parsed = []
            for part in doc.walk():
                chunks = chunk_document(part, counter, max_tokens=config.max_tokens,
                                        overlap_tokens=config.overlap_tokens)
                if chunks or part is doc:  # the file itself is recorded even without text
                    parsed.append(ParsedFile(part.path, part.format, part.title or "",
                                             len(part.pages), chunks, part.loader,
                                             ocr_off=OCR_OFF_KEY in part.metadata))
            if not any(p.chunks for p in parsed):
                raise LoadError("no extractable text")
            unread = tuple((printable(part), valid_text(why), skipped)
                           for part, why, skipped in unread_parts(doc))
            reply: tuple[str, Any] = ("ok", replace(parsed[0], parts=tuple(parsed[1:]),
                                                    unread=unread))
        except NothingToRead as exc:
            reply = ("empty", str(exc))
        except LoadError as exc:
            reply = ("error", str(exc).splitlines()[0] if str(exc) else "cannot load file")
        except MemoryError:
            reply = ("error", "file needs more memory than the parser limit allows")
        except RecursionError:
            reply = ("error", "file is too deeply nested to parse")
        except Exception as exc:  # a library bug on a weird file: report it, keep going
            reply = ("error", parser_error(exc))
        conn.send(reply)


def as_text(doc: Document) -> Document:
    """``doc`` with nothing the index cannot store: a lone surrogate (a byte a loader kept
    undecoded) in its text becomes U+FFFD; a part whose path is not text fails the file
    with a one-line reason (part names are made text when they are made:
    :func:`engine.ingest.loaders.embedded.safe_name`)."""
    from engine.ingest.document import LoadError

    for part in doc.walk():
        if not is_text(part.path):
            raise LoadError(f"a name inside it is not UTF-8: {printable(part.path)}")
        part.title = valid_text(part.title) if part.title else part.title
        part.loader = valid_text(part.loader)
        for page in part.pages:
            page.label = valid_text(page.label) if page.label else page.label
            if not all(is_text(block.text) for block in page.blocks):
                page.blocks = [replace(b, text=valid_text(b.text)) for b in page.blocks]
    return doc


class ParseWorker:
    """Owns one child process; :meth:`parse` is called from one thread at a time, and
    :meth:`close` from any thread (a parse in progress then fails: its child is killed)."""

    def __init__(self, config: ParseConfig) -> None:
        self.config = config
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Any = None
        self._temp = ""

    def _start(self) -> None:
        """Start the child and wait for its "ready", watching that it is still alive."""
        parent, child = self._ctx.Pipe()
        self._conn = parent
        try:
            self._temp = _private_temp()
            self._proc = self._ctx.Process(target=_child_main,
                                           args=(child, self.config, self._temp),
                                           name="satchel-parser", daemon=True)
            self._proc.start()
            child.close()
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not parent.poll(0.2):
                if not self._proc.is_alive():
                    raise ParserUnavailable(
                        f"the parser process exited at start-up (exit code {self._proc.exitcode})")
                if time.monotonic() > deadline:
                    raise ParserUnavailable(
                        f"the parser process did not start within {STARTUP_TIMEOUT_S:g} s")
            try:
                status, reason = parent.recv()
            except EOFError:
                self._proc.join(5)
                raise ParserUnavailable("the parser process exited at start-up (exit code "
                                        f"{self._proc.exitcode})") from None
            if status != "ready":
                raise ParserUnavailable(f"the parser process could not start: {reason}")
        except OSError as exc:
            self._kill()
            raise ParserUnavailable(f"cannot start the parser process: {exc or type(exc).__name__}"
                                    ) from None
        except ParserUnavailable:
            self._kill()
            raise

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        conn, self._conn = self._conn, None
        temp, self._temp = self._temp, ""
        if proc is not None and getattr(proc, "_popen", None) is not None:  # it was started
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        if conn is not None:
            conn.close()
        if temp:  # what the child left there when it was killed mid-file
            import shutil

            shutil.rmtree(temp, ignore_errors=True)

    def parse(self, path: str, timeout_s: float,
              on_progress: Callable[[str], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> ParsedFile:
        """Parse one file or raise :class:`ParseFailed` with a reason (timeouts kill the child).

        ``timeout_s`` is the longest the child may stay silent: a loader that reports progress
        (OCR, page by page) gets a fresh ``timeout_s`` with each report, and ``on_progress``
        receives the report. A hung parser still ends after ``timeout_s``. When ``cancelled()``
        turns true the child is killed within :data:`CANCEL_POLL_S` and
        :class:`ParseCancelled` is raised: a cancel does not wait for a 300-page scan's OCR.
        """
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        conn, proc = self._conn, self._proc  # :meth:`close` from another thread stops it
        try:
            conn.send(path)
            heard = time.monotonic()
            while True:
                if cancelled is not None and cancelled():
                    self._kill()
                    raise ParseCancelled(path)
                wait = timeout_s - (time.monotonic() - heard)
                if not conn.poll(max(0.0, min(wait, CANCEL_POLL_S) if cancelled else wait)):
                    if time.monotonic() - heard < timeout_s:
                        continue  # only a look at ``cancelled``
                    self._kill()
                    raise ParseFailed(f"parsing took longer than {timeout_s:g} s (time limit); "
                                      "the file was skipped")
                status, payload = conn.recv()
                if status != "progress":
                    break
                heard = time.monotonic()
                if on_progress is not None:
                    on_progress(payload)
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = proc.exitcode if proc is not None else None
            self._kill()
            if code is not None and code < 0:
                name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ \
                    else str(-code)
                raise ParseFailed(f"the parser crashed on this file ({name})") from None
            raise ParseFailed("the parser stopped unexpectedly on this file") from None
        if status == "ok":
            return payload
        raise NoText(payload) if status == "empty" else ParseFailed(payload)

    def close(self) -> None:
        """Stop the child cleanly (or kill it if it does not stop)."""
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(2)
            except (BrokenPipeError, OSError):
                pass
        self._kill()

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
