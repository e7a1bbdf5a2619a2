"""The disclosures a worker keeps in memory, so that a lookup is answered without a query.

Vendor → its disclosures, and category → the disclosures holding it; each disclosure once, with its
period as day numbers. The recipients of a set of categories are kept as a ``Periods`` (built on first
use, updated in place by each write, the least recently asked dropped beyond ``PERIOD_ENTRIES``): the
matching disclosures in answer order (vendor id, disclosure id) with parallel start and end arrays, and
the starts and ends sorted, so that the total of any period is two binary searches and a page is a
scan from the front. ``registry.lookup.keeper`` fills the index and keeps it current.
"""

from array import array
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from datetime import date
from typing import Any

from registry.enums import ContractKind, LegalBasis, RecipientRole, VendorKind

OPEN = date.max.toordinal() + 1  # the end of a period without a last day
# Entries of all kept Periods together (24 bytes each, so at most about 100 MiB).
PERIOD_ENTRIES = 4_000_000


def _key(vendor: int, disclosure: int) -> int:
    return (vendor << 32) | disclosure  # ids are < 2**31 (registry.schemas.MAX_ID)


class Held:
    """One disclosure as the index holds it: the fields of DisclosureRead but the joined names."""

    __slots__ = (
        "basis",
        "categories",
        "consent_reference",
        "contract",
        "end",
        "country",
        "created_at",
        "data_subjects",
        "ended_reason",
        "engagement",
        "id",
        "legal_reference",
        "notes",
        "origin",
        "purpose",
        "role",
        "start",
        "updated_at",
        "valid_from",
        "valid_to",
        "vendor",
        "version",
    )

    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)

    # DisclosureRead's names, which lookup.service.decide reads.
    @property
    def contract_id(self) -> int | None:
        return self.contract

    @property
    def engagement_id(self) -> int | None:
        return self.engagement


class Periods:
    """The disclosures holding any of a set of categories, in answer order, with their periods."""

    __slots__ = ("ends", "keys", "sorted_ends", "sorted_starts", "starts")

    def __init__(self, held: list[Held]) -> None:
        rows = sorted((_key(d.vendor, d.id), d.start, d.end) for d in held)
        self.keys = array("q", (r[0] for r in rows))
        self.starts = array("i", (r[1] for r in rows))
        self.ends = array("i", (r[2] for r in rows))
        self.sorted_starts = array("i", sorted(self.starts))
        self.sorted_ends = array("i", sorted(self.ends))

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, d: Held) -> None:
        key = _key(d.vendor, d.id)
        at = bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.starts.insert(at, d.start)
        self.ends.insert(at, d.end)
        insort(self.sorted_starts, d.start)
        insort(self.sorted_ends, d.end)

    def remove(self, d: Held) -> None:
        at = bisect_left(self.keys, _key(d.vendor, d.id))
        del self.keys[at], self.starts[at], self.ends[at]
        del self.sorted_starts[bisect_left(self.sorted_starts, d.start)]
        del self.sorted_ends[bisect_left(self.sorted_ends, d.end)]

    def count(self, first: int, last: int) -> int:
        """Periods overlapping [first, last]: all but those starting after it and those ending before
        it (a period cannot do both)."""
        later = len(self.sorted_starts) - bisect_right(self.sorted_starts, last)
        return len(self.keys) - later - bisect_left(self.sorted_ends, first)

    def page(self, first: int, last: int, offset: int, limit: int) -> list[int]:
        """Disclosure ids of the overlapping periods from ``offset``, at most ``limit``."""
        found: list[int] = []
        starts, ends, keys = self.starts, self.ends, self.keys
        for at in range(len(keys)):
            if starts[at] <= last and ends[at] >= first:
                if offset:
                    offset -= 1
                    continue
                found.append(keys[at] & 0xFFFFFFFF)
                if len(found) == limit:
                    break
        return found


