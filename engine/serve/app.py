"""The HTTP routes: ``/v1/models``, ``/v1/chat/completions`` (JSON or SSE), ``/v1/embeddings``.

Every error leaves as OpenAI's JSON shape (``{"error": {...}}``) with the status OpenAI uses:
400 for a request that cannot be answered, 401 for a wrong token, 404 for an unknown model or
path, 422 for a body that does not validate. A streaming request is answered with an HTTP error
too when preparing it fails (empty collection...): the stream starts only once the answer's
sources are known, so a client never gets a 200 stream that carries nothing but an error.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from engine.answer import Answer
from engine.errors import SatchelError
from engine.serve.protocol import ApiError, ChatRequest, EmbeddingRequest
from engine.serve.scheduler import Job
from engine.serve.service import Service, satchel_json, sources_json

log = logging.getLogger("satchel.serve")

#: How often a queued request checks whether its client is still there.
DISCONNECT_POLL_S = 0.25


class ClientGone(Exception):
    """The client closed the connection while its request waited or ran."""


def create_app(service: Service) -> Any:
    """The FastAPI application over ``service``."""
    app = FastAPI(title="Satchel", version="1", docs_url=None, redoc_url=None,
                  openapi_url=None)
    token = service.config.token

    def error_response(error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return error_response(ApiError(400, "the request body is not valid JSON"))
        if tuple(first.get("loc", ())) == ("body",):  # no JSON object at all
            return error_response(ApiError(400, "the request body must be a JSON object "
                                           "(Content-Type: application/json)"))
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        param = ".".join(loc) or None
        message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
        return error_response(ApiError(422, message, param=param, code="invalid_value"))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return error_response(ApiError(exc.status_code, str(exc.detail), type=kind))

    async def authorized(request: Request) -> None:
        if not token:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):
            raise ApiError(401, "invalid API key: pass the server's token as a Bearer token",
                           type="authentication_error", code="invalid_api_key")

    guarded = [Depends(authorized)]

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and queue counters (no token needed: it reveals no document or model)."""
        return {"status": "ok", **service.scheduler.stats().to_json()}

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": service.models()}

    @app.get("/v1/models/{model_id:path}", dependencies=guarded)
    async def model(model_id: str) -> dict[str, Any]:
        return service.model(model_id)

    @app.post("/v1/embeddings", dependencies=guarded)
    async def embeddings(body: EmbeddingRequest) -> dict[str, Any]:
        service.check_embedding_model(body.model)
        texts = body.texts()
        vectors, tokens = await asyncio.to_thread(service.embed, texts)
        if body.dimensions is not None and body.dimensions != vectors.shape[1]:
            raise ApiError(400, f"this embedder gives {vectors.shape[1]} dimensions; it cannot "
                           f"give {body.dimensions}", param="dimensions")
        data = []
        for i, row in enumerate(vectors):
            value: Any = (base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
                          if body.encoding_format == "base64" else [float(x) for x in row])
            data.append({"object": "embedding", "index": i, "embedding": value})
        return {"object": "list", "data": data, "model": body.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    @app.post("/v1/chat/completions", dependencies=guarded)
    async def chat(body: ChatRequest, request: Request) -> Response:
        plan = service.plan(body)
        job = Job(lambda: service.prepare(plan), asyncio.get_running_loop())
        service.scheduler.submit(job)
        try:
            kind, value = await next_event(job, request)
        except ClientGone:
            return Response(status_code=499)
        if kind == "error":
            raise as_api_error(value)
        answer: Answer = value
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return StreamingResponse(
                stream_chunks(job, answer, body, ident, created), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            answer = await finish(job, request)
        except ClientGone:
            return Response(status_code=499)
        if answer.error:
            raise ApiError(500, answer.error, type="server_error")
        return JSONResponse({
            "id": ident, "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                         "logprobs": None, "finish_reason": finish_reason(answer)}],
            "usage": usage(answer), "sources": sources_json(answer),
            "satchel": satchel_json(answer)})

    return app


async def next_event(job: Job, request: Request) -> tuple[str, Any]:
    """The job's next event; a client that left meanwhile cancels the job (ClientGone)."""
    while True:
        try:
            return await asyncio.wait_for(job.events.get(), DISCONNECT_POLL_S)
        except TimeoutError:
            if await request.is_disconnected():
                job.cancel()
                raise ClientGone() from None


async def finish(job: Job, request: Request) -> Answer:
    """Wait for the whole answer (non-streaming)."""
    while True:
        kind, value = await next_event(job, request)
        if kind == "done":
            return value


async def stream_chunks(job: Job, answer: Answer, body: ChatRequest, ident: str,
                        created: int) -> AsyncIterator[str]:
    """Server-sent events: role and sources first, a chunk per piece, the finish, usage.

    When the client disconnects, the server stops iterating this generator (cancellation or
    GeneratorExit at the pending ``yield``/``await``); ``finally`` cancels the job, which
    stops the generation at its next token.
    """
    usage_field = {"usage": None} if body.include_usage else {}

    def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> str:
        data = {"id": ident, "object": "chat.completion.chunk", "created": created,
                "model": body.model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                  "finish_reason": reason}],
                **usage_field, **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""}, sources=sources_json(answer))
        while True:
            kind, value = await job.events.get()
            if kind == "piece":
                yield chunk({"content": value})
                continue
            if kind == "done":
                answer = value
                break
        if answer.error:
            yield "data: " + json.dumps(ApiError(500, answer.error, type="server_error")
                                        .body()) + "\n\n"
        else:
            yield chunk({}, finish_reason(answer), satchel=satchel_json(answer))
            if body.include_usage:
                data = {"id": ident, "object": "chat.completion.chunk", "created": created,
                        "model": body.model, "choices": [], "usage": usage(answer)}
                yield f"data: {json.dumps(data)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        job.cancel()  # a no-op once the answer is done; stops it when the client left


def as_api_error(value: Any) -> ApiError:
    if isinstance(value, ApiError):
        return value
    if isinstance(value, SatchelError):
        return ApiError(400, str(value))
    return ApiError(500, str(value), type="server_error")


def finish_reason(answer: Answer) -> str:
    """OpenAI's finish reason: "length" when max_tokens cut the answer, else "stop"."""
    return "length" if answer.finish_reason == "length" else "stop"


def usage(answer: Answer) -> dict[str, int]:
    t = answer.timings
    return {"prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens,
            "total_tokens": t.prompt_tokens + t.completion_tokens}
