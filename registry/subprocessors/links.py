"""The rule tying a sub-processor's disclosure to its engagement (used by the disclosure service)."""

from typing import Any

from registry.errors import invalid
from registry.subprocessors import rules
from registry.tables import SubprocessorEngagement as SE

SUB_PROCESSOR = "sub_processor"


def _role(values: dict[str, Any]) -> str:
    role = values.get("role") or "processor"
    return getattr(role, "value", role)


async def check_engagement(values: dict[str, Any]) -> None:
    """A disclosure in the role sub_processor names an engagement of its vendor that was not objected
    to and is in force on the disclosure's first day; no other disclosure names one."""
    engagement_id, role = values.get("engagement"), _role(values)
    if engagement_id is None:
        if role == SUB_PROCESSOR:
            raise invalid(
                "engagement_id",
                "required",
                "a sub-processor's disclosure names the engagement by which a processor engaged it",
            )
        return
    if role != SUB_PROCESSOR:
        raise invalid(
            "engagement_id", "only_sub_processor", f"only a sub_processor disclosure names one, not {role}"
        )
    row = await SE.select().where(SE.id == engagement_id).first()
    if row is None:
        raise invalid("engagement_id", "exists", f"engagement {engagement_id} does not exist")
    if row["subprocessor"] != values["vendor"]:
        raise invalid("engagement_id", "same_vendor", f"engagement {engagement_id} engaged another vendor")
    if row["objected_on"] is not None:
        raise invalid(
            "engagement_id", "not_objected", f"we objected to this sub-processor on {row['objected_on']}"
        )
    if not rules.in_force(row["valid_from"], row["valid_to"], values["valid_from"]):
        raise invalid(
            "engagement_id",
            "within_engagement",
            f"the engagement is not in force on {values['valid_from']} ({row['valid_from']} to {row['valid_to'] or 'open'})",
        )
    last = row["valid_to"]
    if last is not None and (values.get("valid_to") is None or values["valid_to"] > last):
        raise invalid(
            "valid_to",
            "within_engagement",
            f"a sub-processor receives no longer than its engagement: it ends on {last}",
        )
