"""The four modes answered by a remote OpenAI-compatible server: Satchel's own ``serve``.

The server is a real child process holding the bundled model; this process keeps the index and
the prompts and talks to it through :class:`engine.llm_remote.RemoteRuntime`. The reference is
the in-process model: same prompt, temperature 0, the same answer.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket

import pytest

from engine.answer import Assistant
from engine.errors import SatchelError
from engine.llm import Runtime
from engine.llm_remote import MessagePrompt, RemoteRuntime, estimate_tokens
from engine.samples import CORPUS_DIR
from engine.settings import Settings
from tests.helpers_serve import Server, satchel

pytestmark = pytest.mark.slow

QUESTION = "What colour is the sky on a clear day?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("llm-server"), "--mode", "base")
    yield srv
    srv.stop()


def remote_settings(server: Server, **kw) -> Settings:
    return Settings(llm_url=f"{server.url}/v1", **kw)


def test_base_mode_through_the_server_equals_the_in_process_model(server):
    remote = Assistant(remote_settings(server, n_ctx=4096))
    answer = remote.ask(QUESTION, "base", temperature=0.0, max_tokens=40).consume()
    assert answer.error is None and answer.text
    assert remote.runtime.remote and remote.runtime.n_ctx == 2048  # the server's, not 4096
    assert answer.model == remote.runtime.info.name and "smollm2" in answer.model.lower()
    assert answer.timings.completion_tokens > 0 and answer.timings.ttft_ms > 0
    local = Assistant(Settings(), runtime=Runtime())
    try:
        expected = local.ask(QUESTION, "base", temperature=0.0, max_tokens=40).consume()
    finally:
        local.runtime.unload()
    assert answer.text == expected.text


def test_rag_mode_retrieves_here_and_answers_there(server, tmp_path):
    from engine.indexer import index_paths

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS_DIR / "annual_report_2025.pdf", docs)
    shutil.copy(CORPUS_DIR / "wildlife_log_2025.txt", docs)
    index_paths([docs], "station", settings=Settings())
    remote = Assistant(remote_settings(server))
    stream = remote.ask("Who is the station director of Halcyon Reach?", "rag",
                        collection="station", temperature=0.0, max_tokens=48)
    pieces = list(stream)
    answer = stream.answer
    assert answer.error is None and "".join(pieces).strip() == answer.text and answer.text
    assert answer.sources and answer.sources[0].path.endswith("annual_report_2025.pdf")


def test_adapter_modes_say_the_server_must_load_the_adapter(server):
    remote = Assistant(remote_settings(server))
    with pytest.raises(SatchelError, match="--lora"):
        remote.ask(QUESTION, "adapter", adapter="anything")
    results = remote.compare(QUESTION, modes=("base", "adapter"), temperature=0.0)
    assert results[0].text and "--lora" in (results[1].error or "")


def test_stop_closes_the_answer_at_the_next_piece(server):
    remote = Assistant(remote_settings(server))
    stream = remote.ask("Write a very long story about a lighthouse keeper.", "base",
                        temperature=0.0, max_tokens=300)
    for n, _piece in enumerate(stream, start=1):
        if n == 3:
            stream.stop()
    assert stream.answer.stopped and stream.answer.timings.completion_tokens == 3


def test_a_server_that_dies_mid_answer_is_a_clear_error_and_the_app_keeps_working(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "a").mkdir()
    first = Server(tmp_path / "a", "--mode", "base", port=port)
    remote = Assistant(remote_settings(first))
    stream = remote.ask("Write a very long story about a lighthouse keeper.", "base",
                        temperature=0.0, max_tokens=400)
    for n, _piece in enumerate(stream, start=1):
        if n == 2:
            first.proc.send_signal(signal.SIGKILL)
    answer = stream.answer
    assert answer.error and "closed the connection" in answer.error
    assert len(answer.error.splitlines()) == 1
    again = remote.ask(QUESTION, "base", max_tokens=8).consume()  # the server is gone
    assert "cannot reach the LLM server" in (again.error or "")
    first.stop()
    (tmp_path / "b").mkdir()
    second = Server(tmp_path / "b", "--mode", "base", port=port)  # back on the same address
    try:
        answer = remote.ask(QUESTION, "base", temperature=0.0, max_tokens=16).consume()
        assert answer.error is None and answer.text
    finally:
        second.stop()


def test_unreachable_or_wrong_servers_are_one_line_errors(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here once the socket closes
    from engine import netguard

    netguard.allow_endpoint("127.0.0.1", port)
    runtime = RemoteRuntime(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(SatchelError, match="cannot reach the LLM server"):
        runtime.load()
    with pytest.raises(SatchelError, match="not an http"):
        RemoteRuntime("ftp://example/v1")


def test_cli_answers_through_the_server(server, tmp_path):
    out = satchel("--llm-url", f"{server.url}/v1", "ask", QUESTION, "--mode", "base",
                  "--json", home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["answer"]
    out = satchel("--llm-url", f"{server.url}/v1", "ask", QUESTION, "--mode", "adapter",
                  "--adapter", "x", home=tmp_path)
    assert out.returncode == 2 and "--lora" in out.stderr and "Traceback" not in out.stderr


def test_prompt_estimates_err_on_the_long_side():
    text = "The station director chaired the June council meeting in the mess hall."
    assert estimate_tokens(text) >= len(text) // 4
    prompt = MessagePrompt([{"role": "user", "content": text}])
    assert len(prompt) > estimate_tokens(text) and prompt.messages[0]["content"] == text
