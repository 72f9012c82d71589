"""Typed settings with their defaults in one place, a schema version, and atomic saves.

Why this shape: the GUI's settings screen, the CLI and the engine all read the same dataclass, so a
default lives in exactly one spot. A corrupt or hand-broken settings file must never stop the app:
it is backed up next to itself, defaults are used, and the caller gets a one-line warning to show.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine import paths

SCHEMA_VERSION = 1


@dataclass
class Settings:
    """Everything the user can change. ``None`` model/embedder means the bundled default."""

    schema_version: int = SCHEMA_VERSION
    # language model
    model_path: str | None = None
    n_threads: int = 0  # 0 = one per physical core
    n_ctx: int = 2048
    n_batch: int = 256
    temperature: float = 0.2
    max_answer_tokens: int = 256
    #: How strongly a RAG answer keeps to the words of its passages (logits added to a token that
    #: continues a passage span, see engine/copy_bias.py); 0 turns it off. Chosen on the
    #: development set of real manuals (bundled 135M model, 2 x 160 passage tokens): 0 answered
    #: 42%, 2 answered 44%, 4 answered 58%, 5 58%, 6-8 50-52%. A reader adapter's answers use
    #: a quarter more (engine.answer.READER_COPY_BIAS_SCALE).
    copy_bias: float = 4.0
    # retrieval
    embedder: str | None = None
    #: Passages per answer, and the prompt tokens they share (CPU latency is dominated by prompt
    #: length, FACTS.md). Chosen on the development set of real manuals (benchmarks/realdocs,
    #: 50 questions, bundled 135M model): 3 passages x 120 tokens kept the gold answer in the
    #: prompt for 72% of questions and answered 32%; 2 x 160 kept it for 80% and answered 38%
    #: at the same latency; 3 x 160/200 answered worse (28%/24%): more text distracts a small
    #: model. Focus still cuts the passage to the sentences that match the question. Once
    #: answers were copy-biased (copy_bias), one passage beat two at every budget: the top
    #: passage held the answer for 88% of questions, the second added it for 2% and distracted
    #: the model far more often. 1 x 120 answered 60% (gold answer within the first 25 words:
    #: 52%) in 1.1 s (p50) where 2 x 160 answered 58% (42%) in 1.2-1.5 s; 1 x 160 answered
    #: 68% (54%) but in 1.6 s, over the 1.5 s target: it copies longer. Once the bundled model
    #: ran as a Q8_0 copy (prompts read 1.6x faster), 1 x 140 answered 76% in 1.1 s against 72%
    #: in 1.0 s for 1 x 120 (1 x 160: 80% but 1.5 s; one run each, same machine).
    top_k: int = 1
    context_tokens: int = 140
    retrieval_mode: str = "hybrid"
    default_collection: str = "default"
    # ingestion
    chunk_tokens: int = 180
    chunk_overlap: int = 24
    parse_timeout_s: float = 60.0
    max_file_mb: float = 200.0
    #: Read scanned PDF pages and images with OCR (Tesseract; seconds per page on a laptop).
    ocr: bool = True
    #: Tesseract languages, joined with "+" ("eng", "eng+deu"); each needs its language data.
    ocr_languages: str = "eng"
    watched_folders: list[str] = field(default_factory=list)
    # the local API (`satchel serve`)
    server_port: int = 8765
    #: Bearer token API clients must send; empty: none needed (the server is loopback-only).
    server_token: str = ""
    # beyond one laptop (docs/scale-out.md)
    #: Where the index lives: empty for the data dir, or an object-storage URI ("s3://bucket/p").
    index_uri: str = ""
    #: Object-storage options for ``index_uri`` (LanceDB's: endpoint, region, access_key_id,
    #: secret_access_key, allow_http...).
    storage_options: dict[str, str] = field(default_factory=dict)
    #: An OpenAI-compatible server that answers instead of the in-process model (empty: local).
    llm_url: str = ""
    #: Its API key (sent as a Bearer token) and model name (empty: the first it lists).
    llm_api_key: str = ""
    llm_model: str = ""

    def validate(self) -> list[str]:
        """Reset out-of-range values to defaults; return one line per value that was reset."""
        problems: list[str] = []
        default = Settings()
        checks: dict[str, bool] = {
            "n_threads": 0 <= self.n_threads <= 256,
            "n_ctx": 256 <= self.n_ctx <= 1_048_576,
            "n_batch": 1 <= self.n_batch <= 8192,
            "temperature": 0.0 <= self.temperature <= 2.0,
            "max_answer_tokens": 1 <= self.max_answer_tokens <= 8192,
            "copy_bias": 0.0 <= self.copy_bias <= 20.0,
            "top_k": 1 <= self.top_k <= 50,
            "context_tokens": 32 <= self.context_tokens <= 1_000_000,
            "retrieval_mode": self.retrieval_mode in ("vector", "text", "hybrid"),
            "chunk_tokens": 16 <= self.chunk_tokens <= 8192,
            "chunk_overlap": 0 <= self.chunk_overlap < max(self.chunk_tokens, 1),
            "parse_timeout_s": 0.1 <= self.parse_timeout_s <= 3600,
            "max_file_mb": 0.001 <= self.max_file_mb <= 100_000,
            "server_port": 0 <= self.server_port <= 65535,
            "index_uri": self.index_uri == "" or re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+",
                                                              self.index_uri) is not None,
            "llm_url": self.llm_url == "" or re.fullmatch(r"https?://\S+",
                                                          self.llm_url) is not None,
            "ocr_languages": re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", self.ocr_languages)
            is not None,
        }
        addresses = {"index_uri": "s3://bucket/satchel", "llm_url": "http://host:8080/v1"}
        for name, ok in checks.items():
            if not ok:
                what = (f"is not an address like {addresses[name]}" if name in addresses
                        else "is out of range")
                problems.append(f"setting {name}={getattr(self, name)!r} {what}; using "
                                f"{getattr(default, name)!r}")
                setattr(self, name, getattr(default, name))
        return problems


_TYPES: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "model_path": (str, type(None)),
    "embedder": (str, type(None)),
    "n_threads": (int,),
    "n_ctx": (int,),
    "n_batch": (int,),
    "temperature": (float, int),
    "max_answer_tokens": (int,),
    "copy_bias": (float, int),
    "top_k": (int,),
    "context_tokens": (int,),
    "retrieval_mode": (str,),
    "default_collection": (str,),
    "chunk_tokens": (int,),
    "chunk_overlap": (int,),
    "parse_timeout_s": (float, int),
    "max_file_mb": (float, int),
    "ocr": (bool,),
    "ocr_languages": (str,),
    "watched_folders": (list,),
    "server_port": (int,),
    "server_token": (str,),
    "index_uri": (str,),
    "storage_options": (dict,),
    "llm_url": (str,),
    "llm_api_key": (str,),
    "llm_model": (str,),
}


def _migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file up to SCHEMA_VERSION (no older schema exists yet: version 1 is first)."""
    raw["schema_version"] = SCHEMA_VERSION
    return raw


