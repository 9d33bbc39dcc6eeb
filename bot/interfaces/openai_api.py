"""An OpenAI-compatible HTTP API over `ChatBot`: `POST /v1/chat/completions` (streaming or
not) and `GET /v1/models`, so any OpenAI client or chat front end can use Partnerbot.

A thin adapter: the last user message is the question, earlier user/assistant pairs are the
history. Replies carry the answer text followed by its numbered sources, and, beside the
standard fields, `citations` (quote, title, date, url, offsets), `abstained` and `notice`.
An optional `filters` object (`since`, `until`, `sites`; see `bot.retrieval.Filters`) limits
retrieval. Errors use OpenAI's shape and name the field at fault.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ..answers import Answer, text_deltas
from ..chatbot import ChatBot
from ..questions import check_length
from ..retrieval import Filters
from .accounts import Accounts, RateLimit, User
from .admission import Busy, Gate

MODEL_NAME = "partnerbot"
MAX_BODY_BYTES = 256 * 1024  # a question, its history and filters; larger bodies get 413
MAX_MESSAGES = 64  # messages in one request (the answer reads the last two turns)


class RequestError(ValueError):
    pass


def parse_request(body: object, max_chars: int) -> tuple[str, list[tuple[str, str]], Filters]:
    """(question, history, filters) from a chat completions request body."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: a non-empty list of messages is required")
    if len(messages) > MAX_MESSAGES:
        raise RequestError(f"messages: {len(messages)} messages; the limit is {MAX_MESSAGES}")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in (
            "system",
            "user",
            "assistant",
            "developer",
            "tool",
        ):
            raise RequestError(f"messages[{i}]: needs a role of system, user or assistant")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(
                p.get("text", "")
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
        if content is not None and not isinstance(content, str):
            raise RequestError(f"messages[{i}].content: must be a string or a list of parts")
        if m["role"] in ("user", "assistant"):
            turns.append((m["role"], content or ""))
    if not turns or turns[-1][0] != "user":
        raise RequestError("messages: the last message must be the user's question")
    question = turns[-1][1].strip()
    if not question:
        raise RequestError(f"messages[{len(messages) - 1}].content: the question is empty")
    try:
        check_length(question, max_chars)
    except ValueError as exc:
        raise RequestError(f"messages[{len(messages) - 1}].content: {exc}") from None
    history = [
        (q, a)
        for (r1, q), (r2, a) in zip(turns[:-1], turns[1:-1])
        if r1 == "user" and r2 == "assistant"
    ]
    raw = body.get("filters") or {}
    if not isinstance(raw, dict):
        raise RequestError("filters: must be an object with since, until and sites")
    sites = raw.get("sites") or []
    if isinstance(sites, str) or not all(isinstance(x, str) for x in sites):
        raise RequestError("filters.sites: must be a list of site names")
    try:
        filters = Filters.parse(raw.get("since"), raw.get("until"), sites)
    except ValueError as exc:
        raise RequestError(f"filters.{exc}") from None
    return question, history, filters


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}}, status_code=status
    )


def router(
    bot: ChatBot,
    gate: Gate,
    max_chars: int,
    accounts: Accounts | None = None,
    per_user: RateLimit | None = None,
) -> APIRouter:
    """The `/v1` routes; with `accounts`, every request needs `Authorization: Bearer <key>`."""
    api = APIRouter(prefix="/v1")
    per_user = per_user or RateLimit(0)

    def caller(request: Request) -> User | None | JSONResponse:
        if accounts is None:
            return None
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        user = accounts.user_for_key(key.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            response = _error(
                401,
                "an API key is required: Authorization: Bearer <key> "
                "(partnerbot users add / users key)",
                "authentication_error",
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return user

    @api.get("/models")
    def models(request: Request):
        who = caller(request)
        if isinstance(who, JSONResponse):
            return who
        return {
            "object": "list",
            "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "partnerbot", "created": 0}],
        }

    @api.post("/chat/completions")
    async def chat_completions(request: Request):
        who = caller(request)
        if isinstance(who, JSONResponse):
            return who
        # JSON only: a browser page elsewhere can post text/plain or a form here without
        # asking, but not application/json.
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _error(
                415,
                "the request body must be JSON (Content-Type: application/json)",
                "invalid_request_error",
            )
        raw = await _read_capped(request)
        if raw is None:
            return _error(
                413,
                f"the request body is over {MAX_BODY_BYTES // 1024} KB",
                "invalid_request_error",
            )
        try:
            body = json.loads(raw or b"null")
            question, history, filters = parse_request(body, max_chars)
        except (RequestError, json.JSONDecodeError, RecursionError) as exc:
            return _error(
                400,
                str(exc) if isinstance(exc, RequestError) else "the request body is not valid JSON",
                "invalid_request_error",
            )
        if not per_user.allow(who.name if who else ""):
            return _error(
                429,
                f"more than {per_user.per_minute} questions in a minute; wait a moment",
                "rate_limit_exceeded",
            )
        meta = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": MODEL_NAME,
        }
        try:
            ticket = gate.admit()
        except Busy as exc:
            return _error(429, str(exc), "server_busy")
        if body.get("stream"):
            return _stream(ticket, question, history, filters, meta)
        return await _complete(ticket, question, history, filters, meta)

    async def _complete(ticket, question, history, filters, meta):
        def answer_it():
            with ticket:
                return bot.ask(question, history, filters)

        answer = await run_in_threadpool(answer_it)
        return {
            **meta,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer.text_with_sources()},
                }
            ],
            **_extras(answer),
        }

    def _stream(ticket, question, history, filters, meta):
        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            data = {
                **meta,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def events() -> Iterator[str]:
            with ticket:
                yield chunk({"role": "assistant", "content": ""})
                for piece in text_deltas(bot.events(question, history, filters)):
                    if isinstance(piece, str):
                        yield chunk({"content": piece})
                    else:
                        tail = piece.text_with_sources()[len(piece.text) :]
                        yield chunk({"content": tail} if tail else {}, "stop", **_extras(piece))
            yield "data: [DONE]\n\n"

        # Frees the place if the client left before the stream began.
        return StreamingResponse(
            events(), media_type="text/event-stream", background=BackgroundTask(ticket.cancel)
        )

    return api


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_BODY_BYTES (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for part in request.stream():
        body.extend(part)
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _extras(answer: Answer) -> dict:
    out = answer.to_dict()
    del out["text"]
    return out
