"""Lookup answers kept per worker, valid while the lookup head stays the same (``registry.head``).

A worker reuses an answer computed at the same head, for the same question and day; any write a lookup
can depend on (anything but attestations, journal entries, keys, people, webhooks and deletion
records: ``NOT_READ_BY_LOOKUPS``) moves the head and the next lookup starts afresh. Answers therefore
never lag a write; what the cache saves is the query work, which is most of a lookup's cost. A client
may ask for a fresh computation with ``Cache-Control: no-cache``; ``REGISTRY_LOOKUP_CACHE_BYTES=0``
turns the cache off.
"""

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from litestar import Request, Response
from litestar.types import ASGIApp, Receive, Scope, Send
from pydantic import BaseModel

from registry.head import observed_answers_head


class AnswerCache:
    def __init__(self, capacity_bytes: int = 0) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self.head: tuple | None = None
        # Oldest first; an OrderedDict pops its oldest in constant time, where a dict scans past every
        # slot emptied at its front since it was last resized (distinct questions evict on every miss).
        self.answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self.pending: dict[tuple[tuple, Hashable], asyncio.Future[bytes]] = {}

    async def respond(
        self, request: Request, question: Hashable, compute: Callable[[], Awaitable[BaseModel | bytes]]
    ) -> Response:
        """The JSON answer to ``question`` (which must name everything the answer depends on)."""
        fresh = "no-cache" in request.headers.get("cache-control", "").lower()
        body, status = await self.answer(question, compute, fresh)
        return json_answer(body, status)

    async def answer(
        self, question: Hashable, compute: Callable[[], Awaitable[BaseModel | bytes]], fresh: bool = False
    ) -> tuple[bytes, str | None]:
        """The answer's JSON and its ``Cache-Status`` (None with the cache off); ``fresh`` computes it
        again whatever is kept (``Cache-Control: no-cache``)."""
        head = observed_answers_head.get()
        if self.capacity <= 0 or head is None:
            return await _run(compute), None
        if head != self.head:
            self.answers.clear()
            self.head, self.size = head, 0
        if fresh:
            return await _run(compute), "fwd=bypass"
        body = self.answers.get(question)
        if body is not None:
            return body, "hit"
        # After a write, the integrations' next questions all miss at once: the first computes, the others
        # asking the same question at the same head wait for its answer instead of computing it again.
        slot = (head, question)
        if (running := self.pending.get(slot)) is not None:
            with contextlib.suppress(asyncio.CancelledError):  # the first was cancelled: compute here
                return await asyncio.shield(running), "fwd=miss; collapsed"
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pending[slot] = future
        try:
            body = await _run(compute)
        except Exception as error:  # the same question gets the same error (422, 404)
            future.set_exception(error)
            future.exception()  # marked retrieved: perhaps nobody else is waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            if self.pending.get(slot) is future:
                del self.pending[slot]
        future.set_result(body)
        # Kept unless a concurrent request has seen a newer head meanwhile, or it would fill an eighth
        # of the cache on its own; the oldest answers make room.
        if self.head == head and len(body) <= self.capacity // 8 and question not in self.answers:
            while self.size + len(body) > self.capacity:
                self.size -= len(self.answers.popitem(last=False)[1])
            self.answers[question] = body
            self.size += len(body)
        return body, "fwd=miss"


async def _run(compute: Callable[[], Awaitable[BaseModel | bytes]]) -> bytes:
    # The head was read before, so the answer is at least as new as the head it is filed under. The
    # answer comes from the worker's index, or reads the database in one read session
    # (registry.lookup.answers).
    answer = await compute()
    return answer if isinstance(answer, bytes) else answer.model_dump_json().encode()


def json_answer(body: bytes, status: str | None) -> Response:
    headers = {"Cache-Status": f"registry; {status}"} if status else {}
    return JsonAnswer(body, media_type="application/json", headers=headers)


class JsonAnswer(Response[bytes]):
    """An answer already encoded as JSON. Unless a layer adds headers, cookies or a background task (or
    the request is a HEAD), it goes out as two ASGI messages made here: Litestar's general conversion
    (header normalisation and encoding, an ``ASGIResponse``) was a tenth of a cached lookup's time."""

    def to_asgi_response(self, app: Any, request: Request, **options: Any) -> ASGIApp:
        if self.background or self.cookies or any(options.get(name) for name in _GENERAL):
            return super().to_asgi_response(app, request, **options)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.content)).encode()),
            *(
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in self.headers.items()
            ),
        ]
        return _Send(self.status_code or options.get("status_code") or 200, headers, self.content)


_GENERAL = ("background", "cookies", "encoded_headers", "headers", "is_head_response")


class _Send:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
