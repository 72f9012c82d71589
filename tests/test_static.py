"""Static checks run with the suite: ruff, and the import contracts (engine/ never imports Qt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_ruff_clean():
    out = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_contracts_hold():
    out = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_engine_never_imports_models_at_module_level():
    """models/ (the user's model and adapter store) builds on engine/, never the reverse: the
    engine resolves and reads model files itself (engine.model_files, engine.gguf_info)."""
    import ast

    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n == "models" or n.startswith("models.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
