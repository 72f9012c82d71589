"""A real ``satchel serve`` child process for tests (the API and the remote-LLM runtime)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import openai

from engine import netguard

ROOT = Path(__file__).resolve().parents[1]


def satchel(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "main.py", "--data-dir", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


class Server:
    """A ``satchel serve`` child process and what it wrote to ``server.json``."""

    def __init__(self, home: Path, *args: str, token: str = "unused", port: int = 0) -> None:
        self.home = home
        self.token = token
        self.log = (home / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "--data-dir", str(home), "serve", "--port", str(port),
             *args],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 180
        state = home / "server.json"
        while not state.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server did not start:\n{self.output()}")
            time.sleep(0.1)
        self.state = json.loads(state.read_text())
        self.port = int(self.state["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        netguard.allow_endpoint("127.0.0.1", self.port)

    def client(self, token: str | None = None, **kw) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=token or self.token,
                             max_retries=0, **kw)

    def health(self) -> dict:
        return httpx2.get(f"{self.url}/health", timeout=10).json()

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.home / "serve.log").read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode
