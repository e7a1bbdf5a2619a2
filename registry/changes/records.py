"""Replaying the change log against the records: each record's state must be what its last change left.

An edit made in SQL changes a record without a change row: the hash chain and the checkpoints cannot
see it, this can. For every record kind that the services log, each current row is compared with the
after-image of the last change to it (the fields both have), table by table in batches, and every
change whose record is gone without a delete is named. Only what the after-images hold is checked:
the disclosure's categories (another table) and the masked webhook URL (by its SHA-256) are not, or
only so.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from piccolo.table import Table

from registry.tables import (
    ApiKey,
    Attestation,
    Change,
    Contract,
    DeletionConfirmation,
    DeletionObligation,
    Disclosure,
    JournalEntry,
    Person,
    TaxonomyEntry,
    Vendor,
    Webhook,
)

BATCH = 500


@dataclass(frozen=True)
class Kind:
    """How one kind of change (change.object_type) maps to the rows of a table."""

    table: type[Table]
    key: str = "id"
    # After-image field -> column, where the service logs a Read schema rather than the row.
    renames: dict[str, str] = field(default_factory=dict)
    ignored: frozenset[str] = frozenset()
    # Actions whose after-image is not the record's state (an uploaded file's name and hash).
    partial_actions: tuple[str, ...] = ()
    taxonomy: bool = False


_IDS = {"vendor_id": "vendor", "contract_id": "contract", "obligation_id": "obligation"}
KINDS = {
    "vendor": Kind(Vendor),
    "contract": Kind(Contract),
    "disclosure": Kind(Disclosure, renames=_IDS),
    # confirmed_on is logged with a change; updated_at also moves when a later confirmation changes nothing.
    "deletion_obligation": Kind(DeletionObligation, renames=_IDS, ignored=frozenset({"updated_at"})),
    "deletion_confirmation": Kind(DeletionConfirmation, partial_actions=("upload",)),
    "attestation": Kind(Attestation, key="serial", renames=_IDS),
    "journal_entry": Kind(JournalEntry),
    "webhook": Kind(Webhook, ignored=frozenset({"url"})),  # logged masked; url_sha256 is compared
    "api_key": Kind(ApiKey, key="name"),
    "person": Kind(Person, key="name"),
    **{
        kind: Kind(TaxonomyEntry, key="key", taxonomy=True)
        for kind in ("data_category", "data_use", "data_subject")
    },
}


@dataclass
class RecordMismatch:
    """A record whose current state no change explains."""

    object_type: str
    object_id: str
    problem: str


async def verify_records(batch: int = BATCH) -> list[RecordMismatch]:
    """Every record of every logged kind compared with its last change; the mismatches, in order."""
    found: list[RecordMismatch] = []
    for object_type, kind in KINDS.items():
        found += await _check_rows(object_type, kind, batch)
        found += await _check_gone(object_type, kind, batch)
    return found


def _state_filter(kind: Kind) -> str:
    return "".join(f" AND action <> '{action}'" for action in kind.partial_actions)


async def _check_rows(object_type: str, kind: Kind, batch: int) -> list[RecordMismatch]:
    key = getattr(kind.table, kind.key)
    found, last = [], None
    while True:
        query = kind.table.select().order_by(key).limit(batch).output(load_json=True)
        if kind.taxonomy:
            query = query.where(TaxonomyEntry.kind == object_type)
        if last is not None:
            query = query.where(key > last)
        rows = await query
        if not rows:
            return found
        latest = await _latest(object_type, kind, [str(r[kind.key]) for r in rows])
        for row in rows:
            object_id = str(row[kind.key])
            if (problem := _explained(kind, row, latest.get(object_id))) is not None:
                found.append(RecordMismatch(object_type, object_id, problem))
        last = rows[-1][kind.key]


async def _latest(object_type: str, kind: Kind, object_ids: list[str]) -> dict[str, dict]:
    marks = ", ".join("{}" for _ in object_ids)
    rows = await Change.raw(
        "SELECT id, object_id, action, after FROM change WHERE id IN (SELECT MAX(id) FROM change"
        f" WHERE object_type = {{}} AND object_id IN ({marks}){_state_filter(kind)} GROUP BY object_id)",
        object_type,
        *object_ids,
    )
    return {r["object_id"]: {**r, "after": _loaded(r["after"])} for r in rows}


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _explained(kind: Kind, row: dict[str, Any], change: dict | None) -> str | None:
    if change is None:
        if kind.taxonomy and row.get("is_default"):
            return None  # the default taxonomy is seeded by a migration, not written through a service
        return "exists, but no change created it (inserted in SQL)"
    after = change["after"]
    if after is None:
        return f"exists, but its last change ({change['id']}, {change['action']}) deleted it"
    if not isinstance(after, dict):
        return f"its last change ({change['id']}) holds no record"
    current = dict(row)
    if "url" in current and kind.table is Webhook:
        current["url_sha256"] = hashlib.sha256(current["url"].encode()).hexdigest()
    differing = sorted(
        name
        for name, logged in after.items()
        if name not in kind.ignored
        and (column := kind.renames.get(name, name)) in current
        and not _same(current[column], logged)
    )
    if differing:
        return f"differs from its last change ({change['id']}) in: {', '.join(differing)}"
    return None


def _same(current: Any, logged: Any) -> bool:
    """The current value equals the logged one (dates and times compared as such, not as text)."""
    try:
        if isinstance(current, datetime):
            return isinstance(logged, str) and datetime.fromisoformat(logged) == current
        if isinstance(current, date):
            return isinstance(logged, str) and date.fromisoformat(logged) == current
    except ValueError:
        return False
    if isinstance(logged, bool) and current in (0, 1):
        return bool(current) is logged
    return current == logged


async def _check_gone(object_type: str, kind: Kind, batch: int) -> list[RecordMismatch]:
    """Records whose last change left them in place, but whose row is gone."""
    found, last_id = [], 0
    state = _state_filter(kind)
    while True:
        changes = await Change.raw(
            "SELECT c.id, c.object_id FROM change c WHERE c.object_type = {} AND c.id > {}"
            f" AND c.after IS NOT NULL{state.replace('action', 'c.action')} AND c.id = (SELECT MAX(d.id)"
            " FROM change d WHERE d.object_type = c.object_type AND d.object_id = c.object_id"
            f"{state.replace('action', 'd.action')}) ORDER BY c.id LIMIT {{}}",
            object_type,
            last_id,
            batch,
        )
        if not changes:
            return found
        present = await _present(object_type, kind, [c["object_id"] for c in changes])
        found += [
            RecordMismatch(
                object_type, c["object_id"], f"its last change ({c['id']}) left it, but the row is gone"
            )
            for c in changes
            if c["object_id"] not in present
        ]
        last_id = changes[-1]["id"]


async def _present(object_type: str, kind: Kind, object_ids: list[str]) -> set[str]:
    key = getattr(kind.table, kind.key)
    if kind.key == "id":
        wanted: list[Any] = [int(i) for i in object_ids if i.isdigit() and len(i) < 19]
    else:
        wanted = list(object_ids)
    if not wanted:
        return set()
    query = kind.table.select(key).where(key.is_in(wanted))
    if kind.taxonomy:
        query = query.where(TaxonomyEntry.kind == object_type)
    return {str(r[kind.key]) for r in await query}
