"""The network guard: a Satchel process talks only to itself and to endpoints the user configured.

Privacy is the product. Instead of trusting every library we import to stay quiet, every Satchel
process (main.py, the GUI's engine worker, the parser child, the reader-data child) calls
:func:`install` first. It adds a Python audit hook (PEP 578) on socket events; what the hook lets
through, and why:

- AF_UNIX sockets and ``socket.socketpair()``: multiprocessing, asyncio's self-pipe and the X
  display probe use them, and they cannot leave the machine.
- A TCP connection or UDP datagram (``connect``, ``connect_ex``, ``sendto``, ``sendmsg``) to a
  loopback address only on a port that a socket of *this process* holds when the check runs, so
  Satchel can talk to a server it started itself (``bind`` to port 0 works: the port is read with
  ``getsockname()`` at check time, from a weak reference to every socket the process creates or
  binds). Loopback alone is not enough: a corporate proxy or Tor (127.0.0.1:9050) listens there and
  forwards anywhere.
- The allow-list: :func:`allow_endpoint`, and ``SATCHEL_ALLOWED_ENDPOINTS`` read by
  :func:`install`. It is for endpoints the user set up on purpose (say an LLM server on the LAN)
  and for a port a parent process opened for its children.
- Forward name lookups (``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``) of loopback names
  (``localhost``...), of names on the allow-list, of ``None`` (bind's wildcard) and of numeric
  addresses. None of these asks a DNS server: numeric addresses are parsed locally and the
  connection that may follow is checked on its own. Any other name is refused, because the lookup
  itself tells a DNS server what Satchel was about to contact. The same rule applies to a host name
  given straight to ``connect``/``sendto``/``bind``, which CPython resolves *before* it raises the
  audit event: :func:`install` wraps those ``socket.socket`` methods to check the name first.
- Reverse lookups (``gethostbyaddr``, ``getnameinfo``) of loopback addresses only.

Everything else raises :class:`NetworkBlocked` (an ``OSError``, so libraries treat it as "no
network" and tests fail loudly) and is appended to :data:`blocked_attempts`, which the test suite
checks after every test. One refusal is not recorded: a loopback port this process holds, tried on
another loopback address (``::1`` when the server listens on 127.0.0.1). That is how clients try
every address of "localhost", not an attempt to reach anything else.

:func:`install` also deletes every ``*_proxy`` environment variable (``HTTP_PROXY``,
``https_proxy``, ``ALL_PROXY``, ``FTP_PROXY``, ``socks_proxy``..., either case; ``NO_PROXY`` stays,
it only lists hosts *not* to proxy), so neither this process nor any child it starts, including
programs the hook cannot see, is pointed at a proxy. A system-wide proxy setting (Windows registry,
macOS) is not in the environment, but reaching it is still refused by the connection check. Model
hubs are put in offline mode through their environment variables before they are imported, so
they do not even try.

Limits, stated honestly: the hook sees sockets created through Python's ``socket`` module (urllib,
requests, httpx, huggingface_hub, aiohttp...). Native code that opens sockets itself is not seen:
llama.cpp and LanceDB on local paths open none, and ONNX Runtime's telemetry, which would, is
switched off through its environment variable (:data:`NATIVE_TELEMETRY_OFF`); a test runs
Satchel under strace and fails on any connection or DNS query leaving the machine. A socket
created and bound before :func:`install`, or a raw ``_socket.socket`` (it cannot be weakly
referenced), is not known to the guard, so connections to its port are refused.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

#: Switches for telemetry in native code, which the audit hook cannot see: set whatever the
#: user's environment says. ONNX Runtime (1.32 on Linux; Satchel's embedder runs on it) starts
#: Microsoft's 1DS telemetry when a session is created: it writes a device id and a queue of
#: events (OS, CPU, memory, the Python executable's path) under ~/.cache/Microsoft/DeveloperTools
#: and a session file ($TMPDIR/.ses), and looks up mobile.events.data.microsoft.com to upload
#: them from its own C++ HTTP client; seen with strace from ``satchel ask``, guard on.
NATIVE_TELEMETRY_OFF = {"ORT_DISABLE_TELEMETRY": "1"}
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

#: ``host:port,host:port`` (IPv6 as ``[::1]:8080``): endpoints this process may reach. Read by
#: :func:`install`, written by :func:`allow_endpoint`; malformed entries allow nothing.
ENV_ALLOWED_ENDPOINTS = "SATCHEL_ALLOWED_ENDPOINTS"

_SEND_EVENTS = ("socket.connect", "socket.sendto", "socket.sendmsg")  # connect_ex raises connect
_FORWARD_LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname")  # gethostbyname_ex: the latter
_REVERSE_LOOKUPS = ("socket.gethostbyaddr", "socket.getnameinfo")
_SOCKET_EVENTS = ("socket.__new__", "socket.bind")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INET = (socket.AF_INET, socket.AF_INET6)
_AF_UNIX = getattr(socket, "AF_UNIX", None)

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class NetworkBlocked(ConnectionRefusedError):
    """A connection or lookup outside this process and its allow-list was refused by the guard."""


_installed = False
_lock = threading.RLock()  # the hook runs in every thread, and re-enters through getaddrinfo
blocked_attempts: list[str] = []
_sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
_endpoints: set[tuple[str, int]] = set()  # (canonical IP or lower-case name, port)
_resolved: dict[tuple[str, int], set[bytes]] = {}  # allow-listed name -> packed addresses


# -- parsing hosts --------------------------------------------------------------------------------
def _name(host: Any) -> str | None:
    """``host`` as a lower-case name without the trailing dot; None when it is not text."""
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str):
        return None
    return host.strip().rstrip(".").lower()


def _ip(host: Any) -> _IP | None:
    """``host`` as an IP address (an IPv4-mapped IPv6 one as IPv4), or None for a name."""
    name = _name(host)
    if not name:
        return None
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _canonical(ip: _IP) -> str:
    return str(ipaddress.ip_address(ip.packed))  # no IPv6 scope, one spelling per address


def _is_loopback_name(host: Any) -> bool:
    ip = _ip(host)
    return ip.is_loopback if ip is not None else _name(host) in _LOOPBACK_NAMES


def _endpoint_names() -> set[str]:
    with _lock:
        return {host for host, _ in _endpoints if _ip(host) is None}


# -- the allow-list -------------------------------------------------------------------------------
def _endpoint_key(host: Any, port: Any) -> tuple[str, int]:
    """The allow-list entry for ``host:port``; ValueError when either is unusable."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"not a port number: {port!r}")
    ip = _ip(host)
    if ip is not None:
        return _canonical(ip), port
    name = _name(host)
    if not name or any(c in name for c in ",:/[] \t\n"):
        raise ValueError(f"not a host name or address: {host!r}")
    return name, port


