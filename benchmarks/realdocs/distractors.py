"""Distractor documents for the retrieval benchmark: the same kind of real manuals, other pages.

With only the 10-12 gold pages of a question set in a collection, "the gold file is in the top 5"
is nearly a given. A retrieval measurement needs a haystack: these are other pages of the same
kind, taken from Debian packages like the gold pages (``build.py``), chosen so that many of them
are close in subject to the gold pages (the hard case for retrieval, and the realistic one: a
user's folder holds related documents, not random ones).

* **dev** (SQLite documentation): ~70 other pages of ``sqlite3-doc`` about the SQL language,
  transactions and storage, functions and "about SQLite" (~700k characters of text).
* **report** (Debian Developer's Reference): the Debian Policy Manual chapters and appendices
  (``debian-policy``) and the New Maintainers' Guide (``maint-guide``), ~550k characters.

Pages go to ``<out>/distractors-<set>/<package>/<page>``: gold pages stay alone in
``<out>/<set>/``, so a hit is gold only when it is one of the set's own pages, whatever its name
(the Policy Manual also has an ``index.html``). Downloads are cached like ``build.py``'s pages.

    python -m benchmarks.realdocs.distractors [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.realdocs.build import DEFAULT_OUT, fetch

_SQLITE = "usr/share/doc/sqlite3"

#: set -> [(Debian package, folder inside the package, pages)]
DISTRACTORS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "dev": [("sqlite3-doc", _SQLITE, (
        # the SQL language around tables, rowids and types
        "rowidtable.html", "lang_createtable.html", "stricttables.html", "datatypes.html",
        "flextypegood.html", "nulls.html", "lang_keywords.html", "gencol.html",
        "lang_createindex.html", "partialindex.html", "lang_insert.html", "lang_update.html",
        "lang_upsert.html", "lang_conflict.html", "lang_altertable.html",
        # transactions, journals, storage
        "lang_transaction.html", "lang_savepoint.html", "lockingv3.html", "atomiccommit.html",
        "walformat.html", "sharedcache.html", "inmemorydb.html", "lang_attach.html",
        "lang_vacuum.html", "howtocorrupt.html", "mmap.html", "uri.html", "pragma.html",
        # functions
        "lang_corefunc.html", "lang_aggfunc.html", "lang_mathfunc.html", "printf.html",
        "lang_expr.html",
        # about SQLite and when to use it
        "about.html", "serverless.html", "zeroconf.html", "onefile.html", "selfcontained.html",
        "transactional.html", "fullsql.html", "features.html", "mostdeployed.html",
        "famous.html", "appfileformat.html", "fasterthanfs.html", "useovernet.html",
        "omitted.html", "hirely.html", "footprint.html", "whyc.html", "security.html",
        "threadsafe.html", "lts.html",
        # other topics
        "queryplanner.html", "foreignkeys.html", "rescode.html"))],
    "report": [
        ("debian-policy", "usr/share/doc/debian-policy/policy.html", (
            "ch-scope.html", "ch-archive.html", "ch-binary.html", "ch-source.html",
            "ch-controlfields.html", "ch-maintainerscripts.html", "ch-relationships.html",
            "ch-sharedlibs.html", "ch-opersys.html", "ch-files.html",
            "ch-customized-programs.html", "ch-docs.html", "ap-process.html",
            "ap-pkg-scope.html", "ap-pkg-binarypkg.html", "ap-pkg-sourcepkg.html",
            "ap-pkg-controlfields.html", "ap-pkg-conffiles.html", "ap-pkg-alternatives.html",
            "ap-pkg-diversions.html", "ap-flowcharts.html", "ap-license.html")),
        ("maint-guide", "usr/share/doc/maint-guide/html", (
            "index.en.html", "start.en.html", "first.en.html", "modify.en.html",
            "dreq.en.html", "dother.en.html", "build.en.html", "checkit.en.html",
            "upload.en.html", "update.en.html", "advanced.en.html")),
    ],
}


def folder(which: str, out: Path = DEFAULT_OUT) -> Path:
    return out / f"distractors-{which}"


def _complete(which: str, out: Path) -> bool:
    root = folder(which, out)
    return all((root / package / page).is_file()
               for package, _, pages in DISTRACTORS[which] for page in pages)


def ensure(which: str, out: Path = DEFAULT_OUT) -> Path:
    """The set's distractor folder, downloaded and extracted when missing or incomplete."""
    if which not in DISTRACTORS:
        raise SystemExit(f"unknown set {which!r}; use one of {', '.join(DISTRACTORS)}")
    root = folder(which, out)
    if _complete(which, out):
        return root
    with tempfile.TemporaryDirectory() as tmp:
        for package, inside, pages in DISTRACTORS[which]:
            work = Path(tmp) / package
            work.mkdir()
            extracted = fetch(package, work)
            target = root / package
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            for page in pages:
                shutil.copy2(extracted / inside / page, target / page)
            (target / "VERSION").unlink(missing_ok=True)
            print(f"{which}: {len(pages)} distractor pages of {package} "
                  f"{(extracted / 'VERSION').read_text()}", file=sys.stderr)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for which in DISTRACTORS:
        print(f"{which}: {ensure(which, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
