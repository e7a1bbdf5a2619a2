"""Taxonomy rules: seeded entries are fixed, custom ones hang under an existing parent."""

import functools
import time
from typing import Any

from piccolo.columns.combination import WhereRaw

from registry import db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.enums import ChangeAction, TaxonomyKind
from registry.errors import conflict, invalid, not_found
from registry.head import observed_head
from registry.tables import Disclosure, DisclosureCategory, TaxonomyEntry
from registry.taxonomy.schemas import TaxonomyCreate, TaxonomyNode, TaxonomyRead, TaxonomyUpdate

_READ = (
    TaxonomyEntry.key,
    TaxonomyEntry.name,
    TaxonomyEntry.description,
    TaxonomyEntry.parent_key,
    TaxonomyEntry.is_default,
)
_SUBJECT_IN_USE = {
    "sqlite": "EXISTS (SELECT 1 FROM json_each(disclosure.data_subjects) WHERE json_each.value = {})",
    "postgres": "EXISTS (SELECT 1 FROM json_array_elements_text(disclosure.data_subjects) AS s(value)"
    " WHERE s.value = {})",
}


async def list_entries(kind: TaxonomyKind) -> list[TaxonomyRead]:
    rows = (
        await TaxonomyEntry.select(*_READ).where(TaxonomyEntry.kind == kind.value).order_by(TaxonomyEntry.key)
    )
    return [TaxonomyRead(**row) for row in rows]


async def tree(kind: TaxonomyKind) -> list[TaxonomyNode]:
    nodes = {e.key: TaxonomyNode(**e.model_dump(), children=[]) for e in await list_entries(kind)}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.parent_key) if node.parent_key else None
        (parent.children if parent else roots).append(node)
    return roots


def _is_under(key: str, ancestor: str) -> bool:
    return key == ancestor or key.startswith(ancestor + ".")


# Lookups read the taxonomy on every call; it changes rarely. Each worker keeps the keys: checked against
# the change-log head when the request has read it (the lookup answer cache does), otherwise for a few
# seconds. Writes always read the database.
_CACHE_SECONDS = 5.0
_cache: dict[tuple[int, TaxonomyKind], tuple[float, tuple | None, frozenset[str]]] = {}


async def known_keys(kind: TaxonomyKind, fresh: bool = False) -> frozenset[str]:
    slot = (id(db.current_engine()), kind)
    cached, head = _cache.get(slot), observed_head.get()
    if not fresh and cached:
        if head is not None and cached[1] == head:
            return cached[2]
        if head is None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[2]
    rows = await TaxonomyEntry.select(TaxonomyEntry.key).where(TaxonomyEntry.kind == kind.value)
    keys = frozenset(row["key"] for row in rows)
    _cache[slot] = (time.monotonic(), head, keys)
    return keys


async def keys_under(kind: TaxonomyKind, key: str) -> list[str]:
    """``key`` and every key below it."""
    return list(_under(await known_keys(kind), key))


@functools.lru_cache(maxsize=4096)
def _under(keys: frozenset[str], key: str) -> tuple[str, ...]:
    # Per set of known keys (a frozenset keeps its hash): lookups ask it on every request.
    return tuple(sorted(k for k in keys if _is_under(k, key)))


async def require_keys(kind: TaxonomyKind, keys: list[str], field: str, fresh: bool = True) -> None:
    """422 naming every key that is not in the taxonomy (``fresh=False``: the cache may answer)."""
    unknown = sorted(set(keys) - await known_keys(kind, fresh=fresh))
    if unknown:
        raise invalid(field, "taxonomy", f"not in the {kind.value} taxonomy: {', '.join(unknown)}")


async def _row(kind: TaxonomyKind, key: str) -> dict[str, Any]:
    row = (
        await TaxonomyEntry.select().where(TaxonomyEntry.kind == kind.value, TaxonomyEntry.key == key).first()
    )
    if row is None:
        raise not_found(kind.value, repr(key))
    return row