def from_dict(raw: dict[str, Any]) -> tuple[Settings, list[str]]:
    """Build Settings from parsed JSON, keeping what is valid and reporting what is not."""
    warnings: list[str] = []
    version = raw.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        warnings.append(f"settings were written by a newer Satchel (schema {version}); "
                        "unknown values are ignored")
    raw = _migrate(dict(raw))
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            continue
        if (isinstance(value, bool) and bool not in _TYPES[key]) or not isinstance(
                value, _TYPES[key]):
            warnings.append(f"setting {key} has the wrong type ({type(value).__name__}); "
                            "using the default")
            continue
        if key == "watched_folders" and not all(isinstance(v, str) for v in value):
            warnings.append("setting watched_folders must be a list of paths; using the default")
            continue
        if key == "storage_options" and not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            warnings.append("setting storage_options must map names to strings; using the "
                            "default")
            continue
        values[key] = float(value) if key in ("temperature", "parse_timeout_s",
                                              "max_file_mb") else value
    settings = Settings(**values)
    warnings += settings.validate()
    return settings, warnings


def load(path: Path | None = None) -> tuple[Settings, list[str]]:
    """Read settings; a missing file gives defaults, a corrupt one is backed up and replaced.

    Returns the settings and a list of one-line warnings for the user (empty when all is well).
    """
    path = path or paths.settings_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(), []
    except OSError as exc:
        return Settings(), [f"cannot read settings {path}: {exc.strerror or exc}; using defaults"]
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        backup = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.replace(backup)
        except OSError as move_error:  # a read-only folder: leave the file, use defaults
            return Settings(), [f"settings file {path} is corrupt ({reason}) and could not be "
                                f"backed up ({move_error.strerror or move_error}); using "
                                "defaults, the file is left as it is"]
        return Settings(), [f"settings file was corrupt ({reason}); backed up to {backup} "
                            "and reset to defaults"]
    return from_dict(raw)


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write settings atomically (temp file + rename): a crash leaves the old file intact."""
    path = path or paths.settings_file()
    paths.atomic_write_text(path, json.dumps(asdict(settings), indent=2, sort_keys=True) + "\n")
    return path
