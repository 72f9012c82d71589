"""Words of Chinese, Japanese, Korean, Thai, Lao, Khmer and Burmese text that search and
passage focus can match.

Why: both word matchers Satchel has split text at spaces and punctuation. Chinese and Japanese
write no spaces, so a whole clause was one "word": the full-text index dropped it (its tokenizer
keeps tokens of at most 40 bytes, 13 CJK characters) or kept it whole, and a question's word
never equalled it; a Korean word carries its particles ("문서를", the document + object marker),
so "문서" matched nothing either. Keyword search found nothing in these languages, and passage
focus could not tell which sentence a question was about.

The remedy is the one Lucene's CJK analyzer and most search engines use: a run of CJK letters
becomes its overlapping two-character pieces ("数据库" -> "数据 据库"), in the text and in the
question alike, so any word of two or more characters matches wherever it occurs and BM25 ranks
passages holding more of the question's pieces first; a lone character stays itself. Text
without CJK letters is returned unchanged, character for character: English search and answers
are exactly as before.

Thai, Lao, Khmer and Burmese write no spaces between words either, and their vowel and tone
marks are combining characters: the full-text tokenizer split a word at every mark that is not
"alphabetic" (Thai "ไม่ชอบ" became "ไม" and "ชอบ"; "อาหาร", food, was found nowhere in a
sentence that holds it), and the bundled English embedder reads every letter of these scripts
as [UNK], so neither search found their words. Their runs become overlapping pieces of two
*clusters* (a letter with its marks, and with the letter a virama joins below it), each mark
written as three digits (its code point) so that both word matchers keep a piece whole: the
marks still tell "ไม่" (not) from "ไม้" (wood).

:data:`PIECES_VERSION` numbers what is written as pieces (1: CJK, 2: also these four scripts): a
collection's word index records the version it was built with, and a question is written the
same way as the index it searches.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence

#: Letters of the CJK scripts: Hangul jamo and syllables, the iteration marks and the ideographic
#: zero, Hiragana, Katakana (with the prolonged sound mark, without the middle dot, which is
#: punctuation), the CJK ideographs with their extensions and compatibility forms, and half-width
#: Katakana.
_CJK_LETTERS = (
    "\u1100-\u11ff\u3005-\u3007\u3041-\u309f\u30a0-\u30fa\u30fc-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
CJK_RUN = re.compile(f"[{_CJK_LETTERS}]+")
#: Full-width Latin letters, digits and signs (common in Japanese text): "ＳＱＬｉｔｅ" is
#: searched as "SQLite".
_FULL_WIDTH = re.compile("[\uff01-\uff5e]+")
#: Where a Chinese or Japanese sentence ends (no space follows): the full stops, and the closing
#: quotes and brackets that may follow one and belong to the sentence. Used by the chunker and
#: by the passages' sentence splitter.
CJK_STOPS = "\u3002\uff01\uff1f\uff61"
CJK_CLOSERS = "\u300d\u300f\u201d\u2019)\uff09"
#: Full stops of scripts that put a space after them as English does after ".": the Devanagari
#: (Hindi, Marathi, Nepali; Bengali shares them) danda and double danda, the Khmer khan, the
#: Burmese section mark, the Ethiopic full stop, the Armenian full stop, the Arabic question
#: mark and the Urdu full stop. Used by the chunker and by the passages' sentence splitter.
SPACED_STOPS = "\u0964\u0965\u17d4\u17d5\u104b\u1362\u0589\u061f\u06d4"


#: Letters, digits and marks of Thai, Lao, Myanmar (Burmese) and Khmer, with Myanmar's and
#: Khmer's extension blocks; their punctuation (ฯ is a letter, ๆ a modifier letter) is not.
_SEA_BLOCKS = ((0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF),
               (0x19E0, 0x19FF), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F))
_SEA_LETTERS = "".join(
    re.escape(chr(cp)) for lo, hi in _SEA_BLOCKS for cp in range(lo, hi + 1)
    if unicodedata.category(chr(cp))[0] in "LMN")
SEA_RUN = re.compile(f"[{_SEA_LETTERS}]+")
#: A Thai or Lao character, for regular expressions: these two scripts have no full stop; a
#: space between two of their letters ends a sentence or a clause (words are not spaced).
THAI_LAO = "[\u0e01-\u0e5b\u0e81-\u0edf]"
#: Signs that join the next letter to the cluster (Khmer coeng, Myanmar virama: stacked
#: consonants).
_JOINERS = "\u17d2\u1039"
#: Rows whose search text may need pieces, as a pattern for LanceDB's SQL ``regexp_like``.
PIECES_SQL_PATTERN = "[" + _CJK_LETTERS + "".join(
    f"{chr(lo)}-{chr(hi)}" for lo, hi in _SEA_BLOCKS) + "]"
#: 1: CJK runs are written as pieces; 2: Thai, Lao, Khmer and Burmese runs too.
PIECES_VERSION = 2


def has_cjk(text: str) -> bool:
    """True when ``text`` has a letter of a CJK script."""
    return CJK_RUN.search(text) is not None


def _spaced_pairs(units: Sequence[str]) -> str:
    """Overlapping pairs of ``units``, spaced (a lone unit is itself)."""
    if len(units) == 1:
        return f" {units[0]} "
    return " " + " ".join(a + b for a, b in itertools.pairwise(units)) + " "


def _pieces(match: re.Match[str]) -> str:
    # half-width kana, compatibility ideographs
    return _spaced_pairs(unicodedata.normalize("NFKC", match.group()))


def _clusters(run: str) -> list[str]:
    """The clusters of a Thai, Lao, Khmer or Burmese run, each mark as its three last digits of
    code point (a digit is a word character for both tokenizers, a mark is not for either)."""
    out: list[str] = []
    joined = False
    for ch in run:
        if unicodedata.category(ch)[0] == "M":
            if out:  # a mark without its letter (broken text) would be a number: dropped
                out[-1] += f"{ord(ch) % 1000:03d}"
        elif joined and out:  # the letter a virama stacks under the previous one
            out[-1] += ch
        else:
            out.append(ch)
        joined = ch in _JOINERS
    return out


def _cluster_pieces(match: re.Match[str]) -> str:
    return _spaced_pairs(_clusters(match.group()))


def has_pieces(text: str, version: int = PIECES_VERSION) -> bool:
    """True when ``text`` has letters that index ``version`` writes as pieces."""
    return (version >= 1 and has_cjk(text)) or (version >= 2 and SEA_RUN.search(text) is not None)


def searchable(text: str, version: int = PIECES_VERSION) -> str:
    """``text`` with each CJK run written as its overlapping two-character pieces (and, from
    version 2, each Thai, Lao, Khmer or Burmese run as pieces of two clusters), spaced, and
    full-width Latin as ASCII; any other text unchanged (the same string when there is none of
    these, and always with ``version`` 0: an index built before pieces)."""
    if not text.isascii() and version >= 1:
        text = _FULL_WIDTH.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
        text = CJK_RUN.sub(_pieces, text)
        if version >= 2:
            text = SEA_RUN.sub(_cluster_pieces, text)
    return text
