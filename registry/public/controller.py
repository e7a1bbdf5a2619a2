"""HTTP routes of the public sub-processor list: JSON, an HTML page and two feeds, without a key."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType

from registry import clock
from registry.errors import problem_responses
from registry.public import feeds, service
from registry.public.schemas import JsonFeed, SubprocessorList
from registry.ratelimit import rate_limited_public

HTML = "text/html; charset=utf-8"
FEED_JSON = "application/feed+json"
HEADERS = {"Cache-Control": "public, max-age=300"}
# The page runs no script at all: even a slip in escaping could not execute one.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'"}
RESPONSES = {
    **problem_responses(429, public=True),
    304: ResponseSpec(data_container=None, description="Not modified: the If-None-Match ETag is current"),
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A Pydantic JSON schema with its $defs put in place (OpenAPI would resolve them from its root)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return (
                walk(defs[node["$ref"].rsplit("/", 1)[-1]])
                if "$ref" in node
                else {k: walk(v) for k, v in node.items()}
            )
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)


def documents(content: dict[str, Any]) -> type[Operation]:
    """An operation whose 200 response documents these media types as well as (or over) its own:
    the list also answers text/html, and Litestar would name the feed's ``_registry`` field without
    its alias."""

    @dataclass
    class WithContent(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                ok.content = {**(ok.content or {}), **content}

    return WithContent


ALSO_HTML = documents({"text/html": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))})
FEED_SCHEMA = documents(
    {
        FEED_JSON: OpenAPIMediaType(
            schema=_inlined(JsonFeed.model_json_schema(by_alias=True, mode="serialization"))
        )
    }
)


class PublicCache:
    """What the public routes send, per worker, for one change-log head and day. Every write moves the
    head (registry.head) and the list depends on nothing else, so nothing stale is served, and readers
    polling the feed cost one computation per write."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.state: service.PublicState | None = None
        self.bodies: dict[str, tuple[bytes, str]] = {}

    async def get(
        self, request: Request, kind: str, render: Callable[[service.PublicState], bytes]
    ) -> tuple[bytes, str]:
        key = (await request.app.state["change_head"].read(), clock.today())
        if key != self.key:
            self.key, self.state, self.bodies = key, None, {}
        if (found := self.bodies.get(kind)) is not None:
            return found
        state = self.state or await service.public_state(
            request.app.state["settings"].organisation_name, key[1]
        )
        body = render(state)
        found = (body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        if self.key == key:  # not if another request has seen a newer head meanwhile
            self.state, self.bodies[kind] = state, found
        return found


def _cache(request: Request) -> PublicCache:
    return request.app.state["public_list"]  # made by the app's lifespan


def _fresh(request: Request, etag: str) -> bool:
    """If-None-Match names the current representation (weak comparison, RFC 9110 §13.1.2)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


async def _send(
    request: Request, kind: str, media_type: str, render: Callable, headers: dict[str, str] | None = None
) -> Response:
    body, etag = await _cache(request).get(request, kind, render)
    headers = {**HEADERS, **(headers or {}), "ETag": etag}
    if _fresh(request, etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def _links(request: Request) -> feeds.FeedLinks:
    return feeds.FeedLinks.under(request.app.state["settings"].document_base_url)


def _json_feed(state: service.PublicState, links: feeds.FeedLinks) -> bytes:
    return feeds.json_feed(state, links).model_dump_json(by_alias=True, exclude_none=True).encode()


def _json(state: service.PublicState) -> bytes:
    return state.listing.model_dump_json().encode()


def _html_page(request: Request) -> Callable[[service.PublicState], bytes]:
    template = request.app.template_engine.get_template("subprocessors.html.j2")
    links = feeds.FeedLinks.under("")  # the page links within this server

    def render(state: service.PublicState) -> bytes:
        return template.render(
            listing=state.listing,
            upcoming=[e for e in reversed(state.entries) if e.scheduled],
            recent=[e for e in state.entries if not e.scheduled][:20],
            links=links,
            country_name=service.country_name,
            entry_text=feeds.entry_text,
        ).encode()

    return render


class PublicController(Controller):
    """The sub-processor list customers read and subscribe to: no key, limited per client address."""

    path = "/public"
    tags = ["public"]
    security = []
    guards = [rate_limited_public]

    @get(
        "/subprocessors",
        operation_id="list_subprocessors",
        operation_class=ALSO_HTML,
        responses=RESPONSES,
        description="Public. The vendors listed today; the HTML page instead when Accept prefers text/html.",
    )
    async def list_subprocessors(self, request: Request) -> Response[SubprocessorList]:
        vary = {"Vary": "Accept"}
        if request.accept.best_match(["application/json", "text/html"]) == "text/html":
            return await _send(request, "html", HTML, _html_page(request), {**vary, **PAGE_HEADERS})
        return await _send(request, "json", "application/json", _json, vary)

    @get(
        "/subprocessors.html",
        operation_id="show_subprocessors_page",
        media_type="text/html",
        responses=RESPONSES,
        description="Public. The list as a printable web page, linking the feeds.",
    )
    async def show_subprocessors_page(self, request: Request) -> Response[str]:
        return await _send(request, "html", HTML, _html_page(request), PAGE_HEADERS)

    @get(
        "/subprocessors/feed.json",
        operation_id="subprocessors_json_feed",
        media_type=FEED_JSON,
        operation_class=FEED_SCHEMA,
        responses=RESPONSES,
        description="Public. Additions and removals, newest first, announced ones included (JSON Feed 1.1).",
    )
    async def subprocessors_json_feed(self, request: Request) -> Response[bytes]:
        return await _send(request, "feed.json", FEED_JSON, partial(_json_feed, links=_links(request)))

    @get(
        "/subprocessors/feed.atom",
        operation_id="subprocessors_atom_feed",
        media_type="application/atom+xml",
        responses=RESPONSES,
        description="Public. The same entries as an Atom feed (RFC 4287).",
    )
    async def subprocessors_atom_feed(self, request: Request) -> Response[bytes]:
        render = partial(feeds.atom_feed, links=_links(request))
        return await _send(request, "feed.atom", "application/atom+xml", render)
