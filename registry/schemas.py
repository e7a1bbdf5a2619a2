"""Field types shared by every schema: bounded, NUL-free text, ids, countries, tags, pages."""

import re
from datetime import UTC, date, datetime
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


def utc_param(value: datetime | None, field: str) -> datetime | None:
    """A datetime from a query parameter, in UTC (naive means UTC): 400 for one that UTC cannot hold,
    such as 9999-12-31T23:59:59-14:00, which would overflow in the database driver."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        message = "must lie between 0001-01-01 and 9999-12-31 once converted to UTC"
        raise bad_request(field, "range", message) from None


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

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: object) -> object:
    # Pydantic alone reads "2025-01-01T00:00:00+02:00" (a midnight with an offset) and Unix
    # timestamps as dates; a day in this API is written YYYY-MM-DD and nothing else.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise ValueError("must match the date pattern YYYY-MM-DD, without a time or offset")


Day = Annotated[date, BeforeValidator(_iso_day)]
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
