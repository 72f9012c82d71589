"""Settings' "Local API" box: is `satchel serve` running, where, and a button to start or stop it.

Why a separate process: the server must outlive nothing and block nothing. It is the same
``satchel serve`` a user runs in a terminal, so the window needs no web stack; whichever way it
was started, the server records itself in ``server.json`` under the data dir, and this box reads
that file (a tiny JSON read) every couple of seconds while it is visible. A server this window
started is stopped when the window closes; one started from a terminal is left alone unless
the user presses Stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from engine import paths
from engine.serve import TOKEN_ENV
from engine.settings import Settings
from gui.widgets import form_group, hint, spin_box

REFRESH_MS = 1500


def serve_command(port: int) -> tuple[str, list[str]]:
    """Program and arguments that run ``satchel serve`` (the packaged binary, or main.py)."""
    args = ["--data-dir", str(paths.data_dir()), "serve", "--port", str(port)]
    if getattr(sys, "frozen", False):
        return sys.executable, args
    return sys.executable, [str(Path(__file__).resolve().parents[1] / "main.py"), *args]


class ServerPanel(QWidget):
    """Status line, port and token fields, Start/Stop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box, form = form_group("Local API (OpenAI-compatible)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        self.status = QLabel("Off")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.port = spin_box(1, 65535)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.token.setPlaceholderText("none (only programs on this computer can connect)")
        self.button = QPushButton("Start")
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.button)
        form.addRow("Server", row)
        form.addRow("Port", self.port)
        form.addRow("Token", self.token)
        form.addRow("", hint("Point an OpenAI client at the address (base_url) with model "
                             "'satchel-rag' to ask about your documents, 'satchel-base' for the "
                             "model alone. `satchel serve` starts it from a terminal."))
        self.process: QProcess | None = None
        self.state = None
        self.button.clicked.connect(self.toggle)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    # -- settings fields ----------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.port.setValue(settings.server_port or 8765)
        self.token.setText(settings.server_token)

    def apply(self, settings: Settings) -> None:
        settings.server_port = self.port.value()
        settings.server_token = self.token.text().strip()

    # -- state --------------------------------------------------------------------------------
    def showEvent(self, event: object) -> None:
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event: object) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def refresh(self) -> None:
        from engine.serve.server import read_state

        self.state = read_state()
        starting = self.process is not None and self.state is None
        if self.state is not None:
            s = self.state
            lock = "token required" if s.token_required else "no token"
            self.status.setText(f"● On at {s.url} ({lock}; mode {s.mode}, collection "
                                f"{s.collection})")
            self.button.setText("Stop")
        elif starting:
            self.status.setText("Starting (loading the model)…")
            self.button.setText("Stop")
        else:
            self.status.setText("Off")
            self.button.setText("Start")

    def toggle(self) -> None:
        if self.state is not None or self.process is not None:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        program, args = serve_command(self.port.value())
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        token = self.token.text().strip()
        if token:
            env.insert(TOKEN_ENV, token)  # not on the command line, where `ps` shows it
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.finished.connect(lambda *_: self._ended(process))
        self.process = process
        process.start(program, args)
        self.refresh()

    def _ended(self, process: QProcess) -> None:
        if self.process is process:
            output = bytes(process.readAll().data()).decode("utf-8", "replace").strip()
            self.process = None
            self.refresh()
            errors = [line for line in output.splitlines() if line.startswith("satchel: error")]
            if errors:
                self.status.setText(f"Off: {errors[-1].removeprefix('satchel: error: ')}")

    def stop(self) -> None:
        """Stop the server: ours through QProcess, another one by its recorded pid."""
        if self.process is not None:
            self.process.terminate()  # SIGTERM: the server shuts down and removes server.json
        elif self.state is not None:
            with contextlib.suppress(OSError):  # it ended meanwhile
                os.kill(self.state.pid, signal.SIGTERM)
        self.status.setText("Stopping…")

    def shutdown(self) -> None:
        """The window is closing: stop a server it started and wait for it briefly."""
        self.timer.stop()
        process, self.process = self.process, None
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
            process.terminate()
            if not process.waitForFinished(10_000):
                process.kill()
                process.waitForFinished(2_000)
