"""The network guard refuses outside connections and lookups but lets loopback through."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from engine import netguard

ROOT = Path(__file__).resolve().parents[1]


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
