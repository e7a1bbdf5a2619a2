"""A sliding-window limit per client address for the public verification routes (per worker)."""

import time
from collections import deque
from dataclasses import replace

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from registry.errors import RegistryError, too_many

_MAX_CLIENTS = 10_000


class RateLimiter:
    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.hits: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        now = time.monotonic()
        if len(self.hits) > _MAX_CLIENTS:  # forget idle clients rather than grow without bound
            self.hits = {k: v for k, v in self.hits.items() if v and now - v[-1] < 60}
        window = self.hits.setdefault(client, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.per_minute:
            wait = int(60 - (now - window[0])) + 1
            raise too_many(f"At most {self.per_minute} verifications a minute; try again in {wait} s.", wait)
        window.append(now)


async def rate_limited(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard for public routes: counts the caller's requests against the app's limiter."""
    client = connection.client.host if connection.client else "unknown"
    connection.app.state["verify_limiter"].check(client)


async def rate_limited_public(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: requests per client address a minute, as for verification, counted apart from it."""
    limiter: RateLimiter = connection.app.state["public_limiter"]
    try:
        limiter.check(connection.client.host if connection.client else "unknown")
    except RegistryError as exc:
        wait = exc.headers.get("Retry-After", "60")
        raise replace(
            exc, detail=f"At most {limiter.per_minute} requests a minute; try again in {wait} s."
        ) from None
