"""Connect to Ray the way Satchel needs it: offline, quiet, and leaving nothing behind.

:func:`ray_session` is ``ray.init`` ... ``ray.shutdown`` for a remote cluster (``address``, else
``RAY_ADDRESS``) or a local one. Satchel's network guard (:mod:`engine.netguard`) and why this
configuration is honest (checked with ``strace -f -e connect,sendto`` over a whole local indexing
run with Ray 2.60: every TCP/UDP connection of every process went to a loopback address; check
again when Ray's pin moves):

- A local cluster listens on 127.0.0.1 only. Ray turns ``_node_ip_address="127.0.0.1"`` into the
  machine's routable address unless ``ray_constants.ENABLE_RAY_CLUSTER`` is false (what Ray does
  on macOS and Windows; ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), so both are set for the start:
  GCS, raylet, object manager and workers then bind loopback, nothing is reachable from the LAN,
  and Ray's native route probe towards 8.8.8.8 (to pick a node address) is skipped.
- No dashboard process at all: with ``include_dashboard=False`` Ray 2.60 still starts one for its
  usage-statistics module, which asks cloud metadata services where it runs (HTTP to
  169.254.169.254, a DNS lookup of metadata.google.internal) even with ``RAY_USAGE_STATS_ENABLED
  =0`` (also set). :func:`_no_api_server` replaces Ray's starter for the local start; Ray
  handles "no dashboard process" as it handles a failed dashboard start.
- Ray's own connections (driver to GCS, raylet, object store; worker to worker) are made by its
  C++ core, not Python's ``socket`` module, so the guard's audit hook never sees them: allowing
  Ray's ports with ``netguard.allow_endpoint`` would change nothing, so it is not done. The one
  Python connection Satchel makes is its reachability check of a remote cluster's address, which
  the user gave on purpose: that address is allow-listed.
- Ray's workers are started by the raylet, not through ``main.py``, so they would run unguarded;
  ``runtime_env={"worker_process_setup_hook": "engine.netguard.install"}`` installs the guard in
  every worker before it runs Satchel code (loaders, tokenizer, embedder), as offline as in the
  desktop app; the parse children install it themselves. Ray's other Python processes (autoscaler
  monitor, log monitor, agents) run Ray's code only and are not guarded: the strace check above
  is what vouches for them.
- A local cluster authenticates with a random token made per process and passed through the
  environment (``RAY_AUTH_TOKEN``; Ray turns token auth on for a new local cluster) instead of
  Ray writing ``~/.ray/auth_token``; its session files live in a private temporary folder,
  removed once the session's processes have exited. ``log_to_driver=False`` keeps worker output
  off stdout (``--json`` prints only the summary); errors still reach the driver as exceptions.

Nothing outlives a local session: after ``ray.shutdown()`` every process the session started
(found by an environment marker, :class:`_LocalSession`) is waited for, and killed if it lingers.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import secrets
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

from engine.errors import SatchelError

INSTALL_HINT = "pip install 'satchel[scale]'"
#: Seconds to wait for a remote cluster's address to answer (Ray itself retries for minutes).
CONNECT_TIMEOUT_S = 10.0
_TOKEN = secrets.token_hex(32)
#: Set for a local session (Ray itself sets the mode), restored after it.
_AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")
#: Marks every process of a local session (value: the session's random id), to clean up after.
SESSION_ENV = "SATCHEL_RAY_SESSION"


class RayUnavailable(SatchelError):
    """``--engine ray`` without Ray installed (a user error: one line, with the fix)."""


def require_ray() -> None:
    """Raise :class:`RayUnavailable` unless Ray Data can be imported (checked before a run)."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RayUnavailable(f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}")
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise RayUnavailable(f"--engine ray needs Ray Data ({exc}): {INSTALL_HINT}") from None


