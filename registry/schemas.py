"""Field types shared by every schema: bounded, NUL-free text, ids, countries, tags, pages."""

from typing import Annotated, Generic, TypeVar

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, StringConstraints

from registry.errors import bad_request

# Ids are SERIAL (int4) on PostgreSQL: anything larger cannot exist, so it is rejected up front.
MAX_ID = 2_147_483_647
MAX_OFFSET = 1_000_000


def _no_control_characters(value: str) -> str:
    if any(ch == "\x00" or ("\x00" < ch < " " and ch not in "\t\n\r") for ch in value):
        raise ValueError("must not contain NUL or other control characters")
    return value


def _country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def country_param(value: str | None, field: str = "country") -> str | None:
    """A country code from a query parameter (Litestar does not run Pydantic validators there)."""
    if value is None:
        return None
    try:
        return _country(value)
    except ValueError as exc:
        raise bad_request(field, "iso_3166_1_alpha_2", str(exc)) from None


def text(max_length: int, min_length: int = 0):
    """Free text up to ``max_length`` characters, stripped, without control characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_control_characters),
    ]


Name = text(200, min_length=1)
ShortText = text(300)
LongText = text(20_000)
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
Tag = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,39}$"),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
WebUrl = Annotated[HttpUrl, Field(max_length=2048)]


class Schema(BaseModel):
    """Base of every request and response schema: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(Schema, Generic[T]):
    """One page of a list, with the total number of matches."""

    items: list[T]
    total: int
    limit: int
    offset: int
