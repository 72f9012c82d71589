"""Chinese, Japanese, Korean, Thai, Khmer and Burmese words are found by word search and shown
to the model.

Real text: excerpts of the Debian Reference's Chinese and Japanese translations (section 2.1),
a Korean press report written in Hangul (node-hwp's sample), a page of LibreOffice's help in
Khmer, and lines of Firefox's settings in Thai and in Burmese (their language packs).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine import index
from engine.cjk_terms import has_pieces, searchable
from engine.indexer import index_paths
from engine.prompt import best_sentence, focus, sentence_runs, terms
from engine.retrieve import search

DATA = Path(__file__).parent / "data"
FILES = ("debian-reference-zh-cn-2.1.html", "debian-reference-ja-2.1.html",
         "node-hwp-sample-2.hwp")
#: A word written inside an unspaced run (or with a Korean particle after it) -> its file.
WORDS = {"极乐世界": "zh-cn", "遏制风险": "zh-cn", "涅槃": "ja", "難解奇異": "ja",
         "보충제": "hwp", "상한선": "hwp"}


def make_it_an_older_index(version: int = 0) -> None:
    """What an older Satchel left: rows' search text as written (``version`` 0, its index under
    the default name) or with the pieces of that version (under that version's name)."""
    import pyarrow as pa
    from lancedb.index import FTS

    coll = index.Collection.open("default")
    coll.chunks.drop_index(index.TEXT_INDEX_NAME)
    coll.chunks.update(values_sql={index.TEXT_INDEX_COLUMN: index.SEARCH_TEXT_SQL})
    name = None
    if version:
        rows = coll.chunks.to_arrow().to_pylist()
        coll.chunks.merge_insert("chunk_id").when_matched_update_all().execute(pa.table({
            "chunk_id": [r["chunk_id"] for r in rows],
            index.TEXT_INDEX_COLUMN: [
                searchable(f"{r['heading']}\n{r['text']}" if r["heading"] else r["text"],
                           version) for r in rows]}))
        name = next(n for n, v in index.TEXT_INDEX_NAMES.items() if v == version)
    coll.chunks.create_index(index.TEXT_INDEX_COLUMN, config=FTS(with_position=False),
                             name=name)
    index._search_plans.clear()


def index_copies(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """The files copied into a folder of their own, indexed; the folder."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in names:
        shutil.copy(DATA / name, docs / name)
    index_paths([docs])
    return docs


def assert_found(words: dict[str, str], modes: tuple[str, ...] = ("text", "hybrid")) -> None:
    """Each word's first hit is in its file and holds the word."""
    for word, where in words.items():
        for mode in modes:
            top = search(word, mode=mode, k=3)[0]
            assert where in top.path and word in top.text, (word, mode, top.path)


def no_vectors(*args, **kwargs):
    raise AssertionError("the English embedder was asked to read the question")


def test_words_inside_cjk_text_are_found_and_an_older_index_is_upgraded(tmp_path, monkeypatch):
    docs = index_copies(tmp_path, FILES)
    assert_found(WORDS)
    with monkeypatch.context() as patch:  # its vectors of CJK are noise: they do not vote
        patch.setattr("engine.embed.get_embedder", no_vectors)
        assert search("보충제는 얼마나?", mode="hybrid", k=1)[0].path.endswith(".hwp")
        with pytest.raises(AssertionError, match="English embedder"):
            search("vitamin supplements", mode="hybrid", k=1)

    make_it_an_older_index()
    version = index.Collection.open("default").chunks.version
    assert search("보충제", mode="text", k=3) == []  # the older index holds "보충제의", ...
    assert search("보충제", mode="hybrid", k=3)  # so the vectors still answer
    assert search("Debian", mode="text", k=1)  # and is searched as it is
    assert index.Collection.open("default").chunks.version == version  # a read never writes

    again = index_paths([docs])  # nothing changed on disk
    assert again.files_unchanged == len(FILES) and again.files_indexed == 0
    coll = index.Collection.open("default")
    assert [i.name for i in coll.chunks.list_indices()
            if tuple(i.columns) == (index.TEXT_INDEX_COLUMN,)] == [index.TEXT_INDEX_NAME]
    rows = coll.chunks.to_arrow().to_pylist()
    assert all(r[index.TEXT_INDEX_COLUMN] == index.search_text(r["heading"], r["text"])
               for r in rows)
    assert_found(WORDS, ("text",))


#: Part of the Chinese excerpt, as the chunker keeps it: sentences with no space between them.
ZH_PASSAGE = ("尽管我在上面进行了警告，我知道本文档的许多读者希望可以运行更新的 "
              "testing 或 unstable 版。菩萨使用下面的内容拯救一个人，使他从挣扎于持续"
              "升级地狱的因果报应中脱困，并让他达到 Debian 的极乐世界。使用 unstable "
              "版是不推荐的。unstable 版对开发者调试软件包合适，但对普通的桌面使用而言，"
              "会有使你暴露在不必要的风险中的倾向。")


def test_a_chinese_passage_is_focused_on_the_sentence_the_question_is_about():
    question = "谁能让人达到 Debian 的极乐世界？"
    assert "极乐世界" in best_sentence(ZH_PASSAGE, question)
    shown = focus(ZH_PASSAGE, question, 60, len)  # budget in characters here
    assert shown.startswith("… 菩萨使用") and shown.endswith("的极乐世界。 …")
    # one run longer than the budget, without a sentence end or a space: its start, not nothing
    run = "依存关系由控制文件中的版本信息声明" * 6
    cut = focus(run, "依存关系是什么", 30, len)
    assert cut == run[:30] + " …"


def test_sentences_of_chinese_and_japanese_text_end_at_their_full_stops():
    runs = sentence_runs("他说：「好。」然后走了。「真的吗？」 Yes. 本当ですか！はい")
    assert runs == [("他说：「好。」", ""), ("然后走了。", ""), ("「真的吗？」", ""),
                    ("Yes.", " "), ("本当ですか！", " "), ("はい", "")]


CJK_LETTERS = st.sampled_from("数据库的最大列数是两千東京都は日本の首都です"
                              "パッケージ管理문서를찾으려면검색")


@given(st.text(st.sampled_from("数据库東京はパッケ문서를。！？」』）"), max_size=60))
def test_cjk_sentences_are_rejoined_without_spaces(text):
    assert "".join(gap + sentence for sentence, gap in sentence_runs(text)) == text


@given(st.text())
def test_text_without_cjk_is_searched_as_it_is(text):
    assume(not has_pieces(text) and not any("\uff01" <= c <= "\uff5e" for c in text))
    assert searchable(text) == text


@given(st.lists(CJK_LETTERS, min_size=2, max_size=30).map("".join),
       st.data())
def test_any_word_of_a_cjk_run_matches_its_pieces(run, data):
    start = data.draw(st.integers(0, len(run) - 2))
    end = data.draw(st.integers(start + 2, len(run)))
    word = run[start:end]
    pieces = searchable(f"前置 {run}, tail").split()
    assert set(searchable(word).split()) <= set(pieces)
    assert all(len(p) == 2 for p in searchable(run).split())
    assert terms(word) <= terms(f"text {run} text")


def test_a_lone_character_full_width_latin_and_half_width_kana():
    assert searchable("我 和 你").split() == ["我", "和", "你"]
    assert searchable("ＳＱＬｉｔｅ の設定") == "SQLite  の設 設定 "
    assert searchable("ｶﾀｶﾅ").split() == ["カタ", "タカ", "カナ"]
    assert unicodedata.normalize("NFKC", "ｶﾀｶﾅ") == "カタカナ"


SEA_FILES = ("firefox-preferences-th.txt", "libreoffice-help-km-basic-basics.html",
             "firefox-preferences-my.txt")
#: Words written inside unspaced Thai, Khmer and Burmese runs -> their file: organisation,
#: inbox, library, module, container, browser.
SEA_WORDS = {"องค์กร": "-th", "กล่องขาเข้า": "-th", "បណ្ណាល័យ": "-km", "ម៉ូឌុល": "-km",
             "ကွန်တိန်နာ": "-my", "ဘရောင်ဇာ": "-my"}


def test_thai_khmer_and_burmese_words_are_found_and_a_cjk_index_is_upgraded(tmp_path, monkeypatch):
    docs = index_copies(tmp_path, SEA_FILES)
    assert_found(SEA_WORDS)
    with monkeypatch.context() as patch:  # every letter of these scripts is [UNK] to MiniLM
        patch.setattr("engine.embed.get_embedder", no_vectors)
        assert "-th" in search("สแปม อีเมล", mode="hybrid", k=1)[0].path

    make_it_an_older_index(version=1)  # pieces of CJK only: Thai rows hold whole runs
    assert index.Collection.open("default").search_plan().pieces == 1
    assert not any("องค์กร" in hit.text for hit in search("องค์กร", mode="text", k=3))
    assert search("องค์กร", mode="hybrid", k=3)  # so the vectors still vote

    again = index_paths([docs])  # nothing changed on disk: only the search text is rewritten
    assert again.files_unchanged == len(SEA_FILES) and again.files_indexed == 0
    coll = index.Collection.open("default")
    assert coll.search_plan().pieces == 2
    assert_found(SEA_WORDS, ("text",))


#: Clusters of Thai, Lao, Khmer and Burmese: a letter with its vowel and tone marks, and with
#: the letter a Khmer coeng or a Burmese virama stacks under it.
SEA_CLUSTERS = st.sampled_from(["ก", "ไ", "ม่", "ม้", "ชื่", "อ", "ร์", "ສ", "ເ", "ລື່",
                                "ស", "ម្រ", "ដើ", "ក៏", "မြ", "န်", "ဘ", "မာ", "က္က", "๒"])


@given(st.lists(SEA_CLUSTERS, min_size=2, max_size=20), st.data())
def test_any_word_of_a_thai_khmer_or_burmese_run_matches_its_pieces(clusters, data):
    start = data.draw(st.integers(0, len(clusters) - 2))
    end = data.draw(st.integers(start + 2, len(clusters)))
    run, word = "".join(clusters), "".join(clusters[start:end])
    pieces = searchable(f"head {run} tail").split()
    assert set(searchable(word).split()) <= set(pieces)
    # both word matchers (LanceDB's tokenizer, Python's \w) keep each piece whole
    assert all(re.fullmatch(r"\w+", p) for p in pieces)
    assert terms(word) <= terms(f"text {run} text")


def test_tone_marks_tell_thai_words_apart_and_older_indexes_keep_their_text():
    assert searchable("ไม่") != searchable("ไม้")  # "not", "wood"
    assert searchable("ไม่ชอบ", 1) == searchable("ไม่ชอบ", 0) == "ไม่ชอบ"
    assert searchable("数据库 ไม่ชอบ", 1) == " 数据 据库  ไม่ชอบ"
    assert has_pieces("ไม่") and not has_pieces("ไม่", 1) and has_pieces("数据", 1)
    # a mark without its letter (broken text) is dropped, not made a number to be found by
    assert searchable("x\u0e48y \u0e48 656").split() == ["x", "y", "656"]


KM_PASSAGE = ("ម៉ូឌុល​ជា​​ច្រើន​អាច​ត្រូវ​បាន​ផ្សំ​ទៅ​ក្នុង​បណ្ណាល័យ​មួយ ។ អ្នក​អាច​ចម្លង ឬ​ផ្លាស់ទី subs "
              "អនុគមន៍ ម៉ូឌុល និង​បណ្ណាល័យ​ពី​ឯកសារ​មួយ​ទៅ​មួយ ។ Sub មួយ​អាច​យក​អាគុយម៉ង់​ខ្លះ​ជា​ប៉ារ៉ាម៉ែត្រ ។")


def test_hindi_and_khmer_sentences_end_at_their_full_stops():
    assert [s for s, _ in sentence_runs("यह पहला वाक्य है। यह दूसरा है। Done.")] == [
        "यह पहला वाक्य है।", "यह दूसरा है।", "Done."]
    assert len(sentence_runs(KM_PASSAGE)) == 3
    assert best_sentence(KM_PASSAGE, "អាគុយម៉ង់").startswith("Sub មួយ")


#: Lines of the Thai file: sentences a space apart, words unspaced.
TH_PASSAGE = ("เบราว์เซอร์ของคุณกำลังถูกจัดการโดยองค์กรของคุณ "
              "ซ่อนที่อยู่อีเมลจริงของคุณเพื่อปกป้องกล่องขาเข้าของคุณจากสแปม "
              "เปิด Firefox แล้ว ลองใช้คุณลักษณะทดลองของเราดูสิ")


def test_a_thai_passage_is_focused_on_the_sentence_the_question_is_about():
    assert [s for s, _ in sentence_runs(TH_PASSAGE)][2] == "เปิด Firefox แล้ว"  # not at Latin
    assert best_sentence(TH_PASSAGE, "สแปม คืออะไร").endswith("จากสแปม")
    shown = focus(TH_PASSAGE, "ปกป้องกล่องขาเข้าจากสแปม", 70, len)
    assert shown.startswith("… ซ่อนที่อยู่") and "องค์กร" not in shown
