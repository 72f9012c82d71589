"""LaTeX sources (.tex) read as the prose they typeset to, on files written the way people write
them: an article with a preamble of packages and macros, a thesis chapter that is ``\\input``
elsewhere, and the broken files a draft folder holds (unbalanced braces, a missing ``\\end``,
an empty file, binary junk named .tex).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.document import Block, Document, LoadError, NothingToRead
from engine.ingest.loaders import CODE_LANGUAGES, detect_format, load, skip_reason
from engine.ingest.loaders.formats import DISPLAY_NAMES, LOADER_NAMES, SUPPORTED_EXTENSIONS
from engine.ingest.loaders.latex import parse_latex
from engine.ingest.revisions import READER_REVISIONS, is_current, reading_tag

ARTICLE = r"""% !TEX program = pdflatex
\documentclass[11pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,booktabs,hyperref}
\newcommand{\station}{Halcyon Reach}
\newcommand{\todo}[1]{}
\newcommand{\R}{\mathbb{R}}
\title{Tide Gauge Drift at \station{}: a Five-Year Record}
\author{Ada Lovelace\thanks{Corresponding author.} \\ Station Science Office \and Charles Babbage}
\date{\today}

\begin{document}
\maketitle

\begin{abstract}
We report the drift of the harbour tide gauge over five years.
The gauge reads \textbf{12\,mm high} after each storm surge.
\end{abstract}

