"""The network guard refuses outside connections and lookups, and loopback ports not its own.

Most tests run a guarded child process (``sys.executable -c``), because what matters is what a
Satchel process and the children it starts can do, and the pytest process's guard (conftest) must
not decide the outcome.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from engine import netguard

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def test_connection_to_public_address_is_refused(allow_network_block):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(netguard.NetworkBlocked, match="network guard refused"):
            sock.connect(("93.184.216.34", 80))
    finally:
        sock.close()
    assert any("93.184.216.34" in a for a in netguard.blocked_attempts)


def test_name_lookup_and_http_are_refused(allow_network_block):
    with pytest.raises(netguard.NetworkBlocked):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises(OSError):
        urllib.request.urlopen("https://huggingface.co/api/models", timeout=2)


def test_udp_sendto_outside_is_refused(allow_network_block):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(netguard.NetworkBlocked):
            sock.sendto(b"x", ("8.8.8.8", 53))
    finally:
        sock.close()


def test_loopback_is_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(("localhost", server.getsockname()[1]), timeout=2)
    conn, _ = server.accept()
    client.sendall(b"ping")
    assert conn.recv(4) == b"ping"
    for s in (conn, client, server):
        s.close()


def test_offline_environment_is_set():
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_satchel_process_refuses_connections_from_inside(tmp_path):
    """A real Satchel process (main.main) has the guard up before any command runs."""
    code = f"""
import socket, main
try:
    main.main(["--data-dir", {str(tmp_path)!r}, "doctor", "--help"])
except SystemExit:
    pass
s = socket.socket()
try:
    s.connect(("1.1.1.1", 443))
    print("CONNECTED")
except OSError as e:
    print(type(e).__name__, e)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert "NetworkBlocked" in out.stdout and "network guard refused" in out.stdout


def test_doctor_reports_guard_active(tmp_path):
    out = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path), "doctor",
                          "--json", "--no-generate"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    report = json.loads(out.stdout)
    assert report["network_guard"]["active"] is True
    assert "refused" in report["network_guard"]["evidence"]


# -- in a guarded child process -------------------------------------------------------------------
_CHILD_PRELUDE = """
import json, os, socket, subprocess, sys
from engine import netguard
netguard.install()

def attempt(action):
    try:
        action()
    except netguard.NetworkBlocked:
        return "blocked"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"

def tcp(host, port, family=socket.AF_INET):
    def go():
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect((host, port))
    return attempt(go)

def udp(host, port):
    def go():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"x", (host, port))
    return attempt(go)

def listener(kind=socket.SOCK_STREAM):
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))  # port 0: the OS picks the port
    if kind == socket.SOCK_STREAM:
        sock.listen(4)
    return sock, sock.getsockname()[1]
"""


