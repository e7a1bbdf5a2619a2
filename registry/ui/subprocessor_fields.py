"""A deletion report's answer for each sub-processor the obligation lists, as form fields: one
definition for the staff's confirmation page and the vendor portal's (the rule is in deletions/rules.py)."""

import re
from typing import Any

from registry import words
from registry.deletions.subprocessor_rules import subprocessor_errors
from registry.subprocessors.reads import engaged_as_subprocessor
from registry.ui.forms import Field

_ANSWERS = [("yes", "Yes, it deleted the data", 0), ("no", "No, not all of it", 0)]
_AT = re.compile(r"^subprocessors\[(\d+)\]\.(\w+)$")


def subprocessor_fields(deletion) -> list[Field]:
    """Three fields per listed sub-processor, named subprocessors.<vendor id>.<answer field>."""
    fields = []
    for s in deletion.subprocessors:
        at = f"subprocessors.{s.vendor_id}"
        fields += [
            Field(
                f"{at}.deleted", f"Did {s.vendor_name} delete it?", "select", required=True, choices=_ANSWERS
            ),
            Field(
                f"{at}.completed_on", f"{s.vendor_name}: deleted on", "date", hint="Required when it deleted."
            ),
            Field(
                f"{at}.note",
                f"{s.vendor_name}: note",
                "textarea",
                hint="Required when it did not delete: why, and what remains where.",
            ),
        ]
    return fields


def subprocessor_answers(deletion, values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The schema's ``subprocessors`` list from what was typed (an unanswered one is left out, so the
    rule names it); always present, so that it replaces the fields' nested names in the body."""
    answers = []
    for s in deletion.subprocessors:
        at = f"subprocessors.{s.vendor_id}"
        deleted = values.get(f"{at}.deleted")
        if deleted not in ("yes", "no"):
            continue
        answer: dict[str, Any] = {"vendor_id": s.vendor_id, "deleted": deleted == "yes"}
        for name in ("completed_on", "note"):
            if (values.get(f"{at}.{name}") or "").strip():
                answer[name] = values[f"{at}.{name}"].strip()
        answers.append(answer)
    return {"subprocessors": answers}


def subprocessor_messages(deletion, data) -> dict[str, str]:
    """The rule's refusals of a parsed report, each beside its field."""
    answered = [a.vendor_id for a in data.subprocessors]
    found = {}
    for e in subprocessor_errors(data, deletion):
        matched = _AT.match(e.field)
        if matched and int(matched.group(1)) < len(answered):
            found.setdefault(f"subprocessors.{answered[int(matched.group(1))]}.{matched.group(2)}", e.message)
        else:
            for s in deletion.subprocessors:
                if s.vendor_id not in answered:
                    found.setdefault(
                        f"subprocessors.{s.vendor_id}.deleted", f"Say whether {s.vendor_name} deleted."
                    )
    return found


async def engagement_field(vendor_id: int) -> list[Field]:
    """The disclosure form's engagement: for a sub-processor, the engagement that brought it in."""
    found = await engaged_as_subprocessor(vendor_id)
    if not found:
        return []
    return [
        Field(
            "engagement_id",
            "Engaged as sub-processor by",
            "select",
            hint="Required when the role is sub-processor.",
            choices=[(str(e.id), f"{e.engaged_by_name}, from {words.day(e.valid_from)}", 0) for e in found],
        )
    ]