class DisclosureIndex:
    """Vendors, contracts and disclosures as of the change ``head`` (id, hash) of the database."""

    def __init__(self) -> None:
        self.head: tuple[int, str] = (0, "")
        self.vendors: dict[int, tuple[str, VendorKind, str]] = {}
        self.contracts: dict[int, dict[str, Any]] = {}
        self.disclosures: dict[int, Held] = {}
        # The transfer records the check decides on (registry.transfers.rules), by disclosure id.
        self.transfers: dict[int, dict[str, Any]] = {}
        # Sub-processor engagements: id → (engaged_by, subprocessor), for the chains.
        self.engagements: dict[int, tuple[int, int]] = {}
        # ... and what the check decides on: period, objection, processor contract (lookup.service).
        self.engagement_terms: dict[int, dict[str, Any]] = {}
        self.of_vendor: dict[int, list[int]] = {}
        self.of_category: dict[str, array] = {}
        self.periods: OrderedDict[tuple[str, ...], Periods] = OrderedDict()
        self.period_entries = 0
        # Each recipient's JSON before and after its categories, by disclosure id; a write empties it.
        self.fragments: dict[int, tuple[bytes, ...]] = {}
        self._interned: dict[Any, Any] = {}

    def _same(self, value: Any) -> Any:
        """One object for equal values (categories, purposes, days, countries): most repeat."""
        return self._interned.setdefault(value, value)

    def put_vendor(self, row: Any) -> None:
        self.fragments.clear()
        self.vendors[row["id"]] = (row["name"], VendorKind(row["kind"]), self._same(row["country"]))

    def put_contract(self, row: Any) -> None:
        self.fragments.clear()
        contract = {name: row[name] for name in row.keys()}
        contract["kind"] = ContractKind(contract["kind"])
        contract["confidentiality_equivalent"] = bool(contract["confidentiality_equivalent"])
        self.contracts[row["id"]] = contract

    def put_engagement(self, row: Any) -> None:
        self.fragments.clear()
        self.engagements[row["id"]] = (row["engaged_by"], row["subprocessor"])
        self.engagement_terms[row["id"]] = {
            name: row[name] for name in ("id", "valid_from", "valid_to", "objected_on", "processor_contract")
        }

    def drop_engagement(self, engagement_id: int) -> None:
        self.fragments.clear()
        self.engagements.pop(engagement_id, None)
        self.engagement_terms.pop(engagement_id, None)

    def put_disclosure(self, row: Any, categories: list[str]) -> None:
        """Adds or replaces a disclosure (its row as read, and its category keys)."""
        self.drop_disclosure(row["id"])
        same = self._same
        subjects = row["data_subjects"]
        d = Held(
            id=row["id"],
            vendor=same(row["vendor"]),
            contract=same(row["contract"]),
            basis=LegalBasis(row["basis"]),
            role=RecipientRole(row["role"]),
            purpose=same(row["purpose"]),
            consent_reference=row["consent_reference"],
            legal_reference=row["legal_reference"],
            data_subjects=same(tuple(subjects)),
            country=same(row["country"]),
            origin=same(row["origin"]),
            valid_from=same(row["valid_from"]),
            valid_to=same(row["valid_to"]),
            ended_reason=row["ended_reason"],
            notes=row["notes"],
            engagement=row["engagement"],
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            categories=tuple(same(c) for c in sorted(set(categories))),
        )
        # The period as day numbers, for the Periods arrays.
        d.start = same(d.valid_from.toordinal())
        d.end = same(OPEN if d.valid_to is None else d.valid_to.toordinal())
        self.disclosures[d.id] = d
        insort(self.of_vendor.setdefault(d.vendor, []), d.id)
        for category in d.categories:
            self.of_category.setdefault(category, array("q")).append(d.id)
        for matched, periods in self.periods.items():
            if any(c in matched for c in d.categories):
                periods.add(d)
                self.period_entries += 1

    def drop_disclosure(self, disclosure_id: int) -> None:
        d = self.disclosures.pop(disclosure_id, None)
        if d is None:
            return
        self.fragments.clear()
        ids = self.of_vendor[d.vendor]
        del ids[bisect_left(ids, d.id)]
        for category in d.categories:
            self.of_category[category].remove(d.id)
        for matched, periods in self.periods.items():
            if any(c in matched for c in d.categories):
                periods.remove(d)
                self.period_entries -= 1

    def periods_of(self, matched: tuple[str, ...]) -> Periods:
        """The Periods of a set of categories (sorted keys), built on first use."""
        periods = self.periods.get(matched)
        if periods is not None:
            self.periods.move_to_end(matched)
            return periods
        ids: set[int] = set()
        for category in matched:
            ids.update(self.of_category.get(category, ()))
        periods = Periods([self.disclosures[i] for i in ids])
        while self.periods and self.period_entries + len(periods) > PERIOD_ENTRIES:
            self.period_entries -= len(self.periods.popitem(last=False)[1])
        self.periods[matched] = periods
        self.period_entries += len(periods)
        return periods

    def recipients(
        self, matched: tuple[str, ...], first: date, last: date, offset: int, limit: int
    ) -> tuple[int, list[Held]]:
        """(total, a page) of the disclosures of the categories whose period overlaps [first, last]."""
        periods = self.periods_of(matched)
        start, end = first.toordinal(), last.toordinal()
        total = periods.count(start, end)
        if total <= offset:
            return total, []
        return total, [self.disclosures[i] for i in periods.page(start, end, offset, limit)]

    def of(self, vendor_id: int) -> list[Held]:
        """The vendor's disclosures in id order."""
        return [self.disclosures[i] for i in self.of_vendor.get(vendor_id, ())]
