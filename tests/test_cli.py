"""The CLI contract: fast --help, one-line errors with non-zero exit, doctor with a real model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def satchel(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "main.py", "--data-dir", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_help_imports_nothing_heavy():
    code = ("import sys, main\n"
            "from cli.app import build_parser\n"
            "build_parser().format_help()\n"
            "heavy = [m for m in ('torch', 'llama_cpp', 'lancedb', 'sentence_transformers', "
            "'transformers', 'PySide6', 'numpy') if m in sys.modules]\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_help_lists_doctor(tmp_path):
    out = satchel("--help", home=tmp_path)
    assert out.returncode == 0 and "doctor" in out.stdout


@pytest.mark.parametrize("args,needle", [
    (["frobnicate"], "invalid choice"),
    (["doctor", "--bogus"], "unrecognized arguments"),
])
def test_unknown_command_or_flag(tmp_path, args, needle):
    out = satchel(*args, home=tmp_path)
    assert out.returncode == 2
    assert needle in out.stderr and "Traceback" not in out.stderr


def test_unusable_data_dir_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = satchel("doctor", "--no-generate", home=blocker)
    assert out.returncode == 2
    assert out.stderr.startswith("satchel: error:") and "not a folder" in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_corrupt_settings_warn_and_continue(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "settings.json").write_text("[1, 2")
    out = satchel("doctor", "--json", "--no-generate", home=tmp_path)
    assert "settings file was corrupt" in out.stderr and "Traceback" not in out.stderr
    assert json.loads(out.stdout)["model"]["found"] is True
    assert list(tmp_path.glob("settings.json.corrupt-*"))


def test_doctor_json_generates_with_the_bundled_model(tmp_path):
    out = satchel("doctor", "--json", home=tmp_path)
    report = json.loads(out.stdout)
    assert out.returncode == 0, report["problems"]
    assert report["ok"] is True
    assert report["model"]["found"] and report["model"]["architecture"] == "llama"
    assert len(report["model"]["sha256"]) == 64
    assert report["embedder"]["found"]
    assert report["generation"]["completion_tokens"] > 0 and report["generation"]["reply"]
    assert report["llama_cpp"]["portable"] is True
    assert report["network_guard"]["active"] is True
    assert report["data_dir"] == str(tmp_path.resolve())
    assert report["versions"]["torch"].startswith("2.13.0")
    # the outside readers: Tesseract and LibreOffice are installed by make test
    ocr, office = report["readers"]["ocr"], report["readers"]["libreoffice"]
    assert ocr["found"] is bool(shutil.which("tesseract"))
    assert not ocr["found"] or ("eng" in ocr["languages"] and ocr["version"].startswith("5"))
    assert office["found"] is bool(shutil.which("soffice")) or office["path"]
    assert report["readers"]["djvu"]["found"] is bool(shutil.which("djvused"))
    from engine.ingest.loaders.chm import chmlib_path

    assert report["readers"]["chm"]["found"] is bool(chmlib_path())


def test_doctor_names_the_package_of_a_missing_outside_reader(monkeypatch):
    from cli.doctor import outside_readers
    from engine.ingest.loaders import chm, djvu, legacy, ocr

    monkeypatch.setattr(chm, "chmlib_path", lambda: None)
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    monkeypatch.setattr(djvu.shutil, "which", lambda name: None)
    monkeypatch.setattr(legacy, "find_soffice", lambda: None)
    readers = outside_readers()
    assert readers["ocr"] == {"found": False, "hint": ocr.INSTALL_HINT}
    assert readers["libreoffice"]["found"] is False
    assert readers["libreoffice"]["hint"].endswith("sudo apt install libreoffice-calc-nogui "
                                                   "libreoffice-draw-nogui "
                                                   "libreoffice-impress-nogui "
                                                   "libreoffice-writer-nogui")
    assert readers["djvu"] == {"found": False, "hint": djvu.INSTALL_HINT}
    assert readers["chm"] == {"found": False, "hint": chm.INSTALL_HINT}


def test_answer_sources_name_the_section_they_come_from(capsys):
    """A manual's page number alone ("grep.info, page 7") does not say where to look; the
    heading path does, as `satchel search` shows it."""
    from cli.answering import _print_sources
    from engine.answer import Answer
    from engine.prompt import Passage

    answer = Answer(question="Which option counts matching lines?", mode="rag")
    answer.sources = [
        Passage(n=1, path="/usr/share/info/grep.info.gz//grep.info", page=7, score=0.04,
                text="‘-c’ ‘--count’ Suppress normal output; instead print a count.",
                chunk_id="a", heading="2 Invoking > 2.1.3 General Output Control"),
        Passage(n=2, path="/docs/notes.txt", page=1, score=0.03, text="No heading here.",
                chunk_id="b")]
    answer.cited = [1]
    _print_sources(answer)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == ("*[1] grep.info, page 7 - 2 Invoking > 2.1.3 General Output Control: "
                         "‘-c’ ‘--count’ Suppress normal output; instead print a count.")
    assert lines[-1] == " [2] notes.txt: No heading here."  # a text file has no pages

    # a part is named with the file that holds it, as the window names it
    answer.sources = [
        Passage(n=1, path="/mail/enron.pst//Inbox › Deals › 3", page=1, score=0.04,
                text="PPL EnergyPlus requests 10,000 dth.", chunk_id="c"),
        Passage(n=2, path="/mail/inbox.mbox//3//invoice.pdf", page=2, score=0.03,
                text="The service costs 240 euros.", chunk_id="d")]
    _print_sources(answer)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "*[1] enron.pst › Inbox › Deals › 3: PPL EnergyPlus requests 10,000 dth."
    assert lines[-1] == " [2] inbox.mbox › 3 › invoice.pdf, page 2: The service costs 240 euros."
