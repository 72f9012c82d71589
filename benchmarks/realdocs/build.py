"""Build the real-document corpora the answer-quality work is measured on.

Five sets of public manuals that no one on the team wrote, taken from Debian packages (the only
document source reachable from this machine and CI):

* **dev** (tune on it): 12 pages of the SQLite documentation (package ``sqlite3-doc``);
* **dev2** (tune on it too): 10 chapters of the Debian Reference (package
  ``debian-reference-en``), system administration in DocBook HTML full of tables, like the
  report set. Added because on SQLite's pages retrieval is easy and the base model already read
  most passages right, so neither passage selection nor the reader could show an effect there;
* **dev3** (tune on it too): 12 pages of the git documentation (package ``git-doc``). Added
  because on dev and dev2 retrieval puts the answer in the first passage for ~90% of questions,
  so choices about retrieval, reranking and passage count could not show an effect; git's pages
  share much vocabulary across commands (merge strategies, options that several commands take)
  and include ``git.html``, an overview page that names every command, as a user indexing the
  whole folder would have. There the answer is in the first passage for 0.65 of questions and
  in the first two for 0.83;
* **dev4** (tune on it too): 11 pages of the Debian Policy Manual (package ``debian-policy``),
  what a Debian package must be and do: the report set's subject, written by other people.
  Added because readers chosen on the first three sets answered 0.12 better than rag there and
  0.02 worse on the report set: a development set on the same subject says whether a choice
  carries over to it, without looking at the report set. There the shipped reader answered 0.82
  against rag's 0.72, with the answer in the prompt for 0.90 of its 60 questions. A reader's
  score moves with its seed (the drafted questions and the order they are trained in): 0.82 and
  0.78 here (seeds 0 and 1), 0.64, 0.66 and 0.72 on the report set (seeds 0 to 2; rag 0.66),
  so a difference of a few questions on one set is within that spread;
* **report** (only report it): the Debian Developer's Reference (package
  ``developers-reference``), its 10 chapter pages;
* **zh** (tune on it) and **ja** (only report it), for search in Chinese and Japanese
  (``benchmarks/bench_cjk_search.py``): the same 10 chapters of the Debian Reference in its
  Simplified Chinese and Japanese translations (``debian-reference-zh-cn``,
  ``debian-reference-ja``), with dev2's questions asked in those languages where the
  translation states the answer in them (52 and 41 questions: the Japanese translation leaves
  several passages in English).

Different manuals on purpose: a prompt or a passage budget chosen on SQLite or on the Debian
Reference (how to run a Debian system) cannot have been fitted to the Developer's Reference (how
to maintain Debian packages); dev2 shares only its HTML style, tables and Debian's vocabulary,
dev4 its subject, not its text.
The question files next to this script (``dev.jsonl`` to ``dev4.jsonl``,
``report.jsonl``, DESIGN.md's question-set format) were written by reading these exact files and
checked by hand against their text; ``check`` re-verifies that every gold answer still occurs in
its gold document, so a different package version is caught instead of silently scored.

    python -m benchmarks.realdocs.build [--out DIR]        # download, extract, check
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = Path.home() / ".cache" / "satchel-bench" / "realdocs"

#: set -> (Debian package, version it was written against, folder inside the package, pages)
SETS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "dev": ("sqlite3-doc", "3.40.1-2+deb12u2", "usr/share/doc/sqlite3", (
        "autoinc.html", "limits.html", "whentouse.html", "quirks.html", "datatype3.html",
        "wal.html", "tempfiles.html", "faq.html", "lang_datefunc.html", "withoutrowid.html",
        "isolation.html", "different.html")),
    "dev2": ("debian-reference-en", "2.100", "usr/share/debian-reference", (
        "ch01.en.html", "ch02.en.html", "ch03.en.html", "ch04.en.html", "ch05.en.html",
        "ch06.en.html", "ch07.en.html", "ch08.en.html", "ch09.en.html", "ch10.en.html")),
    "dev3": ("git-doc", "1:2.39.5-0+deb12u3", "usr/share/doc/git-doc", (
        "git.html", "git-commit.html", "git-rebase.html", "git-merge.html", "git-stash.html",
        "git-reset.html", "git-tag.html", "git-branch.html", "git-clone.html", "git-push.html",
        "gitignore.html", "gitfaq.html")),
    "dev4": ("debian-policy", "4.6.2.0", "usr/share/doc/debian-policy/policy.html", (
        "index.html", "ch-scope.html", "ch-archive.html", "ch-binary.html", "ch-source.html",
        "ch-controlfields.html", "ch-relationships.html", "ch-maintainerscripts.html",
        "ch-files.html", "ch-docs.html", "ch-customized-programs.html")),
    "report": ("developers-reference", "12.18", "usr/share/developers-reference", (
        "scope.html", "new-maintainer.html", "developer-duties.html", "resources.html",
        "pkgs.html", "best-pkging-practices.html", "beyond-pkging.html", "l10n.html",
        "tools.html", "index.html")),
    "zh": ("debian-reference-zh-cn", "2.100", "usr/share/debian-reference", tuple(
        f"ch{n:02d}.zh-cn.html" for n in range(1, 11))),
    "ja": ("debian-reference-ja", "2.100", "usr/share/debian-reference", tuple(
        f"ch{n:02d}.ja.html" for n in range(1, 11))),
}
#: Sets that are only ever reported, never tuned on.
REPORT_SETS = ("report", "ja")


def fetch(package: str, workdir: Path) -> Path:
    """``apt-get download`` the package into ``workdir`` and extract it; returns the root."""
    subprocess.run(["apt-get", "download", package], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    deb = next(workdir.glob(f"{package}_*.deb"))
    root = workdir / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    version = unquote(deb.name.split("_")[1])  # "1%3a2.39.5-0+deb12u3" -> "1:2.39.5-0+deb12u3"
    (root / "VERSION").write_text(version)
    return root


def build(out: Path) -> dict[str, Path]:
    """Extract every set's pages into ``out/<set>/``; returns set -> folder."""
    folders: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (package, version, inside, pages) in SETS.items():
            root = fetch(package, Path(tmp))
            got = (root / "VERSION").read_text()
            if got != version:
                print(f"warning: {package} is {got}; the questions were written against "
                      f"{version} (check reports any answer that moved)", file=sys.stderr)
            target = out / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for page in pages:
                shutil.copy2(root / inside / page, target / page)
            folders[name] = target
    return folders