def first_line(exc: BaseException) -> str:
    """An exception as one short line (Ray's messages run to pages)."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray connected as the module docstring explains (yields the ``ray`` module); shut down
    after. Reuses a session already up in this process (a test module's, a benchmark's) and
    leaves it up. ``address`` None: ``RAY_ADDRESS`` if set, else a local cluster of
    ``num_cpus`` CPUs (default: all of them).
    """
    require_ray()
    import ray

    if ray.is_initialized():
        with _quiet_ray_data():
            yield ray
        return
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address == "local":
        address = None
    common: dict[str, Any] = {
        "include_dashboard": False, "log_to_driver": False, "logging_level": "error",
        "runtime_env": {"worker_process_setup_hook": "engine.netguard.install"}}
    ray_logger = logging.getLogger("ray")
    level = ray_logger.level
    ray_logger.setLevel(logging.ERROR)  # start-up notes and warnings are Ray's, not the user's
    saved_env = {k: os.environ.get(k) for k in _AUTH_ENV}
    local: _LocalSession | None = None
    try:
        with _no_fork_warning():
            if address:
                _init_remote(ray, address, common)
            else:
                local = _LocalSession()
                _init_local(ray, num_cpus or os.cpu_count() or 1, local, common)
        with _quiet_ray_data():
            yield ray
    finally:
        with _no_fork_warning():
            ray.shutdown()
        ray_logger.setLevel(level)
        if local is not None:
            local.close()
            for key, value in saved_env.items():  # the token was for this session only
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class _LocalSession:
    """What a local cluster leaves on this machine, and taking it away again.

    Every process of the session (GCS, raylet, monitors, agents, workers, their parse children)
    inherits :data:`SESSION_ENV` with this session's random value, so :meth:`close` finds them
    all even after reparenting, waits for them to exit after ``ray.shutdown()`` and kills any
    that linger (a Ctrl-C that reached them while they started has left agents running), then
    removes the session folder. Also registered with ``atexit``, for a process that exits while
    its session is still up.
    """

    def __init__(self) -> None:
        self.marker = secrets.token_hex(8)
        self.temp_dir = tempfile.mkdtemp(prefix="satchel-ray-")
        atexit.register(self.close)

    def close(self, timeout_s: float = 10.0) -> None:
        import psutil

        atexit.unregister(self.close)
        procs = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.pid != os.getpid() and proc.environ().get(SESSION_ENV) == self.marker:
                    procs.append(proc)
        _, alive = psutil.wait_procs(procs, timeout=timeout_s)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _init_remote(ray: Any, address: str, common: dict[str, Any]) -> None:
    """Connect to an existing cluster, after checking that its address answers at all (Ray
    retries an unreachable address for minutes, printing warnings)."""
    from engine import netguard

    host, port = _host_port(address)
    if host is not None and port is not None:
        try:
            netguard.allow_endpoint(host, port)  # the user named this cluster on purpose
        except ValueError:
            raise SatchelError(f"not a Ray cluster address: {address!r} (e.g. 10.0.0.5:6379)"
                               ) from None
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise SatchelError(f"cannot reach the Ray cluster at {address}: "
                               f"{exc.strerror or first_line(exc)}") from None
    try:
        ray.init(address=address, **common)
    except Exception as exc:  # wrong cluster, version mismatch, auth: one line, no traceback
        raise SatchelError(f"cannot connect to the Ray cluster at {address}: "
                           f"{first_line(exc)}") from None


def _host_port(address: str) -> tuple[str | None, int | None]:
    """(host, port) of ``host:port``, ``[v6]:port`` or ``ray://host:port``; (None, None) for
    addresses Ray resolves itself ("auto")."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rstrip("/").rpartition(":")
    if not sep or not port.isdigit():
        return None, None
    return host.strip("[]") or None, int(port)


def _init_local(ray: Any, num_cpus: int, session: _LocalSession, common: dict[str, Any]) -> None:
    """A local cluster on loopback only, with a per-process token and private session files."""
    from ray._private import ray_constants, services

    if not any(k in os.environ for k in (*_AUTH_ENV, "RAY_AUTH_TOKEN_PATH")):
        os.environ["RAY_AUTH_TOKEN"] = _TOKEN  # children inherit it; no ~/.ray/auth_token
    # for the processes Ray starts now (they pass both on to the workers they start later)
    env = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", SESSION_ENV: session.marker}
    before_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    before_flag = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # read by get_node_ip_address(): loopback
    start_api_server = services.start_api_server
    services.start_api_server = _no_api_server
    try:
        ray.init(address="local", num_cpus=num_cpus, _node_ip_address="127.0.0.1",
                 _temp_dir=session.temp_dir, **common)
    finally:
        services.start_api_server = start_api_server
        ray_constants.ENABLE_RAY_CLUSTER = before_flag
        for key, value in before_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _no_api_server(*_args: Any, **_kwargs: Any) -> tuple[str, None]:
    """Stands in for ``ray._private.services.start_api_server`` during a local start: no
    dashboard process, so no cloud-metadata probe (module docstring)."""
    return "", None


@contextlib.contextmanager
def _no_fork_warning() -> Iterator[None]:
    """Ray starts and stops its processes with fork+exec; the child execs at once and never
    runs LanceDB's runtime, which is what lancedb's at-fork warning is about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "lancedb fork support", RuntimeWarning)
        yield


@contextlib.contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """No progress bars, banners or INFO lines from Ray Data on stderr: the CLI draws its own bar
    and prints one-line errors; Ray Data's failures still arrive as exceptions."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    before = ctx.enable_progress_bars, ctx.print_on_execution_start
    ctx.enable_progress_bars = ctx.print_on_execution_start = False
    data_logger = logging.getLogger("ray.data")
    level = data_logger.level
    data_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        data_logger.setLevel(level)
        ctx.enable_progress_bars, ctx.print_on_execution_start = before
