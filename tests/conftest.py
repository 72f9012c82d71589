"""Suite-wide guards: isolated data dir, no network, no leaked threads, offscreen Qt.

Every test gets its own SATCHEL_HOME under tmp_path, so nothing touches the user's data and tests
never see each other's indexes. The network guard is the product's own (engine.netguard): a test
that makes Satchel or a library it calls reach outside loopback fails, even if the library
swallowed the error. A test that leaves a thread running fails too: leaked workers are how
"closing the window cancels work cleanly" breaks without anyone noticing.
"""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The embedder's ONNX export (~20 s) is made once for the whole suite, not in each test's data dir;
# the cache key follows the model files, so a kept folder is never stale.
os.environ.setdefault("SATCHEL_ONNX_CACHE", os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), ".pytest_cache", "satchel-onnx"))
# Likewise the chat model's Q8_0 copy (engine.llm_weights), keyed by the model file.
os.environ.setdefault("SATCHEL_WEIGHTS_CACHE", os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), ".pytest_cache", "satchel-weights"))

from engine import netguard

netguard.install()

import pytest  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

# CI must be repeatable: the same examples every run (explore more locally with --hypothesis-seed).
hypothesis_settings.register_profile("satchel", derandomize=True, deadline=None)
hypothesis_settings.load_profile("satchel")

from engine import paths  # noqa: E402


@pytest.fixture(autouse=True)
def satchel_home(tmp_path, monkeypatch):
    """Point SATCHEL_HOME at a fresh folder for this test; yields that folder."""
    home = tmp_path / "satchel-home"
    monkeypatch.setenv(paths.ENV_HOME, str(home))
    paths.set_data_dir(None)
    yield home
    paths.set_data_dir(None)


@pytest.fixture(autouse=True)
def no_network(request):
    """Fail the test if anything tried to reach a non-loopback address during it."""
    before = len(netguard.blocked_attempts)
    yield
    attempts = netguard.blocked_attempts[before:]
    del netguard.blocked_attempts[before:]
    if attempts and "allow_network_block" not in request.fixturenames:
        pytest.fail(f"test attempted network access: {attempts}")


@pytest.fixture
def allow_network_block():
    """For tests that deliberately provoke the network guard."""
    return None


#: Process-wide singletons libraries start once and keep by design (not per-test leaks).
LIBRARY_SINGLETON_THREADS = {"LanceDBBackgroundEventLoop"}


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail the test if it leaves a Python thread running (after a short grace period)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()
                  and t.name not in LIBRARY_SINGLETON_THREADS]
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"test left threads running: {[t.name for t in leaked]}")
