"""The network guard: a Satchel process refuses every non-loopback connection and name lookup.

Privacy is the product. Instead of trusting every library we import to stay quiet, the process
installs a Python audit hook (PEP 578) on socket events: connecting to, sending to, or resolving
anything that is not loopback raises :class:`NetworkBlocked` (an ``OSError``, so libraries treat it
as "no network" and tests see it fail loudly). Hub libraries are also put in offline mode through
their environment variables before they are imported, so they do not even try.

Limits, stated honestly: the hook sees sockets created through Python's ``socket`` module (urllib,
requests, httpx, huggingface_hub, aiohttp...). Native code that opens sockets itself is not seen;
the native libraries we ship (llama.cpp, LanceDB on local paths) open none.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
from typing import Any

#: Environment switches that keep model hubs and telemetry off before those libraries load.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}

_LOOKUP_EVENTS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                  "socket.gethostbyaddr")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlocked(ConnectionRefusedError):
    """A connection or lookup to a non-loopback host was refused by Satchel's network guard."""


_installed = False
_lock = threading.Lock()
blocked_attempts: list[str] = []


def _is_loopback_host(host: Any) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): local wildcard for bind(), no traffic
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().rstrip(".").lower()
    if name in _LOOPBACK_NAMES or name == "":
        return True
    name = name.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _address_allowed(address: Any) -> bool:
    # AF_UNIX addresses are paths (str/bytes) and never leave the machine.
    if isinstance(address, (str, bytes, bytearray)):
        return True
    if isinstance(address, tuple) and address:
        return _is_loopback_host(address[0])
    return False


def _refuse(what: str) -> None:
    message = f"Satchel's network guard refused {what}: Satchel works offline"
    with _lock:
        blocked_attempts.append(what)
    raise NetworkBlocked(message)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        family = getattr(sock, "family", None)
        if family == socket.AF_UNIX or _address_allowed(address):
            return
        _refuse(f"a connection to {address!r}")
    elif event in _LOOKUP_EVENTS and not _is_loopback_host(args[0]):
        _refuse(f"a name lookup of {args[0]!r}")


def install() -> None:
    """Turn the guard on for this process (idempotent). Call before importing heavy libraries."""
    global _installed
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["HF_HUB_OFFLINE"] = "1"
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


def active() -> bool:
    """True once :func:`install` ran in this process (audit hooks cannot be removed)."""
    return _installed


def self_test() -> str:
    """Prove the guard works by trying a real connection to a public address; returns evidence.

    The address is a TEST-NET-3 documentation address, so even without the guard nothing real
    would be contacted.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(("203.0.113.7", 443))
    except NetworkBlocked as exc:
        with _lock:
            if blocked_attempts and "203.0.113.7" in blocked_attempts[-1]:
                blocked_attempts.pop()
        return str(exc)
    except OSError as exc:
        return f"NOT ACTIVE: connection attempt reached the OS ({exc})"
    finally:
        probe.close()
    return "NOT ACTIVE: connection succeeded"
