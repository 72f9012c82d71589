"""Files LibreOffice reads and Satchel's own loaders do not, read by converting them with it: legacy
Office files (.doc, .xls, .ppt), Excel's binary workbooks (.xlsb), RTF, flat OpenDocument files
(.fodt, .fods, .fodp), OpenDocument drawings (.odg, .fodg), Visio diagrams (.vsd, .vsdx),
OpenOffice.org 1 / StarOffice 6-7 files (.sxw, .sxc, .sxi), and the files of older word processors:
AbiWord (.abw) and WordPerfect (.wpd, 4.2 to X9, via libwpd), Apple's iWork documents (Pages,
Numbers, Keynote, via libetonyek; see :mod:`engine.ingest.loaders.iwork`), and the home and office
suites of the 1980s and 1990s (libwps, libmwaw): Windows Write, Word for DOS, Lotus Word Pro, Lotus
1-2-3, Quattro Pro, Microsoft Works' spreadsheets and databases, AppleWorks / ClarisWorks.

The binary Office formats are decades of barely documented corners, and no pure-Python reader
handles them well; LibreOffice does. It converts the file to its modern equivalent (DOCX, XLSX,
PPTX; RTF to DOCX) and Satchel's own loaders read that, so a .doc is chunked and cited exactly like
a .docx: the same headings and tables, slides and sheets as pages. A flat OpenDocument file is
the same document as its zipped kind (.fodt as .odt), and a drawing becomes a PDF whose text
layer holds its labels and text boxes, a page per drawing page.

Why each part of the conversion is the way it is:

- One ``soffice --headless --convert-to`` process per file, in a fresh temp dir with a private
  user profile: two conversions never share (and lock) a profile, nothing is written to the
  user's home (HOME and the XDG dirs point into the temp dir), and nothing is left behind.
  Start-up is most of the cost: about 1.2-1.3 s a file (LibreOffice 7.4), ~1.0 s with a reused
  profile, while one process converting many files spends ~0.2 s on each after the first.
- The profile is seeded before start-up to keep LibreOffice offline. Left alone, LibreOffice 7.4
  fetches a picture linked from a .doc while converting it (OPTIONS, HEAD and GET requests: a web
  bug in a private document; a server that never answers stalls the conversion). So HTTP, HTTPS
  and FTP go to a "proxy" on a closed loopback port, links from untrusted documents are blocked,
  link updates are off and macros are disabled; with that, no connection is even attempted.
- A time limit, after which the whole process group is killed (``soffice`` is a launcher that
  forks ``soffice.bin``). While it runs, progress reports tell the indexer the parser is alive,
  so this limit, not the indexer's silence limit, applies to the conversion.
- A guard process (``/bin/sh``) kills that group and removes the temp dir if *this* process dies
  mid-conversion: the indexer kills its parser child on a time limit or a cancel, and an orphaned
  LibreOffice would otherwise keep running with a copy of the user's document.
- Encrypted and structurally broken files are recognised before converting: LibreOffice cannot
  read an encrypted file without its password, and on a damaged one it may fall back to importing
  the bytes as plain text, which would index garbage.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from engine.ingest.document import Document, LoadError, LoadOptions, rebase
from engine.ingest.loaders.common import wait_reporting
from engine.ingest.loaders.content_format import ole_streams
from engine.ingest.loaders.formats import (
    CONVERTED_TO,
    DISPLAY_NAMES,
    OLE_CONTENT_STREAMS,
    SUPPORTED_EXTENSIONS,
    format_for_name,
)
from engine.ingest.loaders.iwork import IWORK_FORMATS
from engine.ingest.loaders.opendocument import load_odp, load_ods, load_odt
from engine.ingest.loaders.sheets import load_xlsx
from engine.ingest.loaders.slides import load_pptx
from engine.ingest.loaders.word import load_docx

#: Longest one conversion may take; then LibreOffice is killed and the file reported.
CONVERT_TIMEOUT_S = 120.0

#: Legacy format -> the modern format LibreOffice converts it to.
TARGETS: dict[str, str] = CONVERTED_TO

#: Debian/Ubuntu package that lets LibreOffice read each format (named in the install hint).
PACKAGES: dict[str, str] = {
    "doc": "libreoffice-writer-nogui",
    "rtf": "libreoffice-writer-nogui",
    "xls": "libreoffice-calc-nogui",
    "ppt": "libreoffice-impress-nogui",
    "fodt": "libreoffice-writer-nogui",
    "fods": "libreoffice-calc-nogui",
    "fodp": "libreoffice-impress-nogui",
    "odg": "libreoffice-draw-nogui",
    "visio": "libreoffice-draw-nogui",
    "abw": "libreoffice-writer-nogui",
    "hwp": "libreoffice-writer-nogui",
    "wordperfect": "libreoffice-writer-nogui",
    "sxw": "libreoffice-writer-nogui",
    "sxc": "libreoffice-calc-nogui",
    "sxi": "libreoffice-impress-nogui",
    "xlsb": "libreoffice-calc-nogui",
    "gnumeric": "libreoffice-calc-nogui",
    "slk": "libreoffice-calc-nogui",
    "dif": "libreoffice-calc-nogui",
    "pages": "libreoffice-writer-nogui",
    "numbers": "libreoffice-calc-nogui",
    "keynote": "libreoffice-impress-nogui",
    "write": "libreoffice-writer-nogui",
    "wordpro": "libreoffice-writer-nogui",
    "lotus": "libreoffice-calc-nogui",
    "appleworks": "libreoffice-writer-nogui",
}


def _load_converted_pdf(path: Path) -> Document:
    """A drawing's PDF: its text layer only (the drawing's text is text, not a scan; a picture
    in it is not OCR'd, so the file is not marked as waiting for OCR either)."""
    from engine.ingest.loaders.pdf import load_pdf
    from engine.ingest.revisions import OCR_OFF_KEY

    doc = load_pdf(path, LoadOptions(ocr=False))
    doc.metadata.pop(OCR_OFF_KEY, None)
    return doc