def _run_child(body: str, *args: object, env: dict[str, str] | None = None) -> dict:
    """Run ``body`` after the prelude in a guarded child; returns the JSON it printed last."""
    code = _CHILD_PRELUDE + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                         env={**os.environ, **(env or {})}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def outside_ports():
    """Loopback services the child did not open (a local proxy's stand-ins): {name: port}."""
    sockets = {}
    for name, kind in (("tcp", socket.SOCK_STREAM), ("tcp2", socket.SOCK_STREAM),
                       ("tcp3", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
        sock = socket.socket(socket.AF_INET, kind)
        sock.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            sock.listen(8)
        sockets[name] = sock
    yield {name: sock.getsockname()[1] for name, sock in sockets.items()}
    for sock in sockets.values():
        sock.close()


def test_child_reaches_only_loopback_ports_it_opened(outside_ports):
    result = _run_child("""
        outside_tcp, outside_udp = int(sys.argv[1]), int(sys.argv[2])
        server, port = listener()
        datagrams, udp_port = listener(socket.SOCK_DGRAM)
        before = len(netguard.blocked_attempts)
        result = {
            "outside tcp": tcp("127.0.0.1", outside_tcp),
            "outside tcp via localhost": tcp("localhost", outside_tcp),
            "outside udp": udp("127.0.0.1", outside_udp),
            "own tcp": tcp("127.0.0.1", port),
            "own tcp via localhost": tcp("localhost", port),
            "own udp": udp("127.0.0.1", udp_port),
        }
        result["recorded"] = len(netguard.blocked_attempts) - before
        try:
            socket.socket(socket.AF_INET6).close()
            other_family = tcp("::1", port, socket.AF_INET6)  # "localhost" tried over IPv6 first
        except OSError:
            other_family = "blocked"  # no IPv6 here
        result["own port on ::1"] = other_family
        result["recorded after ::1"] = len(netguard.blocked_attempts) - before
        server.close()
        result["own tcp after close"] = tcp("127.0.0.1", port)
        print(json.dumps(result))
    """, outside_ports["tcp"], outside_ports["udp"])
    assert result == {
        "outside tcp": "blocked", "outside tcp via localhost": "blocked", "outside udp": "blocked",
        "own tcp": "ok", "own tcp via localhost": "ok", "own udp": "ok", "recorded": 3,
        "own port on ::1": "blocked", "recorded after ::1": 3, "own tcp after close": "blocked",
    }


def test_allowed_endpoints_reach_child_and_grandchild(outside_ports):
    listed, other, by_name = outside_ports["tcp"], outside_ports["tcp2"], outside_ports["tcp3"]
    result = _run_child("""
        listed, other, by_name = map(int, sys.argv[1:4])
        result = {"listed": tcp("127.0.0.1", listed), "other before": tcp("127.0.0.1", other),
                  "by name before": tcp("127.0.0.1", by_name)}
        netguard.allow_endpoint("127.0.0.1", other)
        netguard.allow_endpoint("localhost", by_name)  # a name: its addresses, this port
        result["other after"] = tcp("127.0.0.1", other)
        result["by name after"] = tcp("127.0.0.1", by_name)
        result["exported"] = os.environ["SATCHEL_ALLOWED_ENDPOINTS"]
        grandchild = (
            "import socket; from engine import netguard; netguard.install(); "
            f"socket.create_connection(('127.0.0.1', {other}), timeout=2).close(); print('ok')")
        out = subprocess.run([sys.executable, "-c", grandchild], capture_output=True, text=True,
                             timeout=30)
        result["grandchild"] = out.stdout.strip() or out.stderr.strip()[-300:]
        print(json.dumps(result))
    """, listed, other, by_name, env={"SATCHEL_ALLOWED_ENDPOINTS": f"127.0.0.1:{listed}"})
    assert result == {
        "listed": "ok", "other before": "blocked", "by name before": "blocked",
        "other after": "ok", "by name after": "ok",
        "exported": f"127.0.0.1:{listed},127.0.0.1:{other},localhost:{by_name}",
        "grandchild": "ok",
    }


def test_proxy_variables_are_gone_in_child_and_grandchild():
    proxies = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
               "all_proxy", "FTP_PROXY", "ftp_proxy", "socks_proxy"]
    env = {name: "http://127.0.0.1:9050/" for name in proxies} | {"NO_PROXY": "localhost"}
    result = _run_child("""
        import urllib.request
        show = ("import json, os; "
                "print(json.dumps(sorted(k for k in os.environ if 'proxy' in k.lower())))")
        out = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True,
                             timeout=30)
        print(json.dumps({"child": sorted(k for k in os.environ if "proxy" in k.lower()),
                          "grandchild": json.loads(out.stdout),
                          "urllib": urllib.request.getproxies()}))
    """, env=env)
    # NO_PROXY stays: it only names hosts not to proxy
    assert result == {"child": ["NO_PROXY"], "grandchild": ["NO_PROXY"],
                      "urllib": {"no": "localhost"}}


def test_name_lookups_in_child():
    # A second audit hook, added after the guard's, stops every lookup the guard let through, so
    # the test learns the guard's verdict without sending anything to a DNS server.
    result = _run_child("""
        class Passed(Exception):
            pass

        def stop_lookups(event, args):
            if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                         "socket.getnameinfo"):
                raise Passed(event)

        sys.addaudithook(stop_lookups)

        def lookup(function, *args):
            try:
                function(*args)
            except netguard.NetworkBlocked:
                return "blocked"
            except Passed:
                return "passed"
            except OSError as exc:
                return f"{type(exc).__name__}: {exc}"
            return "ran"

        def bind_by_name():
            with socket.socket() as sock:
                sock.bind(("never-resolved.invalid", 0))

        result = {
            "getnameinfo public": lookup(socket.getnameinfo, ("8.8.8.8", 53), 0),
            "getnameinfo loopback": lookup(socket.getnameinfo, ("127.0.0.1", 53), 0),
            "gethostbyaddr public": lookup(socket.gethostbyaddr, "8.8.8.8"),
            "getaddrinfo name": lookup(socket.getaddrinfo, "example.com", 80),
            "gethostbyname name": lookup(socket.gethostbyname, "example.com"),
            "gethostbyname_ex name": lookup(socket.gethostbyname_ex, "example.com"),
            "getaddrinfo localhost": lookup(socket.getaddrinfo, "localhost", 80),
            "getaddrinfo None": lookup(socket.getaddrinfo, None, 80),
            "getaddrinfo numeric": lookup(socket.getaddrinfo, "93.184.216.34", 80),
            "getaddrinfo name from env": lookup(socket.getaddrinfo, "llm-env.example", 8080),
            "getaddrinfo name before allow": lookup(socket.getaddrinfo, "llm.example.net", 8080),
            "connect by name": tcp("never-resolved.invalid", 80),
            "bind by name": attempt(bind_by_name),
        }
        netguard.allow_endpoint("llm.example.net", 8080)
        result["getaddrinfo name after allow"] = lookup(socket.getaddrinfo, "llm.example.net", 80)
        print(json.dumps(result))
    """, env={"SATCHEL_ALLOWED_ENDPOINTS": "llm-env.example:8080"})
    assert result == {
        "getnameinfo public": "blocked", "getnameinfo loopback": "passed",
        "gethostbyaddr public": "blocked", "getaddrinfo name": "blocked",
        "gethostbyname name": "blocked", "gethostbyname_ex name": "blocked",
        "getaddrinfo localhost": "passed", "getaddrinfo None": "passed",
        "getaddrinfo numeric": "passed", "getaddrinfo name from env": "passed",
        "getaddrinfo name before allow": "blocked", "connect by name": "blocked",
        "bind by name": "blocked", "getaddrinfo name after allow": "passed",
    }


# -- native code, which the audit hook cannot see -------------------------------------------------
STRACE = shutil.which("strace")
#: A connection or datagram to an IPv4 or IPv6 address, as strace prints it; loopback excepted.
_INET_CALL = re.compile(r"sa_family=AF_INET6?\b")
_LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"')


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make's set-up installs it)")
def test_nothing_leaves_the_machine_from_native_code_either(tmp_path):
    """``satchel index`` (LibreOffice for a Word for DOS file, PDFium, Tesseract for a scan, the
    ONNX embedder) and ``satchel ask`` (llama.cpp, LanceDB) run under strace: no connection and
    no DNS query leaves the machine, from any process they start. ONNX Runtime's telemetry did
    both (a lookup of mobile.events.data.microsoft.com from its own HTTP client) and kept a
    device id and an event queue under ~/.cache/Microsoft and a session file in the temp dir."""
    import pypdfium2 as pdfium

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("libreoffice-Word_5.0_DOS.doc", "libpst-mapi-definitions-p7.pdf"):
        shutil.copy(DATA / name, docs / name)
    pdf = pdfium.PdfDocument(DATA / "libpst-mapi-definitions-p7.pdf")
    pdf[0].render(scale=150 / 72, grayscale=True).to_pil().save(docs / "scan.png")
    pdf.close()
    home, temp = tmp_path / "home", tmp_path / "temp"  # where native telemetry keeps its queue
    temp.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "TMPDIR": str(temp)}
    env.pop("ORT_DISABLE_TELEMETRY", None)  # set by this process's guard; a user's shell has none
    calls = []
    for n, args in enumerate((["index", str(docs), "--collection", "egress"],
                              ["ask", "Which tag holds the display name?", "--collection",
                               "egress"])):
        log = tmp_path / f"strace-{n}.log"
        out = subprocess.run(
            [STRACE, "-f", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-o", str(log),
             sys.executable, "main.py", "--data-dir", str(tmp_path / "data"), *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        assert n or "3 indexed" in out.stdout + out.stderr  # LibreOffice and OCR did run
        calls += [line for line in log.read_text().splitlines()
                  if _INET_CALL.search(line) and not _LOOPBACK.search(line)]
    assert calls == []
    assert not (home / ".cache" / "Microsoft").exists()
    assert not (temp / ".ses").exists()  # the telemetry session's id and start time
