"""Webhooks at the edge. A signing secret appears once: when the webhook is made or its secret rotated."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from registry.schemas import Schema, ShortText
from registry.webhooks.events import EVENT_TYPES

_EVENTS_HELP = "Event types to receive, or `*` for all: " + ", ".join(EVENT_TYPES) + "."
EventName = Annotated[str, Field(min_length=1, max_length=60)]


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one endpoint stands."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"


class WebhookCreate(Schema):
    """A new endpoint to send events to."""

    url: str = Field(description="http(s) URL without user:password, at most 2048 characters.")
    events: list[EventName] = Field(max_length=100, description=_EVENTS_HELP)
    description: ShortText | None = None


class WebhookUpdate(Schema):
    """A partial change: only the fields sent are changed."""

    url: str | None = None
    events: list[EventName] | None = Field(default=None, max_length=100, description=_EVENTS_HELP)
    description: ShortText | None = None


class WebhookRead(Schema):
    """An endpoint as registered: never its secret."""

    id: int
    url: str
    events: list[str]
    description: str | None
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    version: int


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="Signing secret (Standard Webhooks, `whsec_…`). Shown only this once; store it now."
    )


class WebhookTestQueued(Schema):
    """A `webhook.test` event waiting for the worker."""

    event_id: str
    delivery_id: int


class AttemptRead(Schema):
    """One try at a delivery."""

    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


class DeliveryRead(Schema):
    """One event sent (or to be sent) to one endpoint, with every try."""

    id: int
    event_id: str
    event_type: str
    object_type: str
    object_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next try is due; null unless pending.")
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptRead]
