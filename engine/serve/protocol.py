"""The OpenAI wire format as Satchel speaks it: request models, model names, errors.

Request bodies are pydantic models so a malformed request is refused before any work, with the
field named (422). Unknown fields are accepted and ignored, as OpenAI's own server does with
fields it does not support, because clients send many (``user``, ``presence_penalty``...).
Satchel's own fields ride along as extras: ``mode``, ``collection``, ``adapter``,
``adapter_scale``; the openai client sends them with ``extra_body={...}``.

Model names pick the answer mode, so a client that can only choose a model from a list (most
editors) can still choose retrieval or an adapter:

- ``satchel``: the server's default mode (``satchel serve --mode``);
- ``satchel-base``, ``satchel-rag``, ``satchel-adapter``, ``satchel-rag+adapter``;
- ``satchel-adapter:NAME``, ``satchel-rag+adapter:NAME``: an adapter mode with adapter NAME;
- the loaded model's own name (``SmolLM2-135M-Instruct``...): the plain model, mode ``base``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.modes import ADAPTER_MODES, MODES
from engine.prompt import HistoryTurn

MODEL_PREFIX = "satchel"
#: The name embeddings answer to, besides the embedder's own name.
EMBEDDING_MODEL = "satchel-embedding"
#: OpenAI allows at most four stop sequences.
MAX_STOPS = 4
#: Inputs one embeddings request may carry (OpenAI's limit).
MAX_EMBEDDING_INPUTS = 2048


class ApiError(Exception):
    """An error answered as OpenAI does: ``{"error": {message, type, param, code}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code = param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; fields Satchel cannot honour are refused, not ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    # Satchel's extras
    mode: str | None = None
    collection: str | None = Field(default=None, min_length=1)
    adapter: str | None = Field(default=None, min_length=1)
    adapter_scale: float | None = Field(default=None, ge=0.0, le=4.0)

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else list(value)
        if len(stops) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop sequences are allowed")
        return [s for s in stops if s]

    @property
    def answer_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class EmbeddingRequest(BaseModel):
    """``POST /v1/embeddings``."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)

    def texts(self) -> list[str]:
        """The inputs as a list of non-empty strings; ApiError(400) for anything else."""
        items = [self.input] if isinstance(self.input, str) else list(self.input)
        if not items:
            raise ApiError(400, "'input' is empty", param="input")
        if any(not isinstance(item, str) for item in items):
            raise ApiError(400, "token arrays are not supported: send the text", param="input")
        if len(items) > MAX_EMBEDDING_INPUTS:
            raise ApiError(400, f"at most {MAX_EMBEDDING_INPUTS} inputs per request",
                           param="input")
        if any(not item.strip() for item in items):
            raise ApiError(400, "'input' holds an empty string", param="input")
        return items  # type: ignore[return-value]


@dataclass(frozen=True)
class ModelChoice:
    """What a model name asks for: a mode (None: the server's default) and an adapter."""

    mode: str | None = None
    adapter: str | None = None


def model_ids(base_name: str, adapters: list[str]) -> list[tuple[str, ModelChoice, str]]:
    """Every model name the server answers to: (id, choice, one-line description)."""
    ids: list[tuple[str, ModelChoice, str]] = [  # the plain model first: a remote Satchel
        (base_name, ModelChoice("base"), "the plain language model"),  # takes the first
        (MODEL_PREFIX, ModelChoice(), "Satchel in the server's default mode"),
    ]
    for mode in MODES:
        ids.append((f"{MODEL_PREFIX}-{mode}", ModelChoice(mode), f"Satchel, {mode} mode"))
    for name in adapters:
        for mode in ADAPTER_MODES:
            ids.append((f"{MODEL_PREFIX}-{mode}:{name}", ModelChoice(mode, name),
                        f"Satchel, {mode} mode with adapter {name}"))
    return ids


def parse_model(model: str, base_name: str) -> ModelChoice:
    """The choice a model name makes; ApiError(404) for a name Satchel does not serve."""
    if model == base_name:
        return ModelChoice("base")
    if model == MODEL_PREFIX:
        return ModelChoice()
    prefix = f"{MODEL_PREFIX}-"
    if model.startswith(prefix):
        mode, _, adapter = model[len(prefix):].partition(":")
        if mode in MODES and (not adapter or mode in ADAPTER_MODES):
            return ModelChoice(mode, adapter or None)
    raise ApiError(404, f"the model {model!r} does not exist (GET /v1/models lists them)",
                   param="model", code="model_not_found")


def text_of(message: ChatMessage, index: int) -> str:
    """A message's text; content parts other than text are refused (the model reads text)."""
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for part in content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ApiError(400, f"messages[{index}] has a {part.get('type')!r} part: only text "
                           "content is supported", param=f"messages[{index}].content")
        texts.append(part["text"])
    return "\n".join(texts)


def conversation(messages: list[ChatMessage]) -> tuple[str | None, list[HistoryTurn], str]:
    """(system instructions, earlier turns, question) from an OpenAI message list.

    System and developer messages are joined into the instructions; consecutive user messages
    are joined into one; each user message answered by an assistant message is a turn of
    history; the last message must be the user's question.
    """
    system: list[str] = []
    turns: list[tuple[str, str]] = []
    pending: list[str] = []
    for i, message in enumerate(messages):
        if message.role in ("tool", "function"):
            raise ApiError(400, f"messages[{i}]: tool messages are not supported",
                           param=f"messages[{i}].role")
        text = text_of(message, i)
        if message.role in ("system", "developer"):
            system.append(text)
        elif message.role == "user":
            pending.append(text)
        elif pending:  # an assistant message answering the pending user text
            turns.append(("\n".join(pending), text))
            pending = []
        elif turns:  # two assistant messages in a row: one answer
            question, answer = turns[-1]
            turns[-1] = (question, f"{answer}\n{text}")
    if messages[-1].role != "user" or not "\n".join(pending).strip():
        raise ApiError(400, "the last message must be the user's question, with text",
                       param="messages")
    history = [HistoryTurn(question=q, user_message=q, answer=a) for q, a in turns]
    instructions = "\n\n".join(s for s in system if s.strip()) or None
    return instructions, history, "\n".join(pending)
