"""BibTeX bibliographies as Zotero, Google Scholar and hand-kept .bib files write them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import LoadError, NothingToRead
from engine.ingest.loaders import detect_format, load
from engine.ingest.loaders.bibtex import parse_entries

BIB = r"""% Exported by Zotero
@string{mfmp = "Monatshefte f{\"u}r Mathematik und Physik"}
@comment{jabref-meta: databaseType:bibtex;}

@article{godel1931,
  author    = {G{\"o}del, Kurt},
  title     = {{\"U}ber formal unentscheidbare S{\"a}tze der {Principia Mathematica}},
  journal   = mfmp,
  volume    = 38,
  number    = {1},
  pages     = {173--198},
  year      = 1931,
  month     = dec,
  doi       = {10.1007/BF01700692},
  abstract  = {Shows that any consistent formal system rich enough for arithmetic
               contains \emph{true} statements it cannot prove.},
}

@inproceedings{lovelace1843,
  author = "Lovelace, Ada and Menabrea, Luigi Federico",
  title = "Notes on the " # "Analytical Engine",
  booktitle = {Scientific Memoirs},
  year = {1843},
  keywords = {computing, Bernoulli numbers}
}

@misc{broken,
  title = {An entry whose braces never close,
  year = {2020}

@book{knuth1984,
  author = {Knuth, Donald E.},
  title = {The {\TeX}book},
  publisher = {Addison-Wesley},
  year = {1984}
}
"""


def test_a_bibliography_reads_a_paragraph_per_reference(tmp_path):
    path = tmp_path / "thesis.bib"
    path.write_text(BIB)
    assert detect_format(path) == "bibtex"
    doc = load(path)
    texts = [b.text for b in doc.pages[0].blocks]
    assert texts[0] == (
        "Über formal unentscheidbare Sätze der Principia Mathematica. Kurt Gödel (1931). "
        "Monatshefte für Mathematik und Physik 38(1), 173–198. DOI: 10.1007/BF01700692. "
        "Key: godel1931. Abstract: Shows that any consistent formal system rich enough for "
        "arithmetic contains true statements it cannot prove.")
    assert texts[1] == ("Notes on the Analytical Engine. Ada Lovelace, Luigi Federico Menabrea "
                        "(1843). Scientific Memoirs. Keywords: computing, Bernoulli numbers. "
                        "Key: lovelace1843.")
    # the broken entry loses only itself: the next one is read whole
    assert texts[-1].startswith("The TeXbook. Donald E. Knuth (1984). Addison-Wesley.")
    assert doc.metadata["references"] == str(len(texts))
    assert "jabref" not in doc.pages[0].text


def test_files_that_are_not_bibliographies(tmp_path):
    notes = tmp_path / "notes.bib"
    notes.write_text("Remember to cite Gödel.\n")
    with pytest.raises(LoadError, match=r"^not a BibTeX file"):
        load(notes)
    only_strings = tmp_path / "abbrev.bib"
    only_strings.write_text('@string{jacm = "Journal of the ACM"}\n')
    with pytest.raises(NothingToRead, match="no references"):
        load(only_strings)


_WORD = st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True)


@given(st.lists(st.tuples(st.from_regex(r"[a-z]{1,6}[0-9]{0,4}", fullmatch=True),
                          st.lists(_WORD, min_size=1, max_size=6)), min_size=1, max_size=5,
                unique_by=lambda t: t[0]))
def test_every_entry_and_title_word_survives(entries):
    text = "\n".join(f"@article{{{key},\n  title = {{{' '.join(words)}}},\n  year = 2001\n}}"
                     for key, words in entries)
    parsed = parse_entries(text)
    assert [(k, re.findall(r"\w+", f["title"])) for _, k, f in parsed] == [
        (key, words) for key, words in entries]
