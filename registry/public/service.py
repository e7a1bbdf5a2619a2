"""Who is on the public sub-processor list on which days, and when each vendor joins or leaves it.

A vendor is listed on day D when it is marked public at the end of D (its change log says which days)
and holds data on D (one of its disclosures is valid on D). Its listing intervals are therefore those
public days intersected with the union of its disclosures' periods; each interval is an addition on its
first day and, unless open-ended, a removal on the day after its last. Days still to come are announced
as scheduled: customers must hear of an intended change before it happens (GDPR Art. 28(2)).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pycountry

from registry import db
from registry.public import edits
from registry.public.schemas import (
    PublicVendor,
    SubprocessorList,
    TaxonomyName,
)
from registry.tables import Change, Disclosure

Interval = tuple[date, date | None]  # first and last day, inclusive; None: open-ended
ONE_DAY = timedelta(days=1)
_SHOWN_VENDOR = ("name", "legal_name", "country")

# Vendors public now or ever (their change log says so), with every disclosure, category and name.
_CANDIDATES = (
    "SELECT v.id, v.name, v.legal_name, v.country AS vendor_country, v.public, d.id AS disclosure,"
    " d.purpose, pu.name AS purpose_name, d.country, d.valid_from, d.valid_to, dc.category,"
    " ca.name AS category_name"
    " FROM vendor v JOIN disclosure d ON d.vendor = v.id JOIN disclosure_category dc ON dc.disclosure = d.id"
    " LEFT JOIN taxonomy_entry pu ON pu.kind = {} AND pu.key = d.purpose"
    " LEFT JOIN taxonomy_entry ca ON ca.kind = {} AND ca.key = dc.category"
    " WHERE v.public = {} OR CAST(v.id AS VARCHAR(20)) IN"
    " (SELECT c.object_id FROM change c WHERE c.object_type = {} AND %s)"
)
_WAS_PUBLIC = {
    "sqlite": """json_extract(c."after", '$.public') = 1""",
    "postgres": """(c."after" ->> 'public') IN ('true', '1')""",
}


@dataclass
class Held:
    """One disclosure of a candidate vendor: what the list shows of it, and its change rows."""

    id: int
    purpose: TaxonomyName
    country: str
    valid_from: date
    valid_to: date | None
    categories: list[TaxonomyName] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass
class Candidate:
    """A vendor that is, was or may become listed."""

    id: int
    name: str
    legal_name: str | None
    country: str
    public: bool
    disclosures: dict[int, Held] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def purposes_on(self, day: date) -> list[str]:
        return sorted({d.purpose.name for d in self.disclosures.values() if d.valid_on(day)})


@dataclass(frozen=True)
class Entry:
    """A vendor joining (added) or leaving (removed) the list on a day; scheduled while it is to come."""

    vendor: Candidate
    change: str
    on: date
    scheduled: bool
    published: date  # when it was announced, or took effect if that is later
    purposes: tuple[str, ...]
    detail: str = ""  # what changed, for a "changed" entry (registry/public/edits.py)


@dataclass
class PublicState:
    """The list as of one day, every addition and removal (newest first), and every change of purpose
    or country of a vendor that stays listed (the feeds show additions and removals only)."""

    listing: SubprocessorList
    entries: list[Entry]
    changes: list[Entry] = field(default_factory=list)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of periods, as disjoint intervals; adjoining days join up."""
    out: list[Interval] = []
    for start, end in sorted(intervals, key=lambda i: i[0]):
        if out and (out[-1][1] is None or start <= out[-1][1] + ONE_DAY):
            first, last = out[-1]
            out[-1] = (first, None if last is None or end is None else max(last, end))
        else:
            out.append((start, end))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            ends = [e for e in (e1, e2) if e is not None]
            start, end = max(s1, s2), min(ends) if ends else None
            if end is None or start <= end:
                out.append((start, end))
    return sorted(out, key=lambda i: i[0])


