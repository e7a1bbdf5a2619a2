"""HTTP routes for webhooks (admins only)."""

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.http import if_match_version, versioned
from registry.schemas import MAX_ID, MAX_OFFSET, Page
from registry.webhooks import service
from registry.webhooks.schemas import (
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookTestQueued,
    WebhookUpdate,
)
from registry.webhooks.signing import server_key

WebhookId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The webhook's id")]


def _key(request: Request) -> bytes:
    return server_key(request.app.state["settings"].webhook_key_file)


class WebhookController(Controller):
    """Endpoints that receive signed events, and the log of what was sent to them."""

    path = "/webhooks"
    tags = ["webhooks"]
    opt = needs(Role.admin)
    security = API_KEY

    @get("/", operation_id="list_webhooks", responses=problem_responses())
    async def list_webhooks(self) -> list[WebhookRead]:
        return await service.list_webhooks()

    @post("/", operation_id="create_webhook", responses=problem_responses(413, 422))
    async def create_webhook(
        self, request: Request, data: WebhookCreate, ctx: WriteContext
    ) -> Response[WebhookCreated]:
        created = await service.create_webhook(ctx, data, _key(request))
        response = versioned(created, 201)
        response.headers["Location"] = f"/webhooks/{created.id}"
        return response

    @get("/{webhook_id:int}", operation_id="get_webhook", responses=problem_responses(404))
    async def get_webhook(self, webhook_id: WebhookId) -> Response[WebhookRead]:
        return versioned(await service.get_webhook(webhook_id))

    @patch(
        "/{webhook_id:int}",
        operation_id="update_webhook",
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def update_webhook(
        self, request: Request, webhook_id: WebhookId, data: WebhookUpdate, ctx: WriteContext
    ) -> Response[WebhookRead]:
        return versioned(await service.update_webhook(ctx, webhook_id, data, if_match_version(request)))

    @delete(
        "/{webhook_id:int}",
        operation_id="disable_webhook",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def disable_webhook(self, webhook_id: WebhookId, ctx: WriteContext) -> WebhookRead:
        """Stop sending to the endpoint and cancel what is pending; the record stays."""
        return await service.disable_webhook(ctx, webhook_id)

    @post(
        "/{webhook_id:int}/rotate-secret",
        operation_id="rotate_webhook_secret",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def rotate_webhook_secret(
        self, request: Request, webhook_id: WebhookId, ctx: WriteContext
    ) -> WebhookCreated:
        """A new signing secret, shown once; the old one stops working at once."""
        return await service.rotate_secret(ctx, webhook_id, _key(request))

    @post(
        "/{webhook_id:int}/test",
        operation_id="test_webhook",
        status_code=202,
        responses=problem_responses(404, 409),
    )
    async def test_webhook(self, webhook_id: WebhookId, ctx: WriteContext) -> WebhookTestQueued:
        """Queue a `webhook.test` event for this endpoint alone."""
        return await service.send_test(ctx, webhook_id)

    @get(
        "/{webhook_id:int}/deliveries",
        operation_id="list_webhook_deliveries",
        responses=problem_responses(404),
    )
    async def list_webhook_deliveries(
        self,
        webhook_id: WebhookId,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[DeliveryRead]:
        """Deliveries, newest first, each with its tries."""
        items, total = await service.list_deliveries(webhook_id, status, limit, offset)
        return Page[DeliveryRead](items=items, total=total, limit=limit, offset=offset)
