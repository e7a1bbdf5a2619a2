"""The public sub-processor list and its JSON Feed, as customers read them."""

import datetime as dt
from typing import Literal

from pydantic import ConfigDict, Field

from registry.schemas import Schema


class TaxonomyName(Schema):
    """A taxonomy key with its human-readable name."""

    key: str
    name: str


class PublicVendor(Schema):
    """A sub-processor listed today, with what it receives now and where the data goes."""

    name: str
    legal_name: str | None
    country: str = Field(description="Where the vendor is established (ISO 3166-1 alpha-2).")
    purposes: list[TaxonomyName] = Field(description="Data uses of its disclosures valid today.")
    data_categories: list[TaxonomyName]
    destination_countries: list[str] = Field(description="Where its disclosures valid today send data.")
    listed_since: dt.date = Field(description="The first day of its current, unbroken listing.")


class SubprocessorList(Schema):
    """Everyone the organisation sends personal data to and has chosen to list, as of today."""

    organisation: str
    as_of: dt.date
    last_updated: dt.date | None = Field(
        description="The latest day, up to today, on which the list or its announced changes changed; "
        "null while nothing was ever listed."
    )
    subprocessors: list[PublicVendor]


class FeedChange(Schema):
    """The registry's JSON Feed extension on each item (``_registry``)."""

    change: Literal["added", "removed"]
    date: dt.date = Field(description="The day the change takes effect.")
    scheduled: bool = Field(description="True while that day is still to come.")
    vendor: str


class FeedAuthor(Schema):
    """Who publishes the feed."""

    name: str
    url: str | None = None


class FeedItem(Schema):
    """One addition to or removal from the list (JSON Feed 1.1 item)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    id: str
    url: str
    title: str
    content_text: str
    date_published: dt.datetime = Field(description="When it was announced, or took effect if that is later.")
    tags: list[str]
    registry: FeedChange = Field(alias="_registry")


class JsonFeed(Schema):
    """Additions to and removals from the sub-processor list (https://jsonfeed.org/version/1.1)."""

    version: Literal["https://jsonfeed.org/version/1.1"] = "https://jsonfeed.org/version/1.1"
    title: str
    home_page_url: str
    feed_url: str
    description: str
    language: str = "en"
    authors: list[FeedAuthor]
    items: list[FeedItem]
