"""Lookup answers kept per worker, valid while the change log's head stays the same (``registry.head``).

A worker reuses an answer computed at the same head, for the same question and day; any write anywhere
moves the head and the next lookup starts afresh. Answers therefore never lag a write; what the cache saves
is the query work, which is most of a lookup's cost. A client may ask for a fresh computation with
``Cache-Control: no-cache``; ``REGISTRY_LOOKUP_CACHE_BYTES=0`` turns the cache off.
"""

from collections.abc import Awaitable, Callable, Hashable

from litestar import Request, Response
from pydantic import BaseModel

from registry import db
from registry.head import observed_head


class AnswerCache:
    def __init__(self, capacity_bytes: int = 0) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self.head: tuple | None = None
        self.answers: dict[Hashable, bytes] = {}

    async def respond(
        self, request: Request, question: Hashable, compute: Callable[[], Awaitable[BaseModel]]
    ) -> Response:
        """The JSON answer to ``question`` (which must name everything the answer depends on)."""
        head = observed_head.get()
        if self.capacity <= 0 or head is None:
            return _json(await _run(compute), None)
        if head != self.head:
            self.answers.clear()
            self.head, self.size = head, 0
        fresh = "no-cache" in request.headers.get("cache-control", "").lower()
        body = None if fresh else self.answers.get(question)
        if body is not None:
            return _json(body, "hit")
        body = await _run(compute)
        # Kept unless a concurrent request has seen a newer head meanwhile, or it would fill an eighth
        # of the cache on its own; the oldest answers make room.
        if self.head == head and len(body) <= self.capacity // 8 and question not in self.answers:
            while self.size + len(body) > self.capacity:
                self.size -= len(self.answers.pop(next(iter(self.answers))))
            self.answers[question] = body
            self.size += len(body)
        return _json(body, "fwd=bypass" if fresh else "fwd=miss")


async def _run(compute: Callable[[], Awaitable[BaseModel]]) -> bytes:
    # A miss reads on one connection (SQLite). The head was read before, so the answer is at least as
    # new as the head it is filed under.
    async with db.read_session():
        return (await compute()).model_dump_json().encode()


def _json(body: bytes, status: str | None) -> Response:
    headers = {"Cache-Status": f"registry; {status}"} if status else {}
    return Response(content=body, media_type="application/json", headers=headers)