\section{Introduction}\label{sec:intro}
The \station{} tide gauge\footnote{A float gauge installed in 2019.} has been
recalibrated twice~\cite{smith2020,jones2021}. As Section~\ref{sec:method} shows, the drift
is about 5\% per year. % TODO: check this number
Costs were \$1,200 \& rising; see \url{https://example.org/tides%20data}.
\todo{ask Charles about the 2022 outage}

\section{Method}\label{sec:method}
\subsection{Instruments}
The survey team (Na\"ive caf\'e owner Fran\c{c}ois and Jos\'e) read the gauge ``by eye''
twice a day --- at 06:00 and 18:00 -- and logged it in a {\bf paper ledger}.
\begin{enumerate}
  \item Read the float gauge.
  \begin{itemize}
    \item Note the \emph{time} of reading.
    \item Note the sea state.
  \end{itemize}
  \item Compare with the radar gauge.
\end{enumerate}

\begin{description}
  \item[Drift] The slow change of the gauge zero.
  \item[Surge] A storm-driven rise of the sea.
\end{description}

\begin{table}[ht]
  \centering
  \caption{Gauge offsets per year}\label{tab:offsets}
  \begin{tabular}{|l|r|r|}
    \hline
    Year & Offset (mm) & Storms \\ \hline
    2021 & 4 & 3 \\
    2022 & 9 & \multicolumn{1}{c|}{5} \\
    \multicolumn{2}{|c|}{not recorded} & 2 \\
    \hline
  \end{tabular}
\end{table}

\begin{figure}[t]
  \centering
  \includegraphics[width=0.8\linewidth]{figures/drift.pdf}
  \caption{Drift of the gauge zero since 2019.}\label{fig:drift}
\end{figure}

The correction script:
\begin{verbatim}
offset = reading - 12  # mm, 100% of storms
\end{verbatim}

\subsubsection{Model}
The level is $h(t) = h_0 + \alpha t$ with $\alpha \in \R$, and
\begin{equation}\label{eq:drift}
  \alpha = \frac{\Delta h}{\Delta t}
\end{equation}
gives the drift.
\end{document}
Notes after the end that nobody typesets.
"""

CHAPTER = r"""\chapter{Field Methods}\label{ch:field}
Our surveys follow the station manual.

\section{Sampling}
Water samples are taken at high tide.

\begin{table}
\caption{Sampling sites}
\begin{tabular}{ll}
Site & Depth \\
North pier & 4 m \\
\end{tabular}
\end{table}

\chapter{Results}
\begin{figure}\caption{Salinity by month}\end{figure}
"""

LEAKS = re.compile(r"\\(?:textbf|emph|cite|ref|label|begin|end|item|section|caption|footnote|"
                   r"url|href|includegraphics|maketitle|centering|hline|multicolumn)\b")


def _write(tmp_path: Path, text: str | bytes, name: str = "paper.tex") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _blocks(doc: Document) -> list[Block]:
    return [b for page in doc.pages for b in page.blocks]


def test_an_article_reads_as_its_structure(tmp_path):
    doc = load(_write(tmp_path, ARTICLE))
    assert doc.format == "latex" and doc.loader == "LaTeX reader"
    assert doc.title == "Tide Gauge Drift at Halcyon Reach: a Five-Year Record"
    assert doc.metadata["author"] == "Ada Lovelace, Station Science Office, Charles Babbage"
    assert [(b.level, b.text) for b in _blocks(doc) if b.kind == "heading"] == [
        (1, "Abstract"), (1, "Introduction"), (1, "Method"), (2, "Instruments"), (3, "Model")]
    blocks = _blocks(doc)
    assert blocks[1] == Block("We report the drift of the harbour tide gauge over five years. "
                              "The gauge reads 12 mm high after each storm surge.")
    intro = blocks[3].text
    assert intro == ("The Halcyon Reach tide gauge (A float gauge installed in 2019.) has been "
                     "recalibrated twice. As Section shows, the drift is about 5% per year. "
                     "Costs were $1,200 & rising; see https://example.org/tides%20data.")
    assert "TODO" not in intro and "outage" not in intro  # a comment, a hidden \todo
    assert blocks[6].text == ("The survey team (Naïve café owner François and José) read the "
                              "gauge “by eye” twice a day — at 06:00 and 18:00 – and logged it "
                              "in a paper ledger.")
    lists = [b.text for b in blocks if b.kind == "list"]
    assert lists == ["- Read the float gauge.\n  - Note the time of reading.\n"
                     "  - Note the sea state.\n- Compare with the radar gauge.",
                     "- Drift: The slow change of the gauge zero.\n"
                     "- Surge: A storm-driven rise of the sea."]
    [table] = [b for b in blocks if b.kind == "table"]
    assert table.text == ("Year: 2021; Offset (mm): 4; Storms: 3\n"
                          "Year: 2022; Offset (mm): 9; Storms: 5\n"
                          "Year: not recorded; Storms: 2")
    texts = [b.text for b in blocks]
    assert texts.index("Table 1: Gauge offsets per year") == texts.index(table.text) - 1
    assert "Figure 1: Drift of the gauge zero since 2019." in texts
    assert not any("drift.pdf" in t or "0.8" in t for t in texts)  # a figure is its caption
    assert [b.text for b in blocks if b.kind == "code"] == [
        "offset = reading - 12  # mm, 100% of storms"]
    assert texts[-3:] == [r"The level is $h(t) = h_0 + \alpha t$ with $\alpha \in \mathbb{R}$, and",
                          r"$$ \alpha = \frac{\Delta h}{\Delta t} $$", "gives the drift."]
    assert not any("nobody typesets" in t or "usepackage" in t for t in texts)


def test_no_latex_command_leaks_into_the_prose(tmp_path):
    doc = load(_write(tmp_path, ARTICLE))
    for block in _blocks(doc):
        if block.kind != "code":
            assert not LEAKS.search(block.text), block
            prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", block.text, flags=re.DOTALL)
            assert not any(c in prose for c in "\\{}~"), block  # maths aside: no TeX at all


def test_a_chapter_without_a_document_environment_is_read_whole(tmp_path):
    doc = load(_write(tmp_path, CHAPTER, "chapter2.tex"))
    blocks = _blocks(doc)
    assert doc.title == "Field Methods"  # no \title: the first heading
    assert [(b.kind, b.level, b.text) for b in blocks] == [
        ("heading", 1, "Field Methods"),
        ("paragraph", 0, "Our surveys follow the station manual."),
        ("heading", 2, "Sampling"),  # a document with chapters: a section is level 2
        ("paragraph", 0, "Water samples are taken at high tide."),
        ("paragraph", 0, "Table 1.1: Sampling sites"),
        ("table", 0, "Site: North pier; Depth: 4 m"),
        ("heading", 1, "Results"),
        ("paragraph", 0, "Figure 2.1: Salinity by month"),
    ]


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\textit{a} \texttt{b} \underline{c} \mbox{d} {\em e} \textsc{f}", "a b c d e f"),
    (r"\href{https://x.org}{the site} and \url{http://y.org/~z}",
     "the site (https://x.org) and http://y.org/~z"),
    (r"\'e \`a \^o \"u \~n \c{c} \v{s} \ss{} \o{} \'{\i}", "é à ô ü ñ ç š ß ø í"),
    (r"\% \& \$ \# \_ \{ \} a~b \ldots{} \dots", "% & $ # _ { } a b … …"),
    (r"``double'' and `single' quotes, 1--2, yes---no", "“double” and 'single' quotes, 1–2, "
                                                        "yes—no"),
    (r"keep \unknowncommand{its argument} and drop \someswitch alone", "keep its argument and "
                                                                     "drop alone"),
    (r"\vspace{2em}\noindent\small A\newpage\clearpage\hspace*{1cm}B\index{b}", "A B"),
    (r"Equation~\eqref{eq:1}, see \autoref{fig} and \citep[p.~4]{key}.",
     "Equation, see and."),
    (r"math \(x^2\) stays and \verb|\textbf{%}| too", "math $x^2$ stays and \\textbf{%} too"),
    (r"\textcolor{red}{warm} \colorbox{blue}{cold}", "warm cold"),
    (r"unclosed \textbf{bold and more", "unclosed bold and more"),
])
def test_inline_markup(tex, expected):
    blocks, _, _ = parse_latex(tex)
    assert [b.text for b in blocks] == [expected]


def test_structure_details():
    tex = r"""\section*[Short]{Long \emph{title}}
\begin{theorem}[Drift bound]
The drift is bounded.
\end{theorem}
\begin{itemize}[label=--]
\item First item
spans two lines.

\item Second \[ x = 1 \] item
\end{itemize}
\begin{center}Centred text\end{center}
\[ E = mc^2 \]
\begin{lstlisting}[language=Python]
print("100%")
\end{lstlisting}
\begin{thebibliography}{9}
\bibitem{smith} J. Smith, \emph{Tides}, 2020.
\end{thebibliography}
"""
    blocks, title, _ = parse_latex(tex)
    assert title is None
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "Long title"),
        ("paragraph", "Theorem (Drift bound). The drift is bounded."),
        ("list", "- First item spans two lines.\n- Second $$ x = 1 $$ item"),
        ("paragraph", "Centred text"),
        ("paragraph", "$$ E = mc^2 $$"),
        ("code", 'print("100%")'),
        ("heading", "References"),
        ("list", "- J. Smith, Tides, 2020."),
    ]


@pytest.mark.parametrize("tex", [
    # unbalanced braces: an argument never runs past its paragraph
    "\\section{Intro\n\nFirst \\textbf{bold never closed.\n\nSecond paragraph } survives.",
    # a missing \end{itemize}: the list ends at the next heading
    "\\begin{itemize}\n\\item First survives\n\\section{Next}\nSecond paragraph survives.",
    # a missing \end{tabular} and \end{figure}: read as text
    "\\begin{tabular}{ll} First & survives \\\\\n\nSecond paragraph survives.",
    "\\begin{figure}\\caption{First survives}\n\nSecond paragraph survives.",
    "\\begin{equation} First survives\n\nSecond paragraph survives.",
    # stray closers and a lone dollar
    "} First survives \\end{itemize} }}\n\nSecond $ paragraph survives.",
])
def test_broken_files_keep_their_text(tmp_path, tex):
    doc = load(_write(tmp_path, "\\begin{document}\n" + tex))
    text = "\n".join(b.text for b in _blocks(doc))
    assert "First" in text and "survives" in text
    assert text.index("First") < text.index("Second") and "paragraph survives" in text


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty file"),
    (b"\x00\x01\x02\xff\xfe binary \x00\x00 junk" * 50, "binary"),
    (b"\\documentclass{article}\n\\usepackage{x}\n\\begin{document}\n\\end{document}\n",
     "no text of its own: a LaTeX file without prose in its body"),
    (b"% only a comment\n{}\n", "no text of its own"),
    # a driver file: its text is in the .dtx it inputs (said as skipped, not failed)
    (b"\\AtBeginDocument{\\OnlyDescription}\n\\input{ltpara.dtx}\n",
     "no text of its own: a LaTeX file that includes ltpara.dtx"),
    (b"\\textbf{" * 3000 + b"x" + b"}" * 3000, "nested too deeply"),
])
def test_files_without_readable_text_are_a_one_line_load_error(tmp_path, data, reason):
    path = _write(tmp_path, data)
    with pytest.raises(LoadError) as err:
        load(path)
    assert reason in str(err.value) and "\n" not in str(err.value)
    # a file that is fine but says nothing (an empty one too) is skipped, not failed
    assert isinstance(err.value, NothingToRead) == reason.startswith(("no text of its own",
                                                                      "empty file"))


def test_tex_is_latex_not_source_code(tmp_path):
    assert ".tex" not in CODE_LANGUAGES
    assert SUPPORTED_EXTENSIONS[".tex"] == SUPPORTED_EXTENSIONS[".ltx"] == "latex"
    assert (DISPLAY_NAMES["latex"], LOADER_NAMES["latex"]) == ("LaTeX", "LaTeX reader")
    assert READER_REVISIONS["latex"] >= 1  # a reader of its own, with its revision recorded
    for name in ("paper.tex", "PAPER.TEX", "old.ltx"):
        path = _write(tmp_path, ARTICLE, name)
        assert detect_format(path) == "latex" and skip_reason(path) is None
        assert load(path).format == "latex"


def test_the_projects_text_decoding_reads_a_latin1_file(tmp_path):
    data = "\\section{Café}\nLe garçon déjà là, Größe.\n".encode("cp1252")
    doc = load(_write(tmp_path, data))
    assert [b.text for b in _blocks(doc)] == ["Café", "Le garçon déjà là, Größe."]
    assert doc.metadata["encoding"] != "utf-8"


def test_a_tag_without_the_format_of_the_files_name_is_not_current():
    """A .tex indexed as source code has a current "code" tag: its name says it is not."""
    code = reading_tag(["code"])
    assert is_current(code) and is_current(code, path="/papers/tides.py")
    assert not is_current(code, path="/papers/tides.tex")
    assert is_current(reading_tag(["latex"]), path="/papers/tides.tex")
    assert not is_current(reading_tag(["code", "zip"]), path="/papers/src.zip//main.tex")
    assert is_current(reading_tag(["latex", "zip"]), path="/papers/src.zip//main.tex")
    # mail is found by content, and attached messages take any name: let be
    assert is_current(reading_tag(["eml", "mbox"]), path="/mail/Inbox")
    assert is_current(reading_tag(["eml", "mbox"]), path="/mail/box.mbox//3//Re_ draft.tex")


@pytest.mark.slow
def test_a_tex_file_indexed_as_source_code_is_read_again_as_latex(tmp_path):
    from engine import index
    from engine.indexer import index_paths

    folder = tmp_path / "papers"
    folder.mkdir()
    paper = _write(folder, ARTICLE, "tides.tex")
    # only a preamble: source code to the code reader, no text to the LaTeX reader
    draft = _write(folder, "\\documentclass{article}\n\\begin{document}\n\\end{document}\n",
                   "draft.tex")
    index_paths([folder])
    coll = index.Collection.open("default")
    rows = coll.documents()
    assert (rows[str(paper)].format, rows[str(draft)].status) == ("latex", "empty")
    # the rows an earlier Satchel wrote, when .tex files were read as source code
    coll.touch_documents([replace(rows[str(p)], format="code", loader="source code", status="ok",
                                  error="", reader=reading_tag(["code"])) for p in (paper, draft)])
    assert index.Collection.open("default").outdated_files() == [str(draft), str(paper)]

    again = index_paths([folder])
    assert (again.files_reread, again.files_unchanged) == (1, 0)
    [failed] = again.files_failed  # the draft keeps its earlier text, and is not tried again
    assert failed["path"] == str(draft) and "earlier version is kept" in failed["reason"]
    rows = index.Collection.open("default").documents()
    assert (rows[str(paper)].format, rows[str(paper)].loader) == ("latex", "LaTeX reader")
    assert all(is_current(row.reader, path=row.path) for row in rows.values())
    assert index_paths([folder]).files_unchanged == 2


# ------------------------------------------------------------------------------ properties

_WORDS = st.from_regex(r"w[a-z]{2,7}", fullmatch=True)
_MARKUP = st.sampled_from([
    "{", "}", "\\textbf{", "\\emph{", "\\cite{key1}", "\\label{sec:one}", "\\ref{tab:one}",
    "\\section{", "\\subsection*{", "\\caption{", "\\footnote{", "\\begin{itemize}",
    "\\end{itemize}", "\\begin{enumerate}", "\\end{enumerate}", "\\item", "\\begin{center}",
    "\\end{center}", "\\begin{table}", "\\end{table}", "\\begin{abstract}", "\\end{abstract}",
    "\\begin{foo}", "\\end{bar}", "\\noindent", "\\unknowncmd", "\\bf", "\\\\", "\\par",
    "\n\n", "\n", "$x^2$", "$", "\\[", "\\]", "\\%", "\\&", "~", "\\'{e}", "--", "\\ldots",
    "\\begin{document}", "\\end{document}"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_WORDS, _MARKUP), max_size=60))
def test_plain_words_survive_any_mix_of_markup_in_order(tmp_path, pieces):
    """Words outside dropped commands all come out, in order, whatever braces and
    environments surround them, open or closed. (Text after an \\end{document} is no text.)"""
    tex = body = " ".join(pieces)
    if (start := body.find("\\begin{document}")) >= 0:
        body = body[start + len("\\begin{document}"):]
    if (end := body.find("\\end{document}")) >= 0:
        body = body[:end]
    words = [w for w in body.split() if re.fullmatch(r"w[a-z]+", w)]
    path = _write(tmp_path, tex)
    try:
        doc = load(path)
    except LoadError:
        assert not words
        return
    text = "\n".join(b.text for b in _blocks(doc))
    pos = 0
    for word in words:
        found = text.find(word, pos)
        assert found >= 0, (word, text)
        pos = found + len(word)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="ab \n\\{}[]$%&~#^_'`\"*itemsecnd", max_size=300))
def test_any_text_loads_or_is_a_load_error(tmp_path, text):
    path = _write(tmp_path, text or "x")
    try:
        doc = load(path)
    except LoadError as exc:
        assert "\n" not in str(exc)
        return
    assert all(b.text.strip() == b.text and b.text for b in _blocks(doc))
