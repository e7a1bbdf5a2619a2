"""HTTP routes for the mail outbox: its log (editors and admins), a test message and retries."""

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.mail import service
from registry.mail.schemas import MailMessageRead, MailState, MailTest, MailTestQueued
from registry.schemas import MAX_ID, MAX_OFFSET, Page

MessageId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The message's id")]


class MailController(Controller):
    """The messages the registry sends (vendor requests, reminders, tests), each with its SMTP answers."""

    path = "/mail"
    tags = ["mail"]
    opt = needs(Role.editor)
    security = API_KEY

    @get("/messages", operation_id="list_mail_messages", responses=problem_responses(422))
    async def list_mail_messages(
        self,
        state_: Annotated[MailState | None, Parameter(query="state")] = None,
        about_type: Annotated[str | None, Parameter(min_length=1, max_length=40)] = None,
        about_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[MailMessageRead]:
        """Messages, newest first, each with its tries (never their bodies)."""
        items, total = await service.list_messages(state_, about_type, about_id, limit, offset)
        return Page[MailMessageRead](items=items, total=total, limit=limit, offset=offset)

    @get("/messages/{message_id:int}", operation_id="get_mail_message", responses=problem_responses(404))
    async def get_mail_message(self, message_id: MessageId) -> MailMessageRead:
        return await service.get_message(message_id)

    @post(
        "/messages/{message_id:int}/retry",
        operation_id="retry_mail_message",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def retry_mail_message(self, message_id: MessageId) -> MailMessageRead:
        """Send a failed message again: its attempts start afresh, its log stays."""
        return await service.retry(message_id)

    @post(
        "/test",
        operation_id="send_test_mail",
        status_code=202,
        opt=needs(Role.admin),
        responses=problem_responses(413, 422),
    )
    async def send_test_mail(self, request: Request, data: MailTest, ctx: WriteContext) -> MailTestQueued:
        """Queue a test message to one address through the outbox (sent by the worker)."""
        return await service.send_test(request.app.state["settings"], ctx, data.to)
