"""Settings' Local API box: it shows whether a server runs and where, and starts/stops one."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from engine import paths

pytest_plugins = ("tests.gui_fixtures",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_box_shows_a_server_recorded_in_the_data_dir(make_window):
    window = make_window()
    window.show_screen("Settings")
    panel = window.settings_screen.server
    panel.refresh()
    assert panel.status.text() == "Off" and panel.button.text() == "Start"
    state = {"pid": os.getpid(), "host": "127.0.0.1", "port": 8811,
             "url": "http://127.0.0.1:8811/v1", "token_required": True, "mode": "rag",
             "collection": "notes", "started": time.time()}
    (paths.data_dir() / "server.json").write_text(json.dumps(state))
    panel.refresh()
    assert "http://127.0.0.1:8811/v1" in panel.status.text()
    assert "token required" in panel.status.text() and panel.button.text() == "Stop"
    state["started"] = time.time() - 10 ** 7  # this pid is a later process: the server is off
    (paths.data_dir() / "server.json").write_text(json.dumps(state))
    panel.refresh()
    assert panel.status.text() == "Off"
    state["pid"], state["started"] = 2 ** 22 + 12345, time.time()  # a process that is gone
    (paths.data_dir() / "server.json").write_text(json.dumps(state))
    panel.refresh()
    assert panel.status.text() == "Off"


def test_port_and_token_are_settings(make_window):
    from engine import settings as settings_io

    window = make_window()
    window.show_screen("Settings")
    screen = window.settings_screen
    screen.server.port.setValue(9123)
    screen.server.token.setText(" s3cret ")
    screen.save()
    saved, _ = settings_io.load()
    assert saved.server_port == 9123 and saved.server_token == "s3cret"


@pytest.mark.slow
def test_start_and_stop_a_real_server_from_the_window(make_window, qtbot):
    from engine.serve.server import read_state

    window = make_window()
    window.show_screen("Settings")
    panel = window.settings_screen.server
    port = free_port()
    panel.port.setValue(port)
    panel.button.click()
    qtbot.waitUntil(lambda: read_state() is not None, timeout=180_000)
    qtbot.waitUntil(lambda: f"127.0.0.1:{port}/v1" in panel.status.text(), timeout=10_000)
    assert read_state().port == port and not read_state().token_required
    panel.button.click()
    qtbot.waitUntil(lambda: panel.status.text() == "Off", timeout=30_000)
    assert read_state() is None and panel.process is None


@pytest.mark.slow
def test_closing_the_window_stops_the_server_it_started(make_window, qtbot):
    from engine.serve.server import read_state
    from tests.gui_fixtures import close_window

    window = make_window()
    window.show_screen("Settings")
    panel = window.settings_screen.server
    panel.port.setValue(free_port())
    panel.button.click()
    qtbot.waitUntil(lambda: read_state() is not None, timeout=180_000)
    pid = read_state().pid
    close_window(qtbot, window)
    assert read_state() is None  # it shut down cleanly and removed its record
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_remote_llm_and_object_storage_are_settings(make_window, qtbot):
    from engine import settings as settings_io

    window = make_window()
    window.show_screen("Settings")
    screen = window.settings_screen
    scale = screen.scale
    scale.llm_url.setText("http://gpu-box:8080/v1")
    scale.llm_model.setText("qwen")
    scale.index_uri.setText("s3://team/satchel")
    scale.storage["endpoint"].setText("http://127.0.0.1:9000")
    scale.storage["aws_secret_access_key"].setText("s3cret")
    scale.allow_http.setChecked(True)
    screen.save()
    saved, _ = settings_io.load()
    assert saved.llm_url == "http://gpu-box:8080/v1" and saved.llm_model == "qwen"
    assert saved.index_uri == "s3://team/satchel"
    assert saved.storage_options == {"endpoint": "http://127.0.0.1:9000",
                                     "aws_secret_access_key": "s3cret", "allow_http": "true"}
    scale.llm_url.setText("gpu-box")  # not an address: refused with the reason, nothing saved
    with qtbot.waitSignal(window.messages.shown) as shown:
        screen.save_button.click()
    assert shown.args[0] == "error" and "not an address" in shown.args[1]
    assert settings_io.load()[0].llm_url == "http://gpu-box:8080/v1"
