"""A runtime that answers through an OpenAI-compatible server instead of the in-process model.

Why: a team can run one bigger model on one strong machine (llama-server, vLLM, another
Satchel's ``satchel serve``) and keep everything else (the index, retrieval, prompts, citations,
evaluation) in the app. :class:`RemoteRuntime` has the surface :class:`engine.answer.Assistant`
uses of :class:`engine.llm.Runtime`, so the four modes, compare and eval work unchanged:

- The server owns the tokenizer, so token counts here are estimates (UTF-8 bytes / 3.2, plus a
  few per message: generous for English text, which runs about 4 bytes a token). They only
  size passages to the context; the server still reports the real counts in ``usage``.
- ``render`` returns a :class:`MessagePrompt`: a list whose length is that estimate (what
  :func:`engine.prompt.fit` measures) and which carries the chat messages the server receives;
  ``generate`` sends those messages, never token ids.
- The context size comes from the server when it says (``context_length``, vLLM's
  ``max_model_len``, llama-server's ``meta.n_ctx_train`` or ``/props``), else the setting.
- Adapters are not sent anywhere: a remote server must load them itself (llama-server
  ``--lora FILE``), so the adapter modes are refused with that reason.
- Only the standard library talks HTTP here (``http.client``): no extra dependency in the
  desktop bundle, and streaming is plain line reading.

The network guard is opened for exactly the configured host and port, nothing else.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.llm import AdapterChoice, GenerationStats, LLMError, RuntimeState

#: Bytes of UTF-8 per token the estimate assumes (low on purpose: prompts are sized to fit).
BYTES_PER_TOKEN = 3.2
#: Tokens a chat template adds around each message (role markers, separators).
TOKENS_PER_MESSAGE = 6
CONNECT_TIMEOUT_S = 10.0
#: A CPU server may take long over a long prompt before its first token.
READ_TIMEOUT_S = 300.0

ADAPTERS_NEED_THE_SERVER = (
    "the adapter modes cannot use a remote LLM server: Satchel's adapters run in-process; load "
    "the adapter in the server itself (llama-server --lora FILE) and use mode rag or base, or "
    "clear the llm_url setting")


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


class MessagePrompt(list):
    """A prompt for a remote server: ``len()`` is its estimated token count, ``messages`` the
    chat messages it stands for (the list's items carry nothing)."""

    def __init__(self, messages: list[dict[str, str]]) -> None:
        self.messages = [dict(m) for m in messages]
        count = sum(estimate_tokens(m.get("content", "")) + TOKENS_PER_MESSAGE for m in messages)
        super().__init__([0] * (count + 2))


@dataclass
class RemoteInfo:
    """What :attr:`Runtime.info` gives callers: the served model's name, the server as path."""

    name: str
    path: str
    context_length: int | None = None


class RemoteRuntime:
    """Answers from an OpenAI-compatible server at ``url`` (e.g. ``http://host:8080/v1``)."""

    remote = True

    def __init__(self, url: str, api_key: str = "", model: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LLMError(f"llm_url {url!r} is not an http(s) address")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._api_key = api_key
        self._wanted_model = model
        self._lock = threading.Lock()
        self._info: RemoteInfo | None = None
        self._n_ctx = 0
        from engine import netguard

        netguard.allow_endpoint(self._host, self._port)

    # -- HTTP ---------------------------------------------------------------------------------
    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=timeout)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _unreachable(self, exc: BaseException) -> LLMError:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return LLMError(f"cannot reach the LLM server at {self.url}: {reason}")

    def _get_json(self, path: str) -> Any:
        conn = self._connection(CONNECT_TIMEOUT_S)
        try:
            conn.request("GET", path, headers=self._headers())
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        finally:
            conn.close()
        if response.status != 200:
            raise LLMError(f"the LLM server at {self.url} answered {path} with "
                           f"{response.status}: {_error_message(body)}")
        try:
            return json.loads(body)
        except ValueError:
            raise LLMError(f"the LLM server at {self.url} sent invalid JSON for {path}") from None

    # -- the Runtime surface ------------------------------------------------------------------
    def load(self, model_path: Any = None, *, n_ctx: int = 2048, n_threads: int = 0,
             n_batch: int = 256) -> RemoteInfo:
        """Ask the server which model it serves and how long its context is (the model file
        and thread settings are the server's business; ``n_ctx`` is the fallback)."""
        with self._lock:
            if self._info is not None:
                return self._info
            listed = self._get_json(f"{self._base}/models")
            cards = [c for c in (listed.get("data") or []) if isinstance(c, dict)]
            ids = [str(c.get("id")) for c in cards]
            if self._wanted_model and self._wanted_model not in ids:
                raise LLMError(f"the LLM server at {self.url} does not serve "
                               f"{self._wanted_model!r} (it serves: {', '.join(ids) or 'none'})")
            if not cards:
                raise LLMError(f"the LLM server at {self.url} lists no model")
            card = cards[ids.index(self._wanted_model)] if self._wanted_model else cards[0]
            ctx = _context_of(card) or self._props_context() or n_ctx
            self._info = RemoteInfo(name=str(card.get("id")), path=self.url, context_length=ctx)
            self._n_ctx = ctx
            return self._info

    def _props_context(self) -> int | None:
        """llama-server tells its context size at ``/props`` (outside ``/v1``)."""
        root = self._base.removesuffix("/v1")
        try:
            props = self._get_json(f"{root}/props")
        except LLMError:
            return None
        settings = props.get("default_generation_settings") if isinstance(props, dict) else None
        value = settings.get("n_ctx") if isinstance(settings, dict) else None
        return int(value) if isinstance(value, int) and value > 0 else None

    def unload(self) -> None:
        with self._lock:
            self._info, self._n_ctx = None, 0

    @property
    def loaded(self) -> bool:
        return self._info is not None

    @property
    def info(self) -> RemoteInfo:
        if self._info is None:
            raise LLMError("no model is loaded")
        return self._info

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def state(self) -> RuntimeState:
        return RuntimeState(model_path=self.url, model_name=self._info.name if self._info else None,
                            n_ctx=self._n_ctx)

    def render(self, messages: list[dict[str, str]]) -> tuple[str, MessagePrompt, list[str]]:
        prompt = MessagePrompt(messages)
        text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
        return text, prompt, []

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def load_adapter(self, name: str, path: Any) -> None:
        raise LLMError(ADAPTERS_NEED_THE_SERVER)

    def set_adapter(self, name: str | None, scale: float = 1.0) -> None:
        if name is not None:
            raise LLMError(ADAPTERS_NEED_THE_SERVER)

    @property
    def active_adapter(self) -> None:
        return None

    def generate(self, tokens: list[int], *, max_tokens: int = 256, temperature: float = 0.2,
                 seed: int = 0, stop: list[str] | None = None,
                 stop_event: threading.Event | None = None,
                 stats: GenerationStats | None = None,
                 adapter: AdapterChoice = None) -> Iterator[str]:
        """Stream the server's answer to the prompt's messages, filling ``stats`` as it goes.

        A server that fails, or dies mid-answer, ends the stream with a one-line LLMError (the
        answer keeps the text received so far). Setting ``stop_event`` closes the connection,
        which stops generation on servers that watch for it (Satchel's own does).
        """
        if not isinstance(tokens, MessagePrompt):
            raise LLMError("a remote LLM server takes chat messages: render the prompt first")
        if adapter is not None:
            raise LLMError(ADAPTERS_NEED_THE_SERVER)
        info = self.info
        stats = stats if stats is not None else GenerationStats()
        stats.prompt_tokens = len(tokens)
        body = {"model": info.name, "messages": tokens.messages, "stream": True,
                "max_tokens": max(1, min(max_tokens, self._n_ctx - len(tokens)) if self._n_ctx
                                  else max_tokens),
                "temperature": temperature, "seed": seed,
                "stream_options": {"include_usage": True}}
        if stop:
            body["stop"] = list(dict.fromkeys(stop))[:4]
        started = time.perf_counter()
        conn = self._connection(READ_TIMEOUT_S)
        try:
            response = self._post_stream(conn, body)
            yield from self._read_stream(response, stats, stop_event, started)
        finally:
            conn.close()
            stats.total_ms = (time.perf_counter() - started) * 1000

    def _post_stream(self, conn: http.client.HTTPConnection,
                     body: dict[str, Any]) -> http.client.HTTPResponse:
        try:
            conn.request("POST", f"{self._base}/chat/completions", body=json.dumps(body),
                         headers={**self._headers(), "Accept": "text/event-stream"})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        if response.status != 200:
            raise LLMError(f"the LLM server at {self.url} refused the request "
                           f"({response.status}): {_error_message(response.read())}")
        return response

    def _read_stream(self, response: http.client.HTTPResponse, stats: GenerationStats,
                     stop_event: threading.Event | None, started: float) -> Iterator[str]:
        done = False
        while not done:
            try:
                line = response.readline()
            except (OSError, http.client.HTTPException):  # timeouts are OSErrors
                line = b""
            if not line:
                raise LLMError(f"the LLM server at {self.url} closed the connection "
                               "mid-answer")
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            if "error" in chunk:
                raise LLMError(f"the LLM server failed: {_error_message(data)}")
            usage = chunk.get("usage")
            if isinstance(usage, dict):
                stats.prompt_tokens = int(usage.get("prompt_tokens") or stats.prompt_tokens)
                stats.completion_tokens = int(usage.get("completion_tokens")
                                              or stats.completion_tokens)
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                if choice.get("finish_reason"):
                    stats.finish_reason = choice["finish_reason"]
                if not piece:
                    continue
                now = time.perf_counter()
                if stats.completion_tokens == 0:
                    stats.ttft_ms = (now - started) * 1000
                stats.completion_tokens += 1
                stats.total_ms = (now - started) * 1000
                yield piece
                if stop_event is not None and stop_event.is_set():
                    stats.stopped, stats.finish_reason = True, "stopped"
                    done = True
                    break


def _context_of(card: dict[str, Any]) -> int | None:
    """A model card's context size, in the spellings servers use."""
    meta = card.get("meta") if isinstance(card.get("meta"), dict) else {}
    for value in (card.get("context_length"), card.get("max_model_len"),
                  meta.get("n_ctx_train") if meta else None):
        if isinstance(value, int) and value > 0:
            return value
    return None


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"]).splitlines()[0]
        if isinstance(error, str):
            return error.splitlines()[0]
    except ValueError:
        pass
    text = body.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else "no details"


_remotes: dict[tuple[str, str, str], RemoteRuntime] = {}
_remotes_lock = threading.Lock()


def get_remote_runtime(url: str, api_key: str = "", model: str = "") -> RemoteRuntime:
    """The shared runtime for one server, key and model (created on first use)."""
    key = (url.rstrip("/"), api_key, model)
    with _remotes_lock:
        if key not in _remotes:
            _remotes[key] = RemoteRuntime(url, api_key, model)
        return _remotes[key]
