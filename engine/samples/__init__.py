"""The shipped sample corpus: documents of Halcyon Reach, a fictional research station.

``satchel demo``, the tests and the evaluation harness use it: one small real file per supported
format, produced by the real library for that format, full of checkable facts. ``qa_draft.jsonl``
holds questions whose answers, file and page are known. Regenerate everything with
``python -m engine.samples.build_corpus`` (deterministic).
"""

from __future__ import annotations

from pathlib import Path

#: Folder holding the corpus files (one per supported format).
CORPUS_DIR: Path = Path(__file__).resolve().parent / "corpus"
#: Question set for the corpus, in the Question-set JSON Lines format of DESIGN.md.
QA_PATH: Path = Path(__file__).resolve().parent / "qa_draft.jsonl"
#: The question set shipped with the app (``satchel eval --qa sample``): the draft's 56 questions,
#: each gold answer, file and page checked against the indexed corpus, with answer variants a
#: correct reply may use ("14th March", "10 pm").
QA_SET_PATH: Path = Path(__file__).resolve().parent / "qa.jsonl"

__all__ = ["CORPUS_DIR", "QA_PATH", "QA_SET_PATH"]
