"""Running the API: where it may listen, the state file the window reads, uvicorn.

Loopback only unless the user says otherwise: the API answers from the user's private
documents, so listening on a network address is refused unless ``--allow-remote`` is given, and
then only with a token (anyone on the network could read the documents otherwise).

The socket is bound here, before uvicorn starts, so port 0 (any free port) works and the real
address is known to print and to record in ``server.json`` under the data dir, which the
window's settings read to show whether the server is on and where.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from engine import paths
from engine.errors import SatchelError
from engine.serve.service import ServeConfig, Service
from engine.settings import Settings

STATE_FILE = "server.json"
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


@dataclass(frozen=True)
class ServerState:
    """A running server as recorded in ``server.json``."""

    pid: int
    host: str
    port: int
    url: str
    token_required: bool
    mode: str
    collection: str | None
    started: float


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(config: ServeConfig) -> None:
    """Refuse a listening address that would expose the documents without the user's consent."""
    if not 0 <= config.port <= 65535:
        raise SatchelError(f"port {config.port} is out of range (0-65535; 0 picks a free one)")
    if is_loopback(config.host):
        return
    if not config.allow_remote:
        raise SatchelError(f"refusing to listen on {config.host}: only loopback (127.0.0.1, "
                           "::1) unless you pass --allow-remote, which lets other machines "
                           "read your documents")
    if not config.token:
        raise SatchelError(f"listening on {config.host} needs a token (--token or the "
                           "server_token setting): anyone on the network could read your "
                           "documents otherwise")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a one-line SatchelError when that is impossible."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SatchelError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "it is in use" if exc.errno == 98 else (exc.strerror or str(exc))
        raise SatchelError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


def state_path() -> Path:
    return paths.data_dir() / STATE_FILE


def write_state(state: ServerState) -> None:
    paths.atomic_write_text(state_path(), json.dumps(asdict(state), indent=2) + "\n")


def clear_state(pid: int) -> None:
    """Remove ``server.json`` if it is this process's (another server may have started since)."""
    current = read_state(check_alive=False)
    if current is not None and current.pid == pid:
        state_path().unlink(missing_ok=True)


def read_state(*, check_alive: bool = True) -> ServerState | None:
    """The running server, or None (no file, a damaged file, or its process is gone)."""
    try:
        raw = json.loads(state_path().read_text(encoding="utf-8"))
        state = ServerState(**raw)
    except (OSError, ValueError, TypeError):
        return None
    if check_alive and not _alive(state):
        return None
    return state


def _alive(state: ServerState) -> bool:
    """The recorded server still runs: its pid exists and is not a later process that reused
    the pid of a server killed without removing its file (one started after the record)."""
    import psutil

    try:
        proc = psutil.Process(state.pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() <= state.started + 1
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # exists but cannot be inspected (another user's): trust the record
        return True


class _Terminated(Exception):
    """SIGTERM, re-raised by uvicorn after its graceful shutdown."""


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the server normally (exit 0, state file removed).

    uvicorn shuts down gracefully on both, then raises the signal again with the handler that
    was installed before it ran, so the process ends "by the signal". With the default SIGTERM
    handler that kills the process on the spot, before any ``finally`` could remove
    ``server.json``; so SIGTERM gets a handler that raises, and both are caught here.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(_signum: int, _frame: object) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(settings: Settings, config: ServeConfig,
          ready: Callable[[ServerState], None] | None = None) -> None:
    """Warm the model, listen, record the state, serve until interrupted (Ctrl-C, SIGTERM)."""
    check_bind(config)
    import uvicorn

    from engine.serve.app import create_app

    service = Service(settings, config)
    sock = bind_socket(config.host, config.port)
    try:
        service.warm_up()
        host, port = sock.getsockname()[:2]
        state = ServerState(pid=os.getpid(), host=host, port=port, url=url_of(host, port),
                            token_required=bool(config.token), mode=config.mode,
                            collection=config.collection or settings.default_collection,
                            started=time.time())
        app = create_app(service)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                               timeout_graceful_shutdown=2, lifespan="off"))
        write_state(state)
        if ready is not None:
            ready(state)
        with _stop_on_signals():
            server.run(sockets=[sock])
    finally:
        service.close()
        sock.close()
        clear_state(os.getpid())