def page_text(path: Path) -> str:
    """Visible text of an HTML page, whitespace collapsed (for checking gold answers)."""
    import warnings

    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():  # git's pages are XHTML; read as HTML, their text is right
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "lxml")
    for tag in soup(["script", "style"]):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def questions(name: str) -> list[dict]:
    lines = (HERE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def check(out: Path) -> list[str]:
    """Problems: a gold answer that no longer occurs in its gold document."""
    problems: list[str] = []
    for name in SETS:
        texts = {p.name: page_text(p).lower() for p in (out / name).glob("*.html")}
        for i, q in enumerate(questions(name), start=1):
            docs = [texts[s] for s in q.get("sources", []) if s in texts] or list(texts.values())
            norm = [re.sub(r"\s+", " ", a.lower()) for a in q["answers"]]
            if not any(a in d for a in norm for d in docs):
                problems.append(f"{name} question {i}: no gold answer occurs in "
                                f"{q.get('sources')}: {q['question']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check-only", action="store_true",
                        help="only re-check the question files against an existing build")
    args = parser.parse_args(argv)
    if not args.check_only:
        for name, folder in build(args.out).items():
            print(f"{name}: {len(list(folder.iterdir()))} pages in {folder}")
    problems = check(args.out)
    for line in problems:
        print(line)
    counts = {name: len(questions(name)) for name in SETS if (HERE / f"{name}.jsonl").exists()}
    print(f"questions: {counts}; {len(problems)} gold answers not found in their documents")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