def _format_endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_endpoints(text: str) -> list[tuple[str, int]]:
    """The entries of a ``SATCHEL_ALLOWED_ENDPOINTS`` value; malformed ones are skipped."""
    entries = []
    for item in text.split(","):
        host, _, port = item.strip().rpartition(":")
        try:
            entries.append(_endpoint_key(host.strip("[]"), int(port)))
        except ValueError:
            continue  # refusing is the safe reading of a value we do not understand
    return entries


def allow_endpoint(host: str, port: int) -> None:
    """Let this process, and every child it starts from now on, reach ``host:port``.

    For endpoints the user configured (a remote LLM server, say) and for a port a Satchel process
    listens on for its own children. A host name given here may also be looked up; connections
    go to the addresses it resolves to, on this port only.

    The entry is also written to ``SATCHEL_ALLOWED_ENDPOINTS`` in ``os.environ``, which
    :func:`install` reads in the child. Exporting here, rather than offering a ``child_env()`` to
    pass along, is deliberate: Satchel starts its children with multiprocessing's "spawn", which
    takes no environment argument and copies ``os.environ``, and a start site that forgot a
    ``child_env()`` would give a child that silently cannot reach what the user configured.
    """
    key = _endpoint_key(host, port)
    with _lock:
        _endpoints.add(key)
        entries = _parse_endpoints(os.environ.get(ENV_ALLOWED_ENDPOINTS, ""))
        if key not in entries:
            entries.append(key)
        os.environ[ENV_ALLOWED_ENDPOINTS] = ",".join(_format_endpoint(*e) for e in entries)


