"""What every record form does with a posted form: check the CSRF token, validate with the API's
schema and the form's own checks (so every mistake is reported in one round), keep a chosen file for
the retry, save with the service, and go on with a "saved" notice; else show the form again."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.response import Template
from pydantic import BaseModel

from registry import words
from registry.enums import Role
from registry.errors import RegistryError
from registry.files import check_upload
from registry.http import FILENAME, read_form
from registry.ui import held
from registry.ui.checks import Checks
from registry.ui.forms import registry_errors, validate, values_of
from registry.ui.pages import check_csrf, notice_redirect, render_page, signed_in

STALE = "Someone saved a change since you opened this form: reload it, then make your change."


async def posted_form(request: Request):
    """(person, their CSRF token, the form) of an editor's form submission whose token matches."""
    actor, csrf = await signed_in(request, Role.editor)
    form = await read_form(request)
    check_csrf({"csrf": form.get("csrf")}, csrf)
    return actor, csrf, form


def version_of(form) -> int | None:
    version = form.get("version")
    return int(version) if isinstance(version, str) and version.isdigit() else None


@dataclass
class Upload:
    """The form's file: chosen now, or held from an earlier try (``kept``)."""

    document: tuple[bytes, str, str] | None = None
    kept: held.Held | None = None

    async def keep(self, person: str) -> dict[str, held.Held]:
        """Hold the file for the retry (once), and say so on the form."""
        if self.document and self.kept is None:
            self.kept = await held.hold(person, *self.document)
        return {"document": self.kept} if self.kept else {}


async def read_upload(form, person: str, limit: int, errors: dict[str, str]) -> Upload:
    """The file just chosen, checked as the API checks it (a refusal goes beside the field); else the
    one held from the person's last try, if the form names it."""
    upload = form.get("document")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        if len(content) > limit:
            errors["document"] = f"Signed contract: the file is larger than the limit of {limit} bytes."
        elif not re.match(FILENAME, upload.filename):
            errors["document"] = (
                "Signed contract: the file name must be 1 to 255 characters, without / \\ or control characters."
            )
        else:
            try:
                check_upload(content, upload.content_type)
                return Upload((content, upload.content_type, upload.filename))
            except RegistryError as error:
                errors["document"] = f"Signed contract: {error.detail}"
        return Upload()
    found = await held.find(person, form.get("held_document"))
    if found is None:
        return Upload()
    kept, content, content_type = found
    return Upload((content, content_type, kept.filename), kept)


async def submit(
    request: Request,
    posted: tuple[Any, str, Any],
    spec: dict[str, Any],
    schema: type[BaseModel],
    save: Callable[[Any], Awaitable[Any]],
    done: str | Callable[[Any], str],
    *,
    notice: str,
    editing: bool = False,
    extra: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    checks: Checks | None = None,
    upload: Upload | None = None,
    keep_status: bool = False,
    unplaced: str = "form",
) -> Response:
    """Validate the posted form with the API's schema and ``checks`` (the service's rules, checked
    before saving so that all mistakes show at once), save it with the service and go on to ``done``
    (303 with ``notice``); else show the form again (400, or the service's status with
    ``keep_status``) with what was typed, every error, and the chosen file held."""
    actor, csrf, form = posted
    fields = spec["fields"]
    values = values_of(fields, form)
    # ``extra``: fields the form does not hold, or a function of what was typed (parsed lines).
    more = extra(values) if callable(extra) else (extra or {})
    data, found = validate(schema, fields, values, editing=editing, **more)
    checked = await checks(values) if checks else {}
    for name, message in {**checked, **(errors or {})}.items():
        found.setdefault(name, message)
    # A check beside ``unplaced`` is the conflict the service would answer (a name taken): its status.
    status = 409 if keep_status and unplaced in checked else 400
    if not found:
        try:
            saved = await save(data)
        except RegistryError as error:
            found = {"form": STALE} if error.status == 412 else registry_errors(error, fields, unplaced)
            status = error.status if keep_status else 400
        else:
            if upload and upload.kept:
                await held.release(upload.kept.handle)
            return notice_redirect(done if isinstance(done, str) else done(saved), notice)
    records = spec.get("records", {})
    found = {name: named(message, records) for name, message in found.items()}
    kept = await upload.keep(actor.name) if upload else {}
    return form_page(request, actor, csrf, spec, values, found, status, kept)


def named(message: str, records: dict[str, str]) -> str:
    """A service's message with the records it names by id ("contract 11") named by title."""
    for said, name in records.items():
        message = re.sub(rf"\b{re.escape(said)}\b", name, message, flags=re.IGNORECASE)
    return message


def form_page(
    request, actor, csrf, spec: dict[str, Any], values, errors=None, status=400, kept=None
) -> Template:
    """A form page (templates/form.html.j2): 200 when opened, else ``status`` with the errors beside
    their fields and listed at the top."""
    context = {"intro": None, "follows": None, "confirm": None, "due": None, "upload": False, "version": None}
    context |= spec
    status = status if errors else 200
    return render_page(
        request,
        "form.html.j2",
        status,
        actor=actor,
        csrf=csrf,
        values=values,
        errors=errors or {},
        held=kept or {},
        country_list=words.countries(),
        **context,
    )