def public_days(flags: list[tuple[date, bool]], now_public: bool, today: date) -> list[Interval]:
    """Days a vendor was public: its flag at the end of each day, oldest row first. If the log ends
    on another value than the vendor holds (a row written past the service), today takes the current one."""
    by_day = dict(flags)  # the last row of a day wins
    if (by_day[max(by_day)] if by_day else False) != now_public:
        by_day[today] = now_public
    intervals, start = [], None
    for day in sorted(by_day):
        if by_day[day] and start is None:
            start = day
        elif not by_day[day] and start is not None:
            intervals.append((start, day - ONE_DAY))
            start = None
    return intervals + ([(start, None)] if start is not None else [])


def _day(value: Any) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value


async def _candidates() -> dict[int, Candidate]:
    sql = _CANDIDATES % _WAS_PUBLIC[db.current_engine().engine_type]
    vendors: dict[int, Candidate] = {}
    for r in await Disclosure.raw(sql, "data_use", "data_category", True, "vendor"):
        vendor = vendors.get(r["id"]) or vendors.setdefault(
            r["id"], Candidate(r["id"], r["name"], r["legal_name"], r["vendor_country"], bool(r["public"]))
        )
        held = vendor.disclosures.get(r["disclosure"]) or vendor.disclosures.setdefault(
            r["disclosure"],
            Held(
                id=r["disclosure"],
                purpose=TaxonomyName(key=r["purpose"], name=r["purpose_name"] or r["purpose"]),
                country=r["country"],
                valid_from=_day(r["valid_from"]),
                valid_to=_day(r["valid_to"]) if r["valid_to"] is not None else None,
            ),
        )
        held.categories.append(TaxonomyName(key=r["category"], name=r["category_name"] or r["category"]))
    return vendors


async def _attach_changes(vendors: dict[int, Candidate]) -> None:
    """Each candidate's change rows and those of its disclosures, oldest first (one query)."""
    if not vendors:
        return
    held = {d.id: d for v in vendors.values() for d in v.disclosures.values()}
    rows = (
        await Change.select(
            Change.object_type, Change.object_id, Change.created_at, Change.before, Change.after
        )
        .where(
            ((Change.object_type == "vendor") & Change.object_id.is_in([str(i) for i in vendors]))
            | ((Change.object_type == "disclosure") & Change.object_id.is_in([str(i) for i in held]))
        )
        .order_by(Change.id)
        .output(load_json=True)
    )
    for row in rows:
        row["day"] = _day(row["created_at"])
        owner = vendors if row["object_type"] == "vendor" else held
        owner[int(row["object_id"])].changes.append(row)


async def public_state(organisation: str, today: date) -> PublicState:
    async with db.read_session():
        vendors = await _candidates()
        await _attach_changes(vendors)
    listed, entries, changed, edited = [], [], set(), []
    for vendor in vendors.values():
        public = public_days(
            [(c["day"], bool((c["after"] or {}).get("public"))) for c in vendor.changes], vendor.public, today
        )
        listing = intersect(public, merge((d.valid_from, d.valid_to) for d in vendor.disclosures.values()))
        entries += _entries(vendor, public, listing, today)
        edited += edits.purpose_changes(vendor, listing, today)
        since = next((s for s, e in listing if s <= today and (e is None or today <= e)), None)
        if since is not None:
            listed.append(_shown(vendor, since, today))
            changed |= _edits(vendor, since, today)
    entries.sort(key=lambda e: (-e.on.toordinal(), e.change == "added", e.vendor.name.casefold()))
    changed |= {e.published for e in entries if e.published <= today}
    listed.sort(key=lambda v: (v.name.casefold(), v.name))
    return PublicState(
        listing=SubprocessorList(
            organisation=organisation,
            as_of=today,
            last_updated=max(changed, default=None),
            subprocessors=listed,
        ),
        entries=entries,
        changes=sorted(edited, key=lambda e: (e.on, e.vendor.name.casefold())),
    )


