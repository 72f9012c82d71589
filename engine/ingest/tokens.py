"""The embedder's own tokenizer, used to measure chunks.

An embedder silently truncates anything longer than its ``max_seq_length``: text past the limit is
indexed (and shown as a citation) but never embedded, so retrieval cannot find it. Measuring chunks
with the exact tokenizer the embedder uses is the only way to guarantee that cannot happen.

We load ``tokenizer.json`` with the ``tokenizers`` library directly rather than through
transformers or sentence-transformers: it costs milliseconds and imports no torch, so the chunker
stays cheap in the indexer, in tests and in the CLI.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

#: Files that may state the model's sequence limit, most authoritative first.
_LIMIT_FILES: tuple[tuple[str, str], ...] = (
    ("sentence_bert_config.json", "max_seq_length"),
    ("tokenizer_config.json", "model_max_length"),
    ("config.json", "max_position_embeddings"),
)
#: transformers writes a huge sentinel for "no limit" in tokenizer_config.json; ignore such values.
_NO_LIMIT = 1_000_000


@dataclass(frozen=True)
class Tokens:
    """Token positions of one text: what the chunker needs to cut at token boundaries."""

    #: ``(start, end)`` character offsets of each content token in the text.
    offsets: list[tuple[int, int]]
    #: Index of the pre-tokenizer "word" each token belongs to (``None`` when unknown); two
    #: adjacent tokens with the same word id are pieces of one word, so cutting there is mid-word.
    word_ids: list[int | None]

    def __len__(self) -> int:
        return len(self.offsets)


class TokenCounter:
    """Counts and locates content tokens (no [CLS]/[SEP]) exactly as the embedder will see them.

    Thread-safe: the underlying Rust tokenizer is immutable once configured here. Deliberately no
    ``encode_batch``: it starts tokenizers' thread pool, after which every fork (loaders run in
    child processes) prints a warning and disables it; on two cores it would save ~0.1 s per MB
    while embedding that MB takes about a minute.
    """

    def __init__(self, tokenizer: Tokenizer, name: str = "") -> None:
        # Loaders' tokenizer.json files often carry truncation/padding settings (MiniLM's truncates
        # at 128). A counter that truncates would under-count long texts, so switch both off.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tok = tokenizer
        self.name = name

    def __repr__(self) -> str:
        return f"TokenCounter({self.name!r})"

    def _encode(self, text: str) -> Encoding:
        return self._tok.encode(text, add_special_tokens=False)

    def count(self, text: str) -> int:
        """Number of content tokens in ``text`` (special tokens excluded)."""
        return len(self._encode(text)) if text else 0

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` character offsets of each content token of ``text``."""
        return self._encode(text).offsets if text else []

    def tokens(self, text: str) -> Tokens:
        """Offsets and word ids of ``text``'s content tokens, from a single tokenizer pass."""
        if not text:
            return Tokens([], [])
        enc = self._encode(text)
        return Tokens(enc.offsets, enc.word_ids)

    @property
    def special_tokens(self) -> int:
        """Special tokens the model wraps around one sequence ([CLS] and [SEP] for BERT: 2)."""
        return int(self._tok.num_special_tokens_to_add(False))


def _tokenizer_file(model_dir: Path) -> Path:
    """Find ``tokenizer.json`` in a sentence-transformers folder (root or Transformer module)."""
    candidates = [model_dir / "tokenizer.json"]
    modules = model_dir / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text(encoding="utf-8")):
            if str(module.get("type", "")).endswith("Transformer"):
                candidates.append(model_dir / module.get("path", "") / "tokenizer.json")
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"no tokenizer.json in embedder folder {model_dir}")


@functools.lru_cache(maxsize=8)
def _load_cached(resolved: str) -> TokenCounter:
    from tokenizers import Tokenizer

    path = _tokenizer_file(Path(resolved))
    return TokenCounter(Tokenizer.from_file(str(path)), name=Path(resolved).name)


def load_tokenizer(model_dir: str | Path) -> TokenCounter:
    """The fast tokenizer of the sentence-transformers model in ``model_dir``, cached per folder."""
    return _load_cached(str(Path(model_dir).expanduser().resolve()))


@functools.lru_cache(maxsize=8)
def _max_content_cached(resolved: str) -> int:
    root = Path(resolved)
    limit: int | None = None
    for name, key in _LIMIT_FILES:
        path = root / name
        if not path.is_file():
            continue
        value = json.loads(path.read_text(encoding="utf-8")).get(key)
        if isinstance(value, int | float) and 0 < value < _NO_LIMIT:
            limit = int(value)
            break
    if limit is None:
        raise ValueError(f"cannot tell the maximum sequence length of embedder {root}")
    content = limit - load_tokenizer(root).special_tokens
    if content < 1:
        raise ValueError(f"embedder {root} has no room for content tokens (limit {limit})")
    return content


def max_content_tokens(model_dir: str | Path) -> int:
    """Longest chunk, in content tokens, the embedder in ``model_dir`` embeds without truncating.

    That is the model's ``max_seq_length`` (sentence-transformers' own setting, which is what it
    truncates at) minus the special tokens it adds: 256 - 2 = 254 for all-MiniLM-L6-v2.
    """
    return _max_content_cached(str(Path(model_dir).expanduser().resolve()))
