"""The portal's forms, described once (registry/ui/forms.py): the confirmation with every field a
confirmation has, the declaration, a request for more time, a question; and their parsing."""

import re
from typing import Any

from litestar.datastructures import UploadFile

from registry.deletions.rules import confirmation_errors
from registry.deletions.schemas import ConfirmationCreate
from registry.errors import RegistryError
from registry.files import check_upload
from registry.http import FILENAME
from registry.portal.schemas import Declaration, ExtensionAsk, Question
from registry.ui.forms import Field, validate, values_of
from registry.ui.record_forms import CONFIRMATION
from registry.ui.subprocessor_fields import subprocessor_answers, subprocessor_fields, subprocessor_messages

MAX_FILES = 5
CONFIRMATION_FIELDS = [
    *(f for f in CONFIRMATION if f.name != "kind"),
    Field(
        "retained",
        "Kept under a legal obligation",
        "lines",
        hint="One per line: what | law | until (YYYY-MM-DD).",
    ),
    Field("evidence", "Evidence files", "file", hint=f"PDF, DOCX, PNG or JPEG; up to {MAX_FILES} files."),
]
DECLARATION_FIELDS = [
    Field("name", "Your name", required=True),
    Field("title", "Your title", required=True),
    Field("email", "Your e-mail address", "email", required=True),
    Field("on_behalf", "I confirm this on behalf of the vendor", "checkbox", required=True),
]
EXTENSION_FIELDS = [
    Field("until", "New date", "date", required=True),
    Field("reason", "Why more time is needed", "textarea", required=True),
    Field("email", "Your e-mail address", "email", required=True),
]
QUESTION_FIELDS = [
    Field("text", "Your question", "textarea", required=True),
    Field("email", "Your e-mail address", "email", required=True),
]
NOTE_SCHEMAS = {"extension": (ExtensionAsk, EXTENSION_FIELDS), "question": (Question, QUESTION_FIELDS)}


def _split(lines: str, names: tuple[str, ...]) -> list[dict[str, str]]:
    parsed = []
    for line in filter(None, (line.strip() for line in (lines or "").splitlines())):
        parts = [p.strip() for p in line.split("|")]
        parsed.append({n: p for n, p in zip(names, parts, strict=False) if p})
    return parsed


def parse_confirmation(form, deletion, today) -> tuple[Any, Any, dict[str, Any], dict[str, str]]:
    """(confirmation, declaration, values typed, errors by field): every error at once."""
    answers = subprocessor_fields(deletion)
    values = values_of(CONFIRMATION_FIELDS + DECLARATION_FIELDS + answers, form)
    extra = {
        "remaining": _split(values["remaining"], ("what", "where")),
        "retained": _split(values["retained"], ("what", "law", "until")),
    }
    fields = [f for f in CONFIRMATION_FIELDS if f.name not in ("remaining", "retained")] + answers
    extra = {k: v for k, v in extra.items() if v} | subprocessor_answers(deletion, values)
    data, errors = validate(ConfirmationCreate, fields, values, **extra)
    declaration, declaration_errors = validate(Declaration, DECLARATION_FIELDS, values)
    errors.update(declaration_errors)
    if data is not None:
        # The rules acceptance will apply (contradictions, backups in scope): told now, beside the field.
        errors.update(subprocessor_messages(deletion, data))
        for e in confirmation_errors(data, deletion, today):
            if not e.field.startswith("subprocessors"):
                errors.setdefault(e.field if e.field in values else "form", e.message)
    return data, declaration, values, errors


async def evidence_files(form, limit: int, errors: dict[str, str]) -> list[tuple[bytes, str, str]]:
    """The evidence chosen, each checked as the API checks uploads (errors beside the field)."""
    files = []
    uploads = [u for u in form.getall("evidence", []) if isinstance(u, UploadFile) and u.filename]
    if len(uploads) > MAX_FILES:
        errors["evidence"] = f"At most {MAX_FILES} files."
        return []
    for upload in uploads:
        content = await upload.read()
        if len(content) > limit:
            errors["evidence"] = f"{upload.filename}: larger than the limit of {limit} bytes."
        elif not re.match(FILENAME, upload.filename):
            errors["evidence"] = (
                "A file name must be 1 to 255 characters, without / \\ or control characters."
            )
        else:
            try:
                files.append((content, check_upload(content, upload.content_type), upload.filename))
            except RegistryError as error:
                errors["evidence"] = f"{upload.filename}: {error.detail}"
    return files