def _resolves_to_endpoint(ip: _IP, port: int) -> bool:
    """True when ``ip`` is an address of an allow-listed name with this port (looked up lazily)."""
    with _lock:
        names = [host for host, p in _endpoints if p == port and _ip(host) is None]
    for name in names:
        if ip.packed in _resolved.get((name, port), ()):
            return True
        try:  # the name is allow-listed, so this lookup passes the hook
            found = {_ip(info[4][0]) for info in socket.getaddrinfo(name, port)}
        except OSError:
            continue
        packed = {a.packed for a in found if a is not None}
        with _lock:
            _resolved[(name, port)] = packed
        if ip.packed in packed:
            return True
    return False


# -- this process's own ports ---------------------------------------------------------------------
def _remember(sock: Any) -> None:
    try:
        with _lock:
            _sockets.add(sock)
    except TypeError:
        pass  # a raw _socket.socket cannot be weakly referenced: its ports stay closed to us


def _holds_port(ip: _IP, port: int, kind: int, *, exact: bool) -> bool:
    """True when a socket of this process of this type is bound to ``port`` on ``ip``.

    A wildcard bind (0.0.0.0, or :: when dual-stack) holds the port on every address. With
    ``exact=False`` any loopback address will do (for telling "localhost on the other family"
    apart from a port that belongs to another program).
    """
    with _lock:
        sockets = list(_sockets)
    for sock in sockets:
        try:
            if sock.family not in _INET or int(sock.type) != kind:
                continue
            bound_host, bound_port = sock.getsockname()[:2]
        except (OSError, ValueError):
            continue  # closed, or not set up yet
        bound = _ip(bound_host)
        if bound_port != port or bound is None:
            continue
        if bound.packed == ip.packed or (not exact and (bound.is_loopback or bound.is_unspecified)):
            return True
        if bound.is_unspecified and (bound.version == ip.version or not _v6only(sock)):
            return True
    return False


def _v6only(sock: socket.socket) -> bool:
    if sock.family != socket.AF_INET6:
        return True
    try:
        return bool(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    except OSError:
        return True


# -- the checks -----------------------------------------------------------------------------------
def _destination_addresses(sock: Any, host: Any, port: int) -> list[_IP] | None:
    """Where a connection to ``host`` goes, or None when the guard must refuse it outright."""
    family = getattr(sock, "family", socket.AF_INET)
    if host in ("", b""):
        host = "::" if family == socket.AF_INET6 else "0.0.0.0"  # what CPython makes of ""
    ip = _ip(host)
    if ip is not None and ip.is_unspecified:  # Linux delivers these to this machine
        return [ipaddress.ip_address("::1" if ip.version == 6 else "127.0.0.1")]
    if ip is not None:
        return [ip]
    if _name(host) not in _LOOPBACK_NAMES:
        return None
    try:  # a loopback name resolves locally; CPython did the same a moment ago
        infos = socket.getaddrinfo(host, port, family, getattr(sock, "type", 0))
    except OSError:
        return None
    found = [_ip(info[4][0]) for info in infos]
    return [a for a in found if a is not None] or None


def _check_destination(sock: Any, address: Any) -> None:
    """Refuse a connection or datagram to ``address`` unless this module's rules allow it."""
    if address is None or getattr(sock, "family", None) == _AF_UNIX:
        return  # sendmsg on a connected socket (the connect was checked), or a local socket
    if isinstance(address, (str, bytes, bytearray)):
        return  # an AF_UNIX path
    what = f"a connection to {address!r}"
    if not (isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int)):
        _refuse(what)  # netlink, packet, bluetooth...: not Satchel's business
    host, port = address[0], address[1]
    if (_name(host), port) in _endpoints:
        return  # an allow-listed name, as the user wrote it
    ips = _destination_addresses(sock, host, port)
    if ips is None:
        _refuse(what)
    kind = int(getattr(sock, "type", socket.SOCK_STREAM))
    for ip in ips:
        if (_canonical(ip), port) in _endpoints:
            continue
        if ip.is_loopback and _holds_port(ip, port, kind, exact=True):
            continue
        if _resolves_to_endpoint(ip, port):
            continue
        if not ip.is_loopback:
            _refuse(what)
        # the same port on another loopback address is a client trying every address of
        # "localhost" (::1, then 127.0.0.1): refused, but no attempt to reach anything else
        _refuse(what, "that loopback port was not opened by this Satchel process (see "
                      f"{ENV_ALLOWED_ENDPOINTS})",
                record=not _holds_port(ip, port, kind, exact=False))


def _forward_lookup_allowed(host: Any) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the wildcard for bind(), no lookup
    name = _name(host)
    if name is None:
        return False
    if name == "" or _ip(name) is not None or name in _LOOPBACK_NAMES:
        return True
    return name in _endpoint_names()


def _reverse_lookup_target(event: str, args: tuple[Any, ...]) -> Any:
    target = args[0]
    if event == "socket.getnameinfo" and isinstance(target, tuple) and target:
        return target[0]  # the sockaddr's host
    return target


def _refuse(what: str, why: str = "Satchel works offline", *, record: bool = True) -> None:
    if record:
        with _lock:
            blocked_attempts.append(what)
    raise NetworkBlocked(f"Satchel's network guard refused {what}: {why}")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    if event in _SOCKET_EVENTS:
        _remember(args[0])
    elif event in _SEND_EVENTS:
        _check_destination(args[0], args[1])
    elif event in _FORWARD_LOOKUPS:
        if not _forward_lookup_allowed(args[0]):
            _refuse(f"a name lookup of {args[0]!r}")
    elif event in _REVERSE_LOOKUPS:
        target = _reverse_lookup_target(event, args)
        if not _is_loopback_name(target):
            _refuse(f"a reverse lookup of {target!r}")


# -- names handed straight to socket methods ------------------------------------------------------
def _check_name_in(sock: Any, address: Any) -> None:
    """Refuse before CPython resolves a host name inside connect/sendto/bind (no audit event)."""
    if getattr(sock, "family", None) not in _INET or not isinstance(address, tuple) or not address:
        return
    host = address[0]
    if host == "<broadcast>" or _forward_lookup_allowed(host):
        return  # "<broadcast>" is parsed locally; the send check refuses it
    _refuse(f"a name lookup of {host!r}")


def _guarded(method: Callable[..., Any], position: int) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(self: socket.socket, *args: Any) -> Any:
        if len(args) > position >= -len(args):
            _check_name_in(self, args[position])
        return method(self, *args)

    guarded.__satchel_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def _guard_socket_methods() -> None:
    for name, position in (("connect", 0), ("connect_ex", 0), ("bind", 0), ("sendto", -1),
                           ("sendmsg", 3)):
        method = getattr(socket.socket, name, None)
        if method is not None and not getattr(method, "__satchel_guarded__", False):
            setattr(socket.socket, name, _guarded(method, position))


# -- the public switch ----------------------------------------------------------------------------
def _proxy_variables(keys: Iterable[str]) -> list[str]:
    """The proxy settings among environment variable names (any ``*_proxy`` but ``no_proxy``)."""
    return [k for k in keys if k.lower().endswith("_proxy") and k.lower() != "no_proxy"]


def install() -> None:
    """Turn the guard on for this process (idempotent). Call before importing heavy libraries.

    Also removes the proxy variables from ``os.environ`` and switches native telemetry off there
    (children inherit the cleaned environment), and adds the endpoints listed in
    ``SATCHEL_ALLOWED_ENDPOINTS`` to the allow-list.
    """
    global _installed
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.update(NATIVE_TELEMETRY_OFF)
    for key in _proxy_variables(list(os.environ)):
        del os.environ[key]
    with _lock:
        _endpoints.update(_parse_endpoints(os.environ.get(ENV_ALLOWED_ENDPOINTS, "")))
        if not _installed:
            _guard_socket_methods()
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
