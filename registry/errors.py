"""One error hierarchy, rendered as RFC 9457 problem+json by one set of handlers."""

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import BaseModel, Field

from registry.faults import Fault, classify
from registry.redact import redact_path

log = logging.getLogger("registry.errors")

PROBLEM_JSON = "application/problem+json"


@dataclass
class FieldError:
    """One broken rule: which field, which rule, in words."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


@dataclass
class RegistryError(Exception):
    """Base of every error the registry raises on purpose."""

    detail: str
    status: int = 400
    title: str = "Bad request"
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


def _one_field(status: int, title: str, field_name: str, rule: str, message: str) -> RegistryError:
    return RegistryError(
        detail=f"{field_name}: {message}",
        status=status,
        title=title,
        errors=[FieldError(field_name, rule, message)],
    )


def invalid(field_name: str, rule: str, message: str) -> RegistryError:
    """A value that breaks a domain rule (422)."""
    return _one_field(422, "Invalid input", field_name, rule, message)


def bad_request(field_name: str, rule: str, message: str) -> RegistryError:
    """A request malformed at the edge: a parameter, header or body that breaks a rule of the API (400)."""
    return _one_field(400, "Invalid request", field_name, rule, message)


def not_found(kind: str, key: object) -> RegistryError:
    return RegistryError(detail=f"{kind} {key} does not exist", status=404, title="Not found")


def conflict(detail: str, errors: list[FieldError] | None = None, **extra: Any) -> RegistryError:
    """409: the request conflicts with the registry's records (``errors``: each reason, named)."""
    return RegistryError(detail=detail, status=409, title="Conflict", errors=errors or [], extra=extra)


def precondition_failed(detail: str) -> RegistryError:
    return RegistryError(detail=detail, status=412, title="Precondition failed")


# One title per status: every error of a status is built by its factory here.
def missing(detail: str) -> RegistryError:
    """404 in words of the caller's (a page, a download); :func:`not_found` names a record."""
    return RegistryError(detail=detail, status=404, title="Not found")


def forbidden(detail: str) -> RegistryError:
    return RegistryError(detail=detail, status=403, title="Forbidden")


def too_large(detail: str) -> RegistryError:
    return RegistryError(detail=detail, status=413, title="Content too large")


def unsupported(detail: str) -> RegistryError:
    return RegistryError(detail=detail, status=415, title="Unsupported media type")


def unprocessable(detail: str, errors: list[FieldError], **extra: Any) -> RegistryError:
    """A whole input refused for the rules it breaks, each named (422, as :func:`invalid`)."""
    return RegistryError(detail=detail, status=422, title="Invalid input", errors=errors, extra=extra)


def too_many(detail: str, retry_after: int) -> RegistryError:
    return RegistryError(
        detail=detail, status=429, title="Too many requests", headers={"Retry-After": str(retry_after)}
    )


def client_closed(detail: str) -> RegistryError:
    """499 (nginx's code): the client left before the answer; logged, never seen by anyone."""
    return RegistryError(detail=detail, status=499, title="Client closed request")


def unavailable(detail: str, kind: type[RegistryError] = RegistryError) -> RegistryError:
    """503; ``kind`` a subclass where a caller catches this failure apart from others."""
    return kind(detail=detail, status=503, title="Service unavailable")


def problem(request: Request, status: int, title: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    # Routing errors happen before the request-id middleware runs: give those an id here.
    request_id = request.scope.setdefault("state", {}).setdefault("request_id", uuid.uuid4().hex)
    body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    # Errors raised in middleware are rendered outside the request-id middleware: echo it here too.
    return Response(
        content=body, status_code=status, media_type=PROBLEM_JSON, headers={"X-Request-ID": request_id}
    )


def handle_registry_error(request: Request, exc: RegistryError) -> Response:
    response = problem(
        request,
        exc.status,
        exc.title,
        exc.detail,
        errors=[e.as_dict() for e in exc.errors],
        **exc.extra,
    )
    response.headers.update(exc.headers)
    return response


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    items = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    for item in items:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        errors.append(
            {
                "field": str(item.get("key") or item.get("source") or "body"),
                "rule": _rule_from_message(message),
                "message": message,
            }
        )
    return errors


def _rule_from_message(message: str) -> str:
    lowered = message.lower()
    for needle, rule in (
        ("extra", "unknown_field"),
        ("missing", "required"),
        ("required", "required"),
        ("at most", "max_length"),
        ("at least", "min_length"),
        ("less than", "maximum"),
        ("greater than", "minimum"),
        ("input should be", "type"),
        ("expected", "type"),
        ("json", "json"),
        ("pattern", "pattern"),
    ):
        if needle in lowered:
            return rule
    return "invalid"


def handle_validation_error(request: Request, exc: ValidationException) -> Response:
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(exc.detail)
    return problem(request, 400, "Invalid request", detail, errors=errors)


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    response = problem(
        request,
        exc.status_code,
        _title(exc.status_code),
        str(exc.detail),
    )
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def handle_unexpected(request: Request, exc: Exception) -> Response:
    fault = classify(exc)
    if fault:
        log_fault(request, fault)
        return handle_registry_error(request, fault_error(fault))
    # The traceback goes to the server log only; the client gets the request id to quote.
    log.exception("unhandled error on %s %s", request.method, redact_path(request.url.path))
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "The server failed to handle this request; nothing was saved. Quote the request id.",
    )


def fault_error(fault: Fault, **extra: Any) -> RegistryError:
    """503 or 507 for a database or disk that is down or full: worth retrying after Retry-After."""
    return RegistryError(
        detail=fault.detail,
        status=fault.status,
        title=fault.title,
        extra=extra,
        headers={"Retry-After": str(fault.retry_after)},
    )


def log_fault(request: Request, fault: Fault) -> None:
    # The cause is a code (SQLSTATE, SQLite's error name, errno), never the message, which could quote data.
    log.warning("%s %s: %s (%s)", request.method, redact_path(request.url.path), fault.detail, fault.cause)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS = {
    RegistryError: handle_registry_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is returned."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = Field(
        default=None, description="One entry per broken rule: field, rule, message."
    )
    conflicts: list[dict[str, Any]] | None = Field(
        default=None, description="For 409: the records that stand in the way."
    )


_DESCRIPTIONS = {
    400: "Malformed request: a parameter or body field breaks a rule",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role does not allow this",
    404: "No such record",
    409: "Conflicts with the registry's records",
    412: "If-Match does not match the record's current version",
    413: "Body larger than the configured limit",
    415: "Unsupported file type",
    422: "Well-formed, but breaks a rule of the domain",
    429: "Too many requests: wait as Retry-After says",
    503: "The service is not configured for this yet, or its database is unavailable: retry after Retry-After",
    507: "The database's disk is full",
}


def problem_responses(*codes: int, public: bool = False) -> dict[int, ResponseSpec]:
    """OpenAPI entries for a handler's error responses; guarded routes also answer 401 and 403."""
    always = {400} if public else {400, 401, 403}
    return {
        code: ResponseSpec(data_container=Problem, description=_DESCRIPTIONS[code], media_type=PROBLEM_JSON)
        for code in sorted(always | set(codes))
    }