_READERS: dict[str, Callable[[Path], Document]] = {
    "docx": load_docx,
    "xlsx": load_xlsx,
    "pptx": load_pptx,
    "odt": load_odt,
    "ods": load_ods,
    "odp": load_odp,
    "pdf": _load_converted_pdf,
}

#: Formats named after one of several suffixes, or not after their suffix (a Keynote
#: presentation is a ".key"): the file handed to LibreOffice keeps its own, which LibreOffice
#: partly tells the format by (a flat .fodg from a zipped .odg, a .vsd from a .vsdx).
_OWN_SUFFIX = frozenset({"odg", "visio", "abw", "sxw", "sxc", "sxi", "wordperfect", "pages",
                         "numbers", "keynote", "write", "wordpro", "lotus", "appleworks"})

#: Where LibreOffice lives when it is not on PATH (macOS and Windows installers).
_KNOWN_LOCATIONS = (
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)

#: Nothing listens on the discard port; requests sent to this "proxy" fail at once, locally.
_DEAD_PROXY = ("127.0.0.1", 9)


def _profile_settings() -> str:
    """registrymodifications.xcu for a private profile: offline, no macros, no link updates."""
    host, port = _DEAD_PROXY
    items = [
        ("org.openoffice.Inet/Settings", "ooInetProxyType", "2"),  # manual proxy
        *[("org.openoffice.Inet/Settings", f"ooInet{proto}ProxyName", host)
          for proto in ("HTTP", "HTTPS", "FTP")],
        *[("org.openoffice.Inet/Settings", f"ooInet{proto}ProxyPort", str(port))
          for proto in ("HTTP", "HTTPS", "FTP")],
        ("org.openoffice.Inet/Settings", "ooInetNoProxy", ""),
        ("org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "true"),
        ("org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "true"),
        ("org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "3"),
        ("org.openoffice.Office.Writer/Content/Update", "Link", "1"),  # never update links
        ("org.openoffice.Office.Calc/Content/Update", "Link", "1"),
    ]
    props = "\n".join(
        f'<item oor:path="/{path}"><prop oor:name="{name}" oor:op="fuse">'
        f"<value>{value}</value></prop></item>"
        for path, name, value in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{props}\n</oor:items>\n"
    )


#: Runs beside LibreOffice, started before it. The loader writes LibreOffice's process group id,
#: then "done" when the conversion is over; end-of-file before "done" means the loader died, so the
#: guard kills the group and removes the temp dir (after a second, so that the killed processes
#: have stopped writing into it), its parent if that is left empty (the loader's own temp dir),
#: and LibreOffice's single-instance socket ("$2", "$3": see :func:`_ipc_sockets`).
_GUARD_SCRIPT = (
    'read -r pgid; read -r line; [ "$line" = done ] && exit 0; '
    'case "$pgid" in ""|*[!0-9]*) ;; *) kill -s KILL -- "-$pgid" 2>/dev/null; sleep 1;; esac; '
    'rm -rf -- "$1"; rmdir -- "${1%/*}" 2>/dev/null; '
    'for s in "$2" "$3"; do [ -S "$s" ] && rm -f -- "$s"; done'
)


def _ipc_sockets(profile: Path) -> list[Path]:
    """Where LibreOffice started with ``profile`` keeps its single-instance socket.

    LibreOffice names it after an MD5 of the profile's URL (as UTF-16, each byte in hex without
    padding) and puts it in /tmp (/var/tmp when /tmp is not writable), whatever TMPDIR says. It
    removes the socket when it exits, but not when killed at the time limit: 65 ``OSL_PIPE_*``
    sockets had piled up in this machine's /tmp. Both places are returned.
    """
    digest = hashlib.md5(profile.as_uri().encode("utf-16-le"), usedforsecurity=False).digest()
    name = f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{''.join(f'{b:x}' for b in digest)}"
    return [Path("/tmp") / name, Path("/var/tmp") / name]


def _remove_sockets(sockets: list[Path]) -> None:
    for socket_path in sockets:
        with contextlib.suppress(OSError):
            if socket_path.is_socket():
                socket_path.unlink()


def find_soffice() -> str | None:
    """Path of LibreOffice's ``soffice`` (PATH first, then the usual install places), or None."""
    found = shutil.which("soffice")
    if found:
        return found
    return next((p for p in _KNOWN_LOCATIONS if os.path.isfile(p)), None)


def load_legacy(path: Path, options: LoadOptions | None = None,
                fmt: str | None = None) -> Document:
    """A file LibreOffice converts (see the module docstring) -> Document, via the loader of
    the converted file. ``fmt``: the format the file holds when its name says another (an RTF
    named .doc, see :mod:`engine.ingest.loaders.content_format`); by default, its name's.
    ``options`` reach the DOCX and PPTX readers (OCR of pasted-in scans).

    Pages are those of the converted format: one page for a document, one per sheet, slide or
    drawing page. Raises LoadError (one line) for encrypted or corrupt files, a conversion that
    fails or runs past :data:`CONVERT_TIMEOUT_S`, and when LibreOffice is not installed (with
    the package to install).
    """
    fmt = fmt or format_for_name(path)[0]
    if fmt not in TARGETS:
        raise LoadError(f"not a file LibreOffice converts for Satchel: '{path.suffix}'")
    ext = _suffix_for(path, fmt)
    if fmt in OLE_CONTENT_STREAMS:
        _check_ole(path, fmt)
    soffice = find_soffice()
    if soffice is None:
        raise LoadError(f"reading .{ext} needs LibreOffice: sudo apt install {PACKAGES[fmt]}")
    with tempfile.TemporaryDirectory(prefix="satchel-lo-", ignore_cleanup_errors=True) as tmp:
        target, converted = _convert_as_held(path, fmt, Path(tmp), soffice, ext)
        try:
            doc = (_READERS[target](converted, options) if target in ("docx", "pptx") else
                   _READERS[target](converted))
        except LoadError as exc:
            raise LoadError(f"corrupt or unreadable .{ext} (its {target.upper()} conversion: "
                            f"{exc})") from exc
        version = _libreoffice_version(converted)
    rebase(doc, str(path))  # its parts (embedded files) move along
    doc.format = fmt
    # what read the conversion's pictures (a .doc of pasted-in scans) stays said
    _, _, pictures = doc.loader.partition("; ")
    doc.loader = f"{version} (converted to {target.upper()})" + (f"; {pictures}" if pictures
                                                                 else "")
    return doc


def _convert_as_held(path: Path, fmt: str, work_dir: Path, soffice: str,
                     ext: str) -> tuple[str, Path]:
    """(target, converted file): the file converted to its format's target, else to the next
    one that LibreOffice can write it as. An AppleWorks file may hold a text, a spreadsheet or
    a drawing (:data:`_OTHER_TARGETS`); an iWork file whose name says another iWork
    application's (a Keynote deck named .pages) is imported by its content but cannot be
    written as the name's target, and telling Pages from Numbers needs the document's objects
    decoded, so the other applications' targets are tried in turn. Only a conversion that ran
    and wrote nothing moves on; a time-out does not."""
    targets = [TARGETS[fmt], *_OTHER_TARGETS.get(fmt, ())]
    if fmt in IWORK_FORMATS:
        targets += [TARGETS[other] for other in sorted(IWORK_FORMATS - {fmt})]
    for target in targets[:-1]:
        with contextlib.suppress(ConversionFailed):
            return target, convert(path, target, work_dir / target, soffice=soffice,
                                   source_format=ext)
    return targets[-1], convert(path, targets[-1], work_dir / targets[-1], soffice=soffice,
                                source_format=ext)


#: What else a file of a format that holds several kinds of document may be written as: an
#: AppleWorks file is a text, a spreadsheet, a database or a drawing, one name for all.
_OTHER_TARGETS: dict[str, tuple[str, ...]] = {"appleworks": ("xlsx", "pdf")}


class ConversionFailed(LoadError):
    """LibreOffice ran to its end and wrote nothing: the file is damaged, or not of a kind the
    target can be written from (a presentation to DOCX)."""


def convert(path: Path, target: str, work_dir: Path, *, soffice: str | None = None,
            source_format: str | None = None, timeout_s: float | None = None) -> Path:
    """Convert ``path`` to ``target`` ("docx", "doc", "xls"...) with LibreOffice; returns the file.

    Everything (profile, output, LibreOffice's own temp files) goes under ``work_dir``, which
    must be an empty directory the caller removes. Raises LoadError when LibreOffice fails, writes
    nothing, or runs past ``timeout_s`` (default :data:`CONVERT_TIMEOUT_S`).
    """
    soffice = soffice or find_soffice()
    ext = source_format or path.suffix.lower().lstrip(".")
    if soffice is None:
        raise LoadError(f"reading .{ext} needs LibreOffice: sudo apt install "
                        f"{PACKAGES.get(ext, 'libreoffice-nogui')}")
    limit = CONVERT_TIMEOUT_S if timeout_s is None else timeout_s
    profile, out_dir, home = work_dir / "profile", work_dir / "out", work_dir / "home"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_profile_settings(),
                                                                 encoding="utf-8")
    out_dir.mkdir()
    home.mkdir()
    # A plain name: the real one may start with "-" or hold bytes that are not UTF-8. It keeps
    # the real name's letters, since LibreOffice names what has no name after the file (the
    # one sheet of an Excel 2.x-4.0 worksheet was called "input").
    stem = _plain_stem(path)
    source = work_dir / f"{stem}.{ext}"
    try:
        source.symlink_to(path.resolve())
    except OSError:
        shutil.copyfile(path, source)
    cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible",
           "--norestore", "--nolockcheck", "--nologo", "--nodefault",
           "--convert-to", target, "--outdir", str(out_dir), str(source)]
    started = time.monotonic()
    sockets = _ipc_sockets(profile) if os.name == "posix" else []
    guard = _start_guard(work_dir, sockets)
    with (work_dir / "soffice.log").open("wb") as log:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=work_dir, env=_environment(home, work_dir),
                                    start_new_session=os.name == "posix")
        except OSError as exc:
            _tell_guard(guard, b"-\ndone\n", last=True)
            raise LoadError(f"cannot start LibreOffice ({soffice}): "
                            f"{exc.strerror or type(exc).__name__}") from exc
        _tell_guard(guard, f"{proc.pid}\n".encode())
        try:
            code = wait_reporting(proc, f"converting {path.name} with LibreOffice", started,
                                  limit)
        finally:
            _kill_group(proc)
            _remove_sockets(sockets)  # left behind when it was killed
            _tell_guard(guard, b"done\n", last=True)
    if code is None:
        raise LoadError(f"LibreOffice took longer than {limit:g} s to convert this .{ext} "
                        "(time limit); the file was skipped")
    result = out_dir / f"{stem}.{target}"
    if code != 0 or not result.is_file() or result.stat().st_size == 0:
        raise ConversionFailed(f"corrupt or unreadable .{ext} (LibreOffice could not convert it)")
    return result


