"""Small HTTP helpers shared by controllers: ETags and If-Match."""

import re
from typing import Any

from litestar import Request, Response

from registry.errors import precondition_failed

_ETAG = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def versioned(record: Any, status_code: int = 200, location: str | None = None) -> Response:
    """``record`` (anything with a ``version``) with its ETag, and its Location when just created."""
    headers = {"ETag": etag(record.version)}
    if location:
        headers["Location"] = location
    return Response(record, status_code=status_code, headers=headers)


def if_match_version(request: Request) -> int | None:
    """The version an If-Match header asks for; None when the header is absent or ``*``."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if not match:
        raise precondition_failed(f"If-Match {header!r} is not an ETag this API issued")
    return int(match.group(1))
