"""``satchel serve`` driven by the real ``openai`` client against a real server process.

One server (bundled model, a small indexed collection, a token) is started per module on a free
port, as a user would start it; every test talks to it over HTTP. The engine's own answers and
vectors, computed in this process, are the reference.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import numpy as np
import openai
import pytest

from engine.samples import CORPUS_DIR
from tests.helpers_serve import Server, satchel

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-token-42"
QUESTION = "Who is the station director of Halcyon Reach?"
FILES = ("annual_report_2025.pdf", "wildlife_log_2025.txt", "data_management.md")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve-home")
    docs = home / "docs"
    docs.mkdir()
    for name in FILES:
        shutil.copy(CORPUS_DIR / name, docs / name)
    out = satchel("index", str(docs), "--collection", "station", home=home)
    assert out.returncode == 0, out.stderr
    srv = Server(home, "--collection", "station", "--token", TOKEN, token=TOKEN)
    yield srv
    code = srv.stop()
    assert code == 0, srv.output()
    assert not (home / "server.json").exists()  # the state file goes with the server


def wait_idle(server: Server, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = server.health()
        if not health["busy"] and health["queued"] == 0:
            return health
        assert time.monotonic() < deadline, health
        time.sleep(0.05)


def test_models_list_names_the_model_each_mode_and_the_embedder(server):
    ids = [m.id for m in server.client().models.list().data]
    for mode in ("base", "rag", "adapter", "rag+adapter"):
        assert f"satchel-{mode}" in ids
    assert "satchel" in ids and "satchel-embedding" in ids
    assert any("smollm2" in i.lower() for i in ids)  # the loaded model under its own name
    assert server.client().models.retrieve("satchel-rag").id == "satchel-rag"


def test_rag_answer_with_sources_streamed_and_not(server):
    client = server.client()
    kwargs = dict(model="satchel-rag", messages=[{"role": "user", "content": QUESTION}],
                  temperature=0)
    full = client.chat.completions.create(**kwargs)
    text = full.choices[0].message.content
    sources = full.model_extra["sources"]
    assert sources and sources[0]["n"] == 1
    assert any(s["path"].endswith("annual_report_2025.pdf") for s in sources)
    assert full.usage.completion_tokens > 0 and full.usage.prompt_tokens > 20
    assert full.model_extra["satchel"]["mode"] == "rag"
    assert full.choices[0].finish_reason in ("stop", "length")
    # the same answer and passages as `satchel ask` gives in its own process
    out = satchel("ask", QUESTION, "--collection", "station", "--temperature", "0", "--json",
                  home=server.home)
    assert out.returncode == 0, out.stderr
    local = json.loads(out.stdout)
    assert text == local["answer"]
    assert [(s["path"], s["page"], s["text"]) for s in sources] == \
        [(s["path"], s["page"], s["text"]) for s in local["sources"]]

    chunks = list(client.chat.completions.create(
        **kwargs, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].model_extra["sources"] == sources
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # Same prompt, temperature 0: the same answer as a plain request from the same cache state.
    # (Not the cold one above: the prompt prefix now comes from llama.cpp's cache, computed in
    # another batch shape, and float sums in another order can flip a near tie.)
    again = client.chat.completions.create(**kwargs)
    assert again.model_extra["sources"] == sources
    assert streamed.strip() == again.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == \
        again.usage.completion_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == \
        again.choices[0].finish_reason


def test_base_mode_streams_without_sources(server):
    client = server.client()
    messages = [{"role": "system", "content": "Reply in one short sentence."},
                {"role": "user", "content": "What colour is the sky on a clear day?"}]
    full = client.chat.completions.create(model="satchel-base", messages=messages,
                                          temperature=0, max_tokens=24)
    assert full.choices[0].message.content.strip()
    assert full.model_extra["sources"] == []
    chunks = list(client.chat.completions.create(model="satchel-base", messages=messages,
                                                 temperature=0, max_tokens=24, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip() == \
        full.choices[0].message.content
    assert chunks[0].model_extra["sources"] == []


def test_max_tokens_and_stop_strings(server):
    client = server.client()
    messages = [{"role": "user", "content": "Count from one to twenty in words."}]
    short = client.chat.completions.create(model="satchel-base", messages=messages,
                                           temperature=0, max_tokens=3)
    assert short.usage.completion_tokens <= 3 and short.choices[0].finish_reason == "length"
    free = client.chat.completions.create(model="satchel-base", messages=messages,
                                          temperature=0, max_tokens=40).choices[0].message.content
    words = free.split()
    assert len(words) >= 4, free
    stop = f" {words[3]}"  # the answer ends just before its fourth word
    cut = client.chat.completions.create(model="satchel-base", messages=messages,
                                         temperature=0, max_tokens=40, stop=[stop, "@@"])
    text = cut.choices[0].message.content
    assert text == free[:free.index(stop)].strip()
    assert cut.choices[0].finish_reason == "stop"


def test_mode_by_extra_field_and_seeded_sampling(server):
    client = server.client()
    kwargs = dict(model="satchel", messages=[{"role": "user", "content": QUESTION}],
                  temperature=0.9, seed=7, max_tokens=24, extra_body={"mode": "base"})
    a = client.chat.completions.create(**kwargs)
    b = client.chat.completions.create(**kwargs)
    assert a.model_extra["satchel"]["mode"] == "base" and a.model_extra["sources"] == []
    assert a.choices[0].message.content == b.choices[0].message.content


def test_embeddings_equal_the_engines(server):
    from engine.embed import get_embedder

    texts = ["Where is buoy HRB-09 moored?", "The winter crew had 27 people."]
    expected = get_embedder().encode(texts)
    client = server.client()
    for fmt in ("float", "base64"):
        out = client.embeddings.create(model="satchel-embedding", input=texts,
                                       encoding_format=fmt)
        if fmt == "float":
            got = np.array([d.embedding for d in out.data], dtype=np.float32)
        else:  # the client hands base64 through as a string
            import base64
            got = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4")
                            for d in out.data])
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert out.usage.prompt_tokens > len(texts)
    single = client.embeddings.create(model="satchel-embedding", input=texts[0],
                                      encoding_format="float")
    np.testing.assert_allclose(single.data[0].embedding, expected[0], atol=1e-5)


def test_a_wrong_or_missing_token_is_refused(server):
    with pytest.raises(openai.AuthenticationError) as err:
        server.client(token="wrong").models.list()
    assert err.value.status_code == 401
    assert err.value.body["code"] == "invalid_api_key"
    response = httpx.post(f"{server.url}/v1/chat/completions", timeout=10,
                          json={"model": "satchel-base",
                                "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 401 and "error" in response.json()


def test_a_disconnect_mid_stream_stops_the_generation(server):
    wait_idle(server)
    before = server.health()
    stream = server.client().chat.completions.create(
        model="satchel-base", temperature=0, max_tokens=400, stream=True,
        messages=[{"role": "user", "content": "Write a very long story about a lighthouse "
                   "keeper, with many chapters."}])
    received = 0
    for chunk in stream:
        received += bool(chunk.choices and chunk.choices[0].delta.content)
        if received >= 3:
            break
    stream.close()  # the client goes away mid-answer
    after = wait_idle(server, timeout=10)  # 400 tokens would take far longer than this
    assert after["stopped_mid_answer"] == before["stopped_mid_answer"] + 1, after
    assert after["completed"] == before["completed"]


def openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and error["type"]
    return error


def test_bad_requests_get_openai_errors(server):
    client = server.client()
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                   "content": "hi"}])
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(model="satchel-base", temperature=5,
                                       messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError):  # an empty collection cannot be searched
        client.chat.completions.create(model="satchel-rag", extra_body={"collection": "none"},
                                       messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="satchel-base", messages=[
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="satchel-adapter:nope",
                                       messages=[{"role": "user", "content": "hi"}])
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{server.url}/v1/chat/completions"
    openai_error(httpx.post(url, headers={**headers, "Content-Type": "application/json"},
                            content=b"{not json", timeout=10), 400)
    openai_error(httpx.post(url, headers=headers, content=b"plain text", timeout=10), 400)
    missing = httpx.post(f"{server.url}/v1/chat/completions", headers=headers, timeout=10,
                         json={"model": "satchel-base"})
    assert openai_error(missing, 422)["param"] == "messages"
    two = httpx.post(f"{server.url}/v1/chat/completions", headers=headers, timeout=10,
                     json={"model": "satchel-base", "n": 2,
                           "messages": [{"role": "user", "content": "hi"}]})
    assert openai_error(two, 400)["param"] == "n"
    openai_error(httpx.get(f"{server.url}/v1/nowhere", headers=headers, timeout=10), 404)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="satchel-embedding", input="", encoding_format="float")
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert server.health()["status"] == "ok"  # and the server is still serving


def test_twenty_concurrent_requests_all_complete(server):
    wait_idle(server)
    before = server.health()["completed"]
    client = server.client(http_client=httpx.Client(limits=httpx.Limits(max_connections=32),
                                                    timeout=300))

    def ask(i: int) -> str:
        out = client.chat.completions.create(
            model="satchel-base", temperature=0, max_tokens=6,
            messages=[{"role": "user", "content": f"Say the number {i}."}])
        return out.choices[0].message.content

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(ask, range(20)))
    client.close()
    assert len(answers) == 20 and all(isinstance(a, str) for a in answers)
    assert server.health()["completed"] == before + 20


def test_refuses_to_listen_beyond_loopback_without_consent(tmp_path):
    out = satchel("serve", "--host", "0.0.0.0", "--port", "0", home=tmp_path)
    assert out.returncode == 2 and "--allow-remote" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) <= 2
    out = satchel("serve", "--host", "0.0.0.0", "--allow-remote", home=tmp_path)
    assert out.returncode == 2 and "token" in out.stderr
    assert not (tmp_path / "server.json").exists()


def test_a_busy_port_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        out = satchel("serve", "--port", str(port), home=tmp_path)
    assert out.returncode == 2 and "in use" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_state_file_tells_the_window_where_the_server_is(server):
    from engine import paths
    from engine.serve.server import read_state

    paths.set_data_dir(server.home)
    try:
        state = read_state()
    finally:
        paths.set_data_dir(None)
    assert state is not None and state.port == server.port and state.token_required
    assert state.url == f"http://127.0.0.1:{server.port}/v1"
