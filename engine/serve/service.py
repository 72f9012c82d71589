"""What the API serves, independent of HTTP: model names, answer plans, embeddings.

The routes in :mod:`engine.serve.app` translate between JSON and these calls; everything that
decides *what* to answer (which mode, which adapter, which collection, which history) is here,
next to the engine objects it uses: one :class:`~engine.answer.Assistant` (one model in memory)
and one :class:`~engine.serve.scheduler.Scheduler` (requests queued in front of it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.answer import Answer, AnswerStream, Assistant
from engine.errors import SatchelError
from engine.modes import ADAPTER_MODES, MODES, RETRIEVAL_MODES
from engine.prompt import HistoryTurn
from engine.serve.protocol import (
    EMBEDDING_MODEL,
    ApiError,
    ChatRequest,
    ModelChoice,
    conversation,
    model_ids,
    parse_model,
)
from engine.serve.scheduler import Scheduler
from engine.settings import Settings

if TYPE_CHECKING:
    import numpy as np


@dataclass
class ServeConfig:
    """``satchel serve``'s options (command line over settings)."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    mode: str = "rag"
    collection: str | None = None
    adapter: str | None = None
    allow_remote: bool = False


@dataclass
class AnswerPlan:
    """One chat request resolved against the server's defaults, ready to run on the worker."""

    mode: str
    question: str
    history: list[HistoryTurn]
    instructions: str | None
    collection: str | None
    adapter: str | None
    adapter_scale: float
    temperature: float | None
    seed: int
    max_tokens: int | None
    stop: list[str] = field(default_factory=list)


class Service:
    """The engine behind the API: one model, one queue, one embedder."""

    def __init__(self, settings: Settings, config: ServeConfig,
                 assistant: Assistant | None = None) -> None:
        self.settings = settings
        self.config = config
        self.assistant = assistant or Assistant(settings)
        self.scheduler = Scheduler()
        self.started = int(time.time())

    # -- lifecycle ----------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the model (and the embedder when the default mode retrieves) before serving,
        so the first request pays for neither."""
        self.assistant.ensure_model()
        if self.config.adapter:
            self.assistant._load_adapter(self.config.adapter, 1.0)
        if self.config.mode in RETRIEVAL_MODES:
            self.embedder().encode(["warm up"])
        self.scheduler.start()

    def close(self) -> None:
        self.scheduler.close()

    # -- models -------------------------------------------------------------------------------
    @property
    def base_name(self) -> str:
        info = self.assistant.runtime.info
        return info.name or Path(info.path).stem

    def adapters(self) -> list[str]:
        from models.adapters import list_adapters

        return [entry.name for entry in list_adapters()]

    def models(self) -> list[dict[str, Any]]:
        """``GET /v1/models``: every name a chat request may use, then the embedder."""
        default = self.config.mode
        out: list[dict[str, Any]] = []
        for model_id, choice, description in model_ids(self.base_name, self.adapters()):
            out.append(self._model_card(model_id, {
                "mode": choice.mode or default, "adapter": choice.adapter,
                "description": description}))
        out.append(self._model_card(EMBEDDING_MODEL, {
            "mode": None, "adapter": None, "embedder": self.embedder().name,
            "description": "Satchel's document embedder (POST /v1/embeddings)"}))
        return out

    def model(self, model_id: str) -> dict[str, Any]:
        for card in self.models():
            if card["id"] == model_id:
                return card
        raise ApiError(404, f"the model {model_id!r} does not exist", param="model",
                       code="model_not_found")

    def _model_card(self, model_id: str, extra: dict[str, Any]) -> dict[str, Any]:
        card = {"id": model_id, "object": "model", "created": self.started,
                "owned_by": "satchel", "satchel": extra}
        if extra.get("mode"):  # a chat model: its context, for clients that size prompts
            card["context_length"] = self.assistant.runtime.n_ctx
        return card

    # -- chat ---------------------------------------------------------------------------------
    def plan(self, request: ChatRequest) -> AnswerPlan:
        """Resolve a chat request (404 for an unknown model or adapter, 400 for what cannot be
        answered) without touching the model: this runs on the event loop."""
        if request.n not in (None, 1):
            raise ApiError(400, "only n=1 is supported", param="n")
        choice = self._choice(request)
        mode = request.mode or choice.mode or self.config.mode
        if mode not in MODES:
            raise ApiError(400, f"unknown mode {mode!r} (use one of: {', '.join(MODES)})",
                           param="mode")
        adapter = None
        if mode in ADAPTER_MODES:
            adapter = request.adapter or choice.adapter or self.config.adapter
            if not adapter:
                raise ApiError(400, f"mode {mode!r} needs an adapter: use a model named "
                               f"'satchel-{mode}:NAME' or pass 'adapter'", param="adapter")
            self._check_adapter(adapter)
        instructions, history, question = conversation(request.messages)
        collection = None
        if mode in RETRIEVAL_MODES:
            collection = (request.collection or self.config.collection
                          or self.settings.default_collection)
        return AnswerPlan(
            mode=mode, question=question, history=history, instructions=instructions,
            collection=collection, adapter=adapter,
            adapter_scale=request.adapter_scale if request.adapter_scale is not None else 1.0,
            temperature=request.temperature,
            seed=request.seed if request.seed is not None else 0,
            max_tokens=request.answer_tokens, stop=request.stop or [])

    def _choice(self, request: ChatRequest) -> ModelChoice:
        try:
            return parse_model(request.model, self.base_name)
        except ApiError:
            if request.mode:  # a client that must send some model name, plus an explicit mode
                return ModelChoice()
            raise

    @staticmethod
    def _check_adapter(name: str) -> None:
        from models.adapters import get_adapter

        try:
            get_adapter(name)
        except SatchelError as exc:
            raise ApiError(404, str(exc), param="adapter", code="adapter_not_found") from None

    def prepare(self, plan: AnswerPlan) -> AnswerStream:
        """Run on the worker thread: retrieval, adapter, prompt; the stream is generated next."""
        return self.assistant.ask(
            plan.question, plan.mode, collection=plan.collection, history=plan.history,
            adapter=plan.adapter, adapter_scale=plan.adapter_scale,
            temperature=plan.temperature, seed=plan.seed, max_tokens=plan.max_tokens,
            instructions=plan.instructions, stop=plan.stop)

    # -- embeddings ---------------------------------------------------------------------------
    def embedder(self):
        from engine.embed import get_embedder

        return get_embedder(self.settings.embedder)

    def check_embedding_model(self, model: str) -> None:
        if model not in (EMBEDDING_MODEL, self.embedder().name):
            raise ApiError(404, f"the embedding model {model!r} does not exist (use "
                           f"{EMBEDDING_MODEL!r})", param="model", code="model_not_found")

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """The engine's own document vectors for ``texts`` and the tokens they took."""
        embedder = self.embedder()
        vectors = embedder.encode(texts)
        return vectors, sum(embedder.count_tokens(texts))


def sources_json(answer: Answer) -> list[dict[str, Any]]:
    """The passages an answer was shown, as ``satchel ask --json`` lists them."""
    return answer.to_json()["sources"]


def satchel_json(answer: Answer) -> dict[str, Any]:
    """Satchel's extra response field: mode, adapter, collection, cited passages, timings."""
    data = answer.to_json()
    return {key: data[key] for key in ("mode", "adapter", "collection", "cited", "timings",
                                       "stopped")}
