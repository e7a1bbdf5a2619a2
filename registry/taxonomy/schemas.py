"""Taxonomy entries at the edge."""

from typing import Annotated

from pydantic import Field

from registry.schemas import Schema, text

TaxonomyKey = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,50}(\.[a-z0-9_]{1,50}){0,7}$", max_length=200)]


class TaxonomyRead(Schema):
    """A data category, data use or data subject."""

    key: str
    name: str
    description: str | None
    parent_key: str | None
    is_default: bool = Field(description="Seeded from the fideslang default taxonomy: fixed.")


class TaxonomyNode(TaxonomyRead):
    """An entry with the entries under it."""

    children: list["TaxonomyNode"]


class TaxonomyCreate(Schema):
    """A custom entry; its parent is the key without its last segment and must exist."""

    key: TaxonomyKey
    name: text(200, min_length=1)
    description: text(2000) | None = None


class TaxonomyUpdate(Schema):
    """New wording for a custom entry (seeded entries cannot change)."""

    name: text(200, min_length=1) | None = None
    description: text(2000) | None = None
