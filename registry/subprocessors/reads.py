"""Sub-processor engagements as read: with the vendors' names and the chain above each."""

from typing import Any

from registry.errors import not_found
from registry.subprocessors import rules
from registry.subprocessors.schemas import ChainLink, ChainNode, EngagementRead
from registry.tables import SubprocessorEngagement, Vendor

SE = SubprocessorEngagement


def _select():
    return SE.select(
        *SE.all_columns(),
        SE.engaged_by.name.as_alias("engaged_by_name"),
        SE.subprocessor.name.as_alias("subprocessor_name"),
    )


async def edges_and_names() -> tuple[dict[int, tuple[int, int]], dict[int, str]]:
    """Every engagement's (engaged_by, subprocessor) and the names of the vendors in them."""
    rows = await SE.select(SE.id, SE.engaged_by, SE.subprocessor)
    edges = {r["id"]: (r["engaged_by"], r["subprocessor"]) for r in rows}
    ids = sorted({v for pair in edges.values() for v in pair})
    names = {}
    if ids:
        names = {
            v["id"]: v["name"]
            for v in await Vendor.select(Vendor.id, Vendor.name).where(Vendor.id.is_in(ids))
        }
    return edges, names


def to_read(row: dict[str, Any], edges, names) -> EngagementRead:
    data = {k: v for k, v in row.items() if k not in ("engaged_by", "subprocessor")}
    data.update(
        engaged_by_id=row["engaged_by"],
        subprocessor_id=row["subprocessor"],
        flow_down_contract_id=data.pop("flow_down_contract"),
        processor_contract_id=data.pop("processor_contract"),
        chain=[ChainLink(**link) for link in rules.chain(row["id"], edges, names)],
    )
    return EngagementRead.model_validate(data)


async def read_many(rows: list[dict[str, Any]]) -> list[EngagementRead]:
    edges, names = await edges_and_names()
    return [to_read(r, edges, names) for r in rows]


async def get_engagement(engagement_id: int) -> EngagementRead:
    row = await _select().where(SE.id == engagement_id).first()
    if row is None:
        raise not_found("sub-processor engagement", engagement_id)
    return (await read_many([row]))[0]


async def every_engagement() -> list[EngagementRead]:
    """Every engagement in id order (the register export)."""
    return await read_many(await _select().order_by(SE.id))


async def engaged_by(vendor_id: int) -> list[EngagementRead]:
    """The engagements this vendor made, in id order."""
    if not await Vendor.exists().where(Vendor.id == vendor_id):
        raise not_found("vendor", vendor_id)
    return await read_many(await _select().where(SE.engaged_by == vendor_id).order_by(SE.id))


async def engaged_as_subprocessor(vendor_id: int) -> list[EngagementRead]:
    """The engagements that made this vendor a sub-processor, in id order."""
    return await read_many(await _select().where(SE.subprocessor == vendor_id).order_by(SE.id))


async def tree(vendor_id: int) -> ChainNode:
    """The vendor, the sub-processors it engaged, theirs, and so on (each vendor once per branch)."""
    vendor = await Vendor.select(Vendor.id, Vendor.name).where(Vendor.id == vendor_id).first()
    if vendor is None:
        raise not_found("vendor", vendor_id)
    every = await read_many(await _select().order_by(SE.id))
    below: dict[int, list[EngagementRead]] = {}
    for e in every:
        below.setdefault(e.engaged_by_id, []).append(e)

    def node(vid: int, name: str, via: EngagementRead | None, seen: frozenset[int]) -> ChainNode:
        children = [
            node(e.subprocessor_id, e.subprocessor_name, e, seen | {e.subprocessor_id})
            for e in below.get(vid, [])
            if e.subprocessor_id not in seen
        ]
        return ChainNode(vendor_id=vid, vendor_name=name, engagement=via, subprocessors=children)

    return node(vendor["id"], vendor["name"], None, frozenset({vendor["id"]}))
