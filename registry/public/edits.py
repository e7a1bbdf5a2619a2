"""Changes of what a listed sub-processor does: a purpose or a destination country begins or ends while
the vendor stays listed (its joining and leaving are entries of service.py), a current disclosure is
edited to another purpose or country, or the vendor to another country. Each is one "changed" entry per vendor and day, for the notices."""

from datetime import date

from registry.public import service  # the module, not its names: it imports this one

Shown = tuple[frozenset[str], frozenset[str]]  # purposes' names, destination countries


def _shown(vendor, day: date) -> Shown:
    current = [d for d in vendor.disclosures.values() if d.valid_on(day)]
    return frozenset(d.purpose.name for d in current), frozenset(d.country for d in current)


def _listed(listing, day: date) -> bool:
    return any(s <= day and (e is None or day <= e) for s, e in listing)


def _difference(before: Shown, after: Shown) -> list[str]:
    said = []
    for label, old, new in (("purpose", before[0], after[0]), ("destination country", before[1], after[1])):
        if new - old:
            said.append(f"new {label}: {', '.join(sorted(new - old))}")
        if old - new:
            said.append(f"{label} no longer: {', '.join(sorted(old - new))}")
    return said


def _bound_changes(vendor, listing) -> dict[date, tuple[list[str], date | None]]:
    """Days inside a listing on which a disclosure begins or ends and what the list shows changes."""
    found = {}
    bounds = {d.valid_from for d in vendor.disclosures.values()}
    bounds |= {d.valid_to + service.ONE_DAY for d in vendor.disclosures.values() if d.valid_to}
    for day in sorted(bounds):
        if not (_listed(listing, day) and _listed(listing, day - service.ONE_DAY)):
            continue  # the vendor joins or leaves that day: an addition or removal, not a change
        said = _difference(_shown(vendor, day - service.ONE_DAY), _shown(vendor, day))
        if said:
            starts = [d for d in vendor.disclosures.values() if d.valid_from == day]
            ends = [d for d in vendor.disclosures.values() if d.valid_to == day - service.ONE_DAY]
            recorded = service.earliest_set(starts, "valid_from", day) or service.latest_set(
                ends, "valid_to", day - service.ONE_DAY
            )
            found[day] = (said, recorded)
    return found


def _edited(vendor, listing) -> dict[date, list[str]]:
    """Edits that moved a current disclosure to another purpose or country, or the vendor to another
    country, by the day they were made."""
    names = {d.purpose.key: d.purpose.name for d in vendor.disclosures.values()}
    found: dict[date, list[str]] = {}
    for held in vendor.disclosures.values():
        for row in held.changes:
            before, after, day = row["before"] or {}, row["after"] or {}, row["day"]
            if not before or not after or not (held.valid_on(day) and _listed(listing, day)):
                continue
            for key, label in (("purpose", "purpose"), ("country", "destination country")):
                old, new = before.get(key), after.get(key)
                if old and new and old != new:
                    shown = (names.get(old, old), names.get(new, new))
                    found.setdefault(day, []).append(f"{label} changed from {shown[0]} to {shown[1]}")
    for row in vendor.changes:  # the vendor's own country: where it is established
        before, after, day = row["before"] or {}, row["after"] or {}, row["day"]
        old, new = before.get("country"), after.get("country")
        if old and new and old != new and _listed(listing, day):
            found.setdefault(day, []).append(f"established in {new} instead of {old}")
    return found


def purpose_changes(vendor, listing, today: date) -> list:
    """The vendor's "changed" entries (service.Entry), one per day; scheduled while still to come."""
    bounds, edited = _bound_changes(vendor, listing), _edited(vendor, listing)
    entries = []
    for day in sorted(bounds.keys() | edited.keys()):
        said, recorded = bounds.get(day, ([], None))
        said = said + edited.get(day, [])
        published = day if recorded is None else min(day, recorded) if day > today else max(day, recorded)
        purposes = tuple(sorted(_shown(vendor, day)[0]))
        entries.append(
            service.Entry(vendor, "changed", day, day > today, published, purposes, "; ".join(said))
        )
    return entries