def _fixed(row: dict[str, Any]) -> None:
    if row["is_default"]:
        raise conflict(f"{row['key']!r} is part of the fideslang default taxonomy and cannot change.")


async def create_entry(ctx: WriteContext, kind: TaxonomyKind, data: TaxonomyCreate) -> TaxonomyRead:
    parent = data.key.rsplit(".", 1)[0] if "." in data.key else None
    async with db.write_transaction():
        if parent is None and kind is not TaxonomyKind.data_subject:
            raise invalid(
                "key", "parent", f"a custom {kind.value} goes under an existing one, e.g. user.{data.key}"
            )
        if parent is not None and not await TaxonomyEntry.exists().where(
            TaxonomyEntry.kind == kind.value, TaxonomyEntry.key == parent
        ):
            raise invalid("key", "parent", f"the parent {parent!r} is not in the {kind.value} taxonomy")
        if await TaxonomyEntry.exists().where(
            TaxonomyEntry.kind == kind.value, TaxonomyEntry.key == data.key
        ):
            raise conflict(f"{data.key!r} already exists in the {kind.value} taxonomy.")
        await TaxonomyEntry.insert(
            TaxonomyEntry(
                kind=kind.value,
                key=data.key,
                name=data.name,
                description=data.description,
                parent_key=parent,
                is_default=False,
            )
        )
        row = await _row(kind, data.key)
        await record_change(ctx, kind.value, data.key, ChangeAction.create, None, row)
    _cache.pop((id(db.current_engine()), kind), None)
    return TaxonomyRead(**{k: row[k] for k in TaxonomyRead.model_fields})


async def update_entry(ctx: WriteContext, kind: TaxonomyKind, key: str, data: TaxonomyUpdate) -> TaxonomyRead:
    sent = data.model_dump(exclude_unset=True)
    if "name" in sent and sent["name"] is None:
        raise invalid("name", "not_null", "cannot be cleared")
    async with db.write_transaction():
        before = await _row(kind, key)
        _fixed(before)
        await TaxonomyEntry.update(sent).where(TaxonomyEntry.id == before["id"])
        after = await _row(kind, key)
        await record_change(ctx, kind.value, key, ChangeAction.update, before, after)
    return TaxonomyRead(**{k: after[k] for k in TaxonomyRead.model_fields})


async def _users(kind: TaxonomyKind, key: str) -> list[int]:
    if kind is TaxonomyKind.data_category:
        rows = await DisclosureCategory.select(DisclosureCategory.disclosure).where(
            DisclosureCategory.category == key
        )
        return sorted({r["disclosure"] for r in rows})
    if kind is TaxonomyKind.data_use:
        rows = await Disclosure.select(Disclosure.id).where(Disclosure.purpose == key)
    else:
        sql = _SUBJECT_IN_USE[db.current_engine().engine_type]
        rows = await Disclosure.select(Disclosure.id).where(WhereRaw(sql, key))
    return sorted(r["id"] for r in rows)


async def delete_entry(ctx: WriteContext, kind: TaxonomyKind, key: str) -> None:
    async with db.write_transaction():
        before = await _row(kind, key)
        _fixed(before)
        children = await TaxonomyEntry.select(TaxonomyEntry.key).where(
            TaxonomyEntry.kind == kind.value, TaxonomyEntry.parent_key == key
        )
        if children:
            raise conflict(
                f"{key!r} has entries under it: {', '.join(c['key'] for c in children)}.",
                conflicts=[{"type": kind.value, "key": c["key"]} for c in children],
            )
        users = await _users(kind, key)
        if users:
            raise conflict(
                f"{key!r} is used by disclosures {', '.join(map(str, users))}.",
                conflicts=[{"type": "disclosure", "id": i} for i in users],
            )
        await TaxonomyEntry.delete().where(TaxonomyEntry.id == before["id"])
        await record_change(ctx, kind.value, key, ChangeAction.delete, before, None)
    _cache.pop((id(db.current_engine()), kind), None)