def _suffix_for(path: Path, fmt: str) -> str:
    """The suffix of the copy LibreOffice converts, which it partly tells the format by: the
    file's own for a format of several suffixes (:data:`_OWN_SUFFIX`), unless the file was
    named for another format and ``fmt`` is also a suffix (a drawing named .odt: ".odg");
    else ``fmt`` itself."""
    own = path.suffix.lower().lstrip(".")
    if fmt not in _OWN_SUFFIX:
        return fmt
    if format_for_name(path)[0] != fmt and f".{fmt}" in SUPPORTED_EXTENSIONS:
        return fmt
    return own


def _plain_stem(path: Path) -> str:
    """``path``'s name without its suffix, as letters, digits, "-", "_" and "." only (others
    become "_"), not starting with "-" or "."; "input" when nothing is left."""
    stem = re.sub(r"[^\w.-]", "_", path.stem, flags=re.ASCII)[:80].lstrip("-.")
    return stem or "input"


def _check_ole(path: Path, fmt: str) -> None:
    """Refuse encrypted or broken OLE files before LibreOffice sees them (one-line reasons)."""
    import olefile

    if fmt == "visio" and not olefile.isOleFile(str(path)):
        return  # a .vsdx: a zip package, checked when the file was sniffed
    if fmt in ("xls", "doc") and not olefile.isOleFile(str(path)):
        return  # a bare BIFF stream, a Word for DOS or Windows 2 file: no OLE to check
    name = DISPLAY_NAMES[fmt]
    streams = ole_streams(path)
    if streams is None:
        raise LoadError(f"corrupt or unreadable .{fmt} (damaged OLE structure)")
    # An encrypted DOCX/XLSX/PPTX is an OLE file with an EncryptedPackage stream.
    if "encryptedpackage" in streams or _legacy_encrypted(path):
        raise LoadError(f"encrypted {name} (password protected)")
    if not streams & set(OLE_CONTENT_STREAMS[fmt]):
        raise LoadError(f"not a {name} file (an OLE file without its content stream; "
                        "mislabelled?)")


def _legacy_encrypted(path: Path) -> bool:
    """Word/Excel/PowerPoint 97-2003 password encryption, read by msoffcrypto-tool.

    False when msoffcrypto cannot tell (not installed, or it fails on an odd file): then
    LibreOffice gets the file, fails to open it, and the file is reported as unreadable.
    """
    try:
        import msoffcrypto

        with path.open("rb") as fh:
            return bool(msoffcrypto.OfficeFile(fh).is_encrypted())
    except Exception:  # a parser of untrusted bytes: ValueError, KeyError, struct.error...
        return False


def _environment(home: Path, work_dir: Path) -> dict[str, str]:
    """LibreOffice's environment: every place it might write points into ``work_dir``."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        HOME=str(home),
        TMPDIR=str(work_dir),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        SAL_USE_VCLPLUGIN="svp",  # the headless backend: no window, even for a password prompt
    )
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill LibreOffice and everything it started (a no-op once they have all exited)."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    elif proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _start_guard(work_dir: Path, sockets: list[Path]) -> subprocess.Popen[bytes] | None:
    """Start the guard that cleans up if this process dies mid-conversion (POSIX only)."""
    if os.name != "posix" or not os.path.exists("/bin/sh"):
        return None
    try:
        return subprocess.Popen(["/bin/sh", "-c", _GUARD_SCRIPT, "satchel-lo-guard",
                                 str(work_dir), *map(str, sockets)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        return None


def _tell_guard(guard: subprocess.Popen[bytes] | None, line: bytes, *, last: bool = False) -> None:
    """Send the guard a line; ``last``: the conversion is over, let it exit and reap it."""
    if guard is None or guard.stdin is None:
        return
    with contextlib.suppress(OSError):  # a guard that died cannot be told anything
        guard.stdin.write(line)
        guard.stdin.flush()
    if not last:
        return
    with contextlib.suppress(OSError):
        guard.stdin.close()
    try:
        guard.wait(timeout=5)
    except subprocess.TimeoutExpired:
        guard.kill()
        guard.wait()


_APP_VERSION = re.compile(rb"<Application>LibreOffice/(\d+)\.(\d+)")
_ODF_GENERATOR = re.compile(rb"<meta:generator>LibreOffice/(\d+)\.(\d+)")
#: A PDF's /Producer, as LibreOffice writes it: UTF-16BE hex ("LibreOffice 7.4").
_PDF_PRODUCER = re.compile(rb"/Producer\s*<FEFF((?:[0-9A-Fa-f]{4})+)>")


def _libreoffice_version(converted: Path) -> str:
    """ "LibreOffice 7.4", from what LibreOffice writes into its output: the Application
    property of an OOXML file, the generator of an ODF file, the producer of a PDF."""
    match = None
    try:
        if converted.suffix == ".pdf":
            found = _PDF_PRODUCER.search(converted.read_bytes()[-65536:])
            producer = bytes.fromhex(found[1].decode()).decode("utf-16-be") if found else ""
            match = re.match(r"LibreOffice (\d+)\.(\d+)", producer)
            return f"LibreOffice {match[1]}.{match[2]}" if match else "LibreOffice"
        with zipfile.ZipFile(converted) as zf:
            names = set(zf.namelist())
            if "docProps/app.xml" in names:
                match = _APP_VERSION.search(zf.read("docProps/app.xml"))
            elif "meta.xml" in names:
                match = _ODF_GENERATOR.search(zf.read("meta.xml"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        match = None
    return f"LibreOffice {match[1].decode()}.{match[2].decode()}" if match else "LibreOffice"
