"""HTTP routes of the change notices: subscribing by JSON (public), and the objections (legal team)."""

from litestar import Controller, Request, get, post

from registry.auth import API_KEY, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.notices import objections, subscriptions
from registry.notices.schemas import ObjectionRead, SubscriptionAccepted, SubscriptionCreate
from registry.notices.subscriptions import SENT
from registry.ratelimit import rate_limited_public


class SubscriptionController(Controller):
    """Subscribing to changes of the public sub-processor list: no key, limited per client address."""

    path = "/public/subscriptions"
    tags = ["public"]
    security = []
    guards = [rate_limited_public]

    @post(
        "/",
        operation_id="subscribe_to_subprocessor_changes",
        status_code=202,
        responses=problem_responses(422, 429, public=True),
        description="Public. Sends a confirmation link (double opt-in); the answer is the same for every "
        "address, subscribed or not.",
    )
    async def subscribe_to_subprocessor_changes(
        self, request: Request, data: SubscriptionCreate
    ) -> SubscriptionAccepted:
        await subscriptions.subscribe(request.app.state["settings"], data.email)
        return SubscriptionAccepted(detail=SENT)


class ObjectionController(Controller):
    """Subscribers' objections to notified changes of the sub-processor list, for the legal team."""

    path = "/objections"
    tags = ["notices"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_objections", responses=problem_responses())
    async def list_objections(self) -> list[ObjectionRead]:
        """Every objection, newest first, with the change it objects to."""
        return await objections.list_objections()
