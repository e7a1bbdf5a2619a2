"""GDPR Art. 28(4) for one engagement: the flow-down contract against the processor's contract."""

from registry import db
from registry.contracts import conformance
from registry.contracts.service import contracts_with_categories
from registry.subprocessors.reads import get_engagement
from registry.subprocessors.schemas import FlowDownConformance
from registry.tables import Contract


async def flow_down_conformance(engagement_id: int) -> FlowDownConformance:
    async with db.read_session():
        e = await get_engagement(engagement_id)
        ids = [i for i in (e.processor_contract_id, e.flow_down_contract_id) if i]
        rows = {r["id"]: r for r in await Contract.select().where(Contract.id.is_in(ids or [0]))}
        categories = await contracts_with_categories(ids)
    missing, detail = [], ""
    if e.flow_down_contract_id is None:
        detail = "no flow-down contract is recorded for this sub-processor"
    elif e.processor_contract_id is None:
        detail = (
            "the processor's contract with us is not named: nothing to compare the flow-down contract with"
        )
    else:
        missing = conformance.flow_down_gaps(
            rows[e.processor_contract_id],
            e.processor_contract_id in categories,
            rows[e.flow_down_contract_id],
            e.flow_down_contract_id in categories,
        )
        detail = (
            f"the flow-down contract lacks clauses of the processor's contract: {', '.join(missing)}"
            if missing
            else "the flow-down contract imposes every clause of the processor's contract"
        )
    return FlowDownConformance(
        engagement_id=e.id,
        rule=conformance.FLOW_DOWN_ID,
        article=conformance.FLOW_DOWN_ARTICLE,
        conforms=bool(e.flow_down_contract_id and e.processor_contract_id) and not missing,
        flow_down_contract_id=e.flow_down_contract_id,
        processor_contract_id=e.processor_contract_id,
        missing_clauses=missing,
        detail=detail,
    )
