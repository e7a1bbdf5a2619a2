"""Request and response schemas of subscriptions and objections."""

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from registry.schemas import Schema


class SubscriptionCreate(Schema):
    """An address that asks to be told of changes to the sub-processor list."""

    email: str = Field(min_length=3, max_length=320, description="Where the confirmation link is sent")


class SubscriptionAccepted(Schema):
    """The same answer for every address: whether it was subscribed already is not told."""

    status: Literal["accepted"] = "accepted"
    detail: str


class ObjectionRead(Schema):
    """A subscriber's objection to a notified change of the sub-processor list."""

    id: int
    subscriber_id: int
    email: str | None = Field(description="The subscriber's address while subscribed; null once erased")
    change: str
    vendor_name: str
    summary: str
    effective_on: date
    short_notice: bool
    reason: str | None
    late: bool = Field(description="Received after the change took effect")
    created_at: datetime