def _entries(vendor: Candidate, public: list[Interval], listing: list[Interval], today: date) -> list[Entry]:
    def entry(change: str, on: date, recorded: date | None, purposes_on: date) -> Entry:
        published = on if recorded is None else recorded if on > today else max(on, recorded)
        purposes = tuple(vendor.purposes_on(purposes_on))
        return Entry(vendor, change, on, on > today, published, purposes)

    found = []
    for start, end in listing:
        starts = [d for d in vendor.disclosures.values() if d.valid_from == start]
        recorded = start if any(s == start for s, _ in public) else earliest_set(starts, "valid_from", start)
        found.append(entry("added", start, recorded, start))
        if end is not None:
            ends = [d for d in vendor.disclosures.values() if d.valid_to == end]
            recorded = (
                end + ONE_DAY if any(e == end for _, e in public) else latest_set(ends, "valid_to", end)
            )
            found.append(entry("removed", end + ONE_DAY, recorded, end))
    return found


def _set_on(held: Held, name: str, value: date) -> date | None:
    """The day the disclosure's ``name`` was last set to ``value`` (from its change rows)."""
    wanted, day = value.isoformat(), None
    for row in held.changes:
        if (row["after"] or {}).get(name) == wanted and (row["before"] or {}).get(name) != wanted:
            day = row["day"]
    return day


def earliest_set(held: list[Held], name: str, value: date) -> date | None:
    return min(filter(None, (_set_on(d, name, value) for d in held)), default=None)


def latest_set(held: list[Held], name: str, value: date) -> date | None:
    return max(filter(None, (_set_on(d, name, value) for d in held)), default=None)


def _shown(vendor: Candidate, since: date, today: date) -> PublicVendor:
    current = [d for d in vendor.disclosures.values() if d.valid_on(today)]
    purposes = {d.purpose.key: d.purpose for d in current}
    categories = {c.key: c for d in current for c in d.categories}
    return PublicVendor(
        name=vendor.name,
        legal_name=vendor.legal_name,
        country=vendor.country,
        purposes=[purposes[k] for k in sorted(purposes)],
        data_categories=[categories[k] for k in sorted(categories)],
        destination_countries=sorted({d.country for d in current}),
        listed_since=since,
    )


def _edits(vendor: Candidate, since: date, today: date) -> set[date]:
    """Days since ``since`` on which what the list shows of a listed vendor changed: one of its
    disclosures began or ended, or an edit changed its name or country or a current disclosure."""
    days = set()
    for held in vendor.disclosures.values():
        bounds = [held.valid_from] + ([held.valid_to + ONE_DAY] if held.valid_to else [])
        days |= {b for b in bounds if since <= b <= today}
        days |= {
            c["day"]
            for c in held.changes
            if _contribution(c["before"], c["day"]) != _contribution(c["after"], c["day"])
        }
    for c in vendor.changes:
        before, after = c["before"] or {}, c["after"] or {}
        if c["before"] and c["after"] and any(before.get(k) != after.get(k) for k in _SHOWN_VENDOR):
            days.add(c["day"])
    return {d for d in days if since <= d <= today}


def _contribution(snapshot: dict[str, Any] | None, day: date) -> tuple | None:
    """What a disclosure snapshot adds to the list on ``day`` (None when it is not valid then)."""
    if not snapshot or not snapshot.get("valid_from"):
        return None
    valid_to = snapshot.get("valid_to")
    if (
        not date.fromisoformat(snapshot["valid_from"])
        <= day
        <= (date.fromisoformat(valid_to) if valid_to else day)
    ):
        return None
    return snapshot.get("purpose"), tuple(sorted(snapshot.get("categories") or [])), snapshot.get("country")


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return getattr(found, "common_name", None) or (found.name if found else code)
