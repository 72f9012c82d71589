"""Words of Chinese, Japanese and Korean text that search and passage focus can match.

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
"""

from __future__ import annotations

import re
import unicodedata

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
#: The same as a pattern for LanceDB's SQL ``regexp_like``: rows whose text needs pieces.
CJK_SQL_PATTERN = f"[{_CJK_LETTERS}]"
#: Where a Chinese or Japanese sentence ends (no space follows): the full stops, and the closing
#: quotes and brackets that may follow one and belong to the sentence. Used by the chunker and
#: by the passages' sentence splitter.
CJK_STOPS = "\u3002\uff01\uff1f\uff61"
CJK_CLOSERS = "\u300d\u300f\u201d\u2019)\uff09"


def has_cjk(text: str) -> bool:
    """True when ``text`` has a letter of a CJK script."""
    return CJK_RUN.search(text) is not None


def _pieces(match: re.Match[str]) -> str:
    run = unicodedata.normalize("NFKC", match.group())  # half-width kana, compatibility ideographs
    if len(run) == 1:
        return f" {run} "
    return " " + " ".join(run[i:i + 2] for i in range(len(run) - 1)) + " "


def searchable(text: str) -> str:
    """``text`` with each CJK run written as its overlapping two-character pieces, spaced, and
    full-width Latin as ASCII; any other text unchanged (the same string when there is no CJK
    or full-width character)."""
    if not text.isascii():
        text = _FULL_WIDTH.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
        text = CJK_RUN.sub(_pieces, text)
    return text
