"""``POST /lookup/check`` answered ahead of Litestar's per-request machinery, whenever the answer is a 200.

A pre-transfer check is the API's most frequent call, and most of its time went to the framework,
not the answer: the authentication middleware's connection object, the kwargs model, msgspec's
conversion of the decoded body into the pydantic model, the handler's response conversion (bench:
profile of the check, docs/benchmarks.md "Checks ahead of the framework"). Routing is already done when
this middleware runs: it sees the route handler, and acts only on one whose ``opt`` names a fast answer
(``FAST``).

It answers only the ordinary request: a key already verified at the current keys head that has the
route's role, no ``Idempotency-Key`` or ``Cache-Control``, a JSON body within the route's bound that
decodes (``registry.edge``) and validates, and an answer. Anything else — a key to verify, a refusal,
bad input, an error while answering — goes to the route as if this had never looked, with the body it
read replayed: every 4xx and 5xx comes from the one place that makes them, in the same problem format.
The answer is the same bytes and headers the route sends (the same ``AnswerCache``, the same JSON);
tests/test_lookup_fast.py compares the two paths.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry import clock
from registry.auth import ROLE_OPT, bearer_digest, verified_actor
from registry.edge import decode_json_body, require_json
from registry.idempotency import replaying
from registry.lookup import answers
from registry.lookup.schemas import CheckRequest

# The key of a route handler's ``opt`` naming its fast answer: (app state, decoded body) -> (JSON, status).
FAST = "fast_answer"
FastAnswer = Callable[[Any, Any], Awaitable[tuple[bytes, str | None]]]
# Headers that make a request not ordinary here: the route honours them (idempotency, a fresh answer).
_ROUTE_ONLY = frozenset((b"idempotency-key", b"cache-control"))


async def answer_check(state: Any, data: CheckRequest, fresh: bool = False) -> tuple[bytes, str | None]:
    """The check's JSON and Cache-Status, as the route and the fast path both give it."""
    today = clock.today()
    question = ("check", data.vendor, tuple(data.categories), data.purpose, data.on or today)
    index = state.get("lookup_index")
    return await state["lookup_answers"].answer(question, lambda: answers.check(index, data, today), fresh)


async def fast_check(state: Any, value: Any) -> tuple[bytes, str | None]:
    return await answer_check(state, CheckRequest.model_validate(value))


def fast_answers_middleware(app: ASGIApp) -> ASGIApp:
    """Answers a POST to a route with a fast answer when it is ordinary; hands it on otherwise."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        fast = scope["route_handler"].opt.get(FAST) if scope["type"] == "http" else None
        if fast is None or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        read: list[Message] = []
        answer = await _answer(scope, receive, fast, read)
        if answer is None:
            await app(scope, replaying(read, receive), send)
            return
        body, status = answer
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status:
            headers.append((b"cache-status", b"registry; " + status.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return middleware


async def _answer(scope: Scope, receive: Receive, fast: FastAnswer, read: list[Message]) -> Any:
    """The answer, or None for the route to give; ``read`` gets every message taken from ``receive``."""
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:
                return None
            authorization = value
        elif name == b"content-type":
            if content_type is not None:
                return None
            content_type = value
        elif name in _ROUTE_ONLY:
            return None
    digest = bearer_digest((authorization or b"").decode("latin-1"))
    if digest is None or content_type is None:
        return None
    state = scope["app"].state
    actor = await verified_actor(state, digest)
    handler = scope["route_handler"]
    if actor is None or not actor.has(handler.opt[ROLE_OPT]):
        return None
    limit = handler.resolve_request_max_body_size()
    chunks, size = [], 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        if not message.get("more_body", False):
            break
    try:
        require_json(content_type.decode("latin-1"))
        value = decode_json_body(b"".join(chunks), state["settings"].max_json_depth)
        return await fast(state, value)
    except Exception:  # noqa: BLE001 (bad input, a refusal, a fault: the route answers it, and logs it)
        return None
