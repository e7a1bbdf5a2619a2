"""API keys at the edge. The secret appears once, in the answer to its creation."""

from datetime import datetime
from typing import Annotated

from pydantic import Field

from registry.enums import Role
from registry.schemas import Schema

KeyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")]


class KeyCreate(Schema):
    """A new API key for an integration or a person's script."""

    name: KeyName
    role: Role


class KeyRead(Schema):
    """A key as listed: never its secret, only the first characters to recognise it by."""

    name: str
    role: Role
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    secret: str = Field(description="Shown only this once; store it now.")
