"""HTTP routes of the disclosure lookup API (role lookup and above)."""

import re
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, post
from litestar import get as get_route
from litestar.params import Parameter

from registry import clock
from registry.auth import API_KEY, needs
from registry.enums import LegalBasis, Role
from registry.errors import bad_request, problem_responses
from registry.lookup import answers
from registry.lookup.cache import AnswerCache, json_answer
from registry.lookup.fast import FAST, answer_check, fast_check
from registry.lookup.keeper import IndexKeeper
from registry.lookup.schemas import CheckRequest, CheckResult, RecipientList, VendorHoldings
from registry.schemas import MAX_ID, MAX_OFFSET

KEY = r"^[a-z0-9_]{1,50}(\.[a-z0-9_]{1,50}){0,7}$"
Categories = Annotated[
    list[str], Parameter(query="category", min_items=1, max_items=20, description="Data category key(s)")
]
Limit = Annotated[int, Parameter(ge=1, le=10_000, description="Page size")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]
Purpose = Annotated[str | None, Parameter(pattern=KEY, description="Data use key; matches it and below")]


def _check_keys(values: list[str]) -> list[str]:
    bad = [v for v in values if not re.match(KEY, v)]
    if bad:
        message = f"not a taxonomy key: {', '.join(map(repr, bad))}"
        raise bad_request("category", "pattern", message)
    return values


def _answers(request: Request) -> AnswerCache:
    return request.app.state["lookup_answers"]


def _index(request: Request) -> IndexKeeper | None:
    return request.app.state.get("lookup_index")


class LookupController(Controller):
    """Who held which personal data when, and may we send it now."""

    path = "/lookup"
    tags = ["lookup"]
    opt = needs(Role.lookup)
    security = API_KEY

    @get_route("/recipients", operation_id="lookup_recipients", responses=problem_responses(422))
    async def lookup_recipients(
        self,
        request: Request,
        categories: Categories,
        as_of: Annotated[date | None, Parameter(description="Default: today (UTC)")] = None,
        purpose: Purpose = None,
        basis: LegalBasis | None = None,
        limit: Limit = 1000,
        offset: Offset = 0,
    ) -> Response[RecipientList]:
        day, asked = as_of or clock.today(), tuple(_check_keys(categories))
        question = ("recipients", asked, day, day, purpose, basis, limit, offset)
        return await _answers(request).respond(
            request,
            question,
            lambda: answers.recipients(_index(request), list(asked), day, day, purpose, basis, limit, offset),
        )

    @get_route("/history", operation_id="lookup_history", responses=problem_responses(422))
    async def lookup_history(
        self,
        request: Request,
        categories: Categories,
        date_from: Annotated[date, Parameter(query="from", description="First day, inclusive")],
        date_to: Annotated[date, Parameter(query="to", description="Last day, inclusive")],
        purpose: Purpose = None,
        basis: LegalBasis | None = None,
        limit: Limit = 1000,
        offset: Offset = 0,
    ) -> Response[RecipientList]:
        asked = tuple(_check_keys(categories))
        question = ("recipients", asked, date_from, date_to, purpose, basis, limit, offset)
        return await _answers(request).respond(
            request,
            question,
            lambda: answers.recipients(
                _index(request), list(asked), date_from, date_to, purpose, basis, limit, offset
            ),
        )

    @get_route("/vendors/{vendor_id:int}", operation_id="lookup_vendor", responses=problem_responses(404))
    async def lookup_vendor(
        self,
        request: Request,
        vendor_id: Annotated[int, Parameter(ge=1, le=MAX_ID)],
        as_of: Annotated[date | None, Parameter(description="Default: today (UTC)")] = None,
    ) -> Response[VendorHoldings]:
        day = as_of or clock.today()
        return await _answers(request).respond(
            request,
            ("vendor", vendor_id, day),
            lambda: answers.vendor_holdings(_index(request), vendor_id, day),
        )

    @post(
        "/check",
        operation_id="lookup_check",
        status_code=200,
        responses=problem_responses(413, 422),
        opt={FAST: fast_check},  # ordinary checks are answered ahead of this (registry.lookup.fast)
    )
    async def lookup_check(self, request: Request, data: CheckRequest) -> Response[CheckResult]:
        fresh = "no-cache" in request.headers.get("cache-control", "").lower()
        return json_answer(*await answer_check(request.app.state, data, fresh))
