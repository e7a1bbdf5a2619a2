"""Sub-processor chains as plain functions: the chain above a sub-processor and cycles, one definition
for the engagement service, both lookup paths and the vendor page."""

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

# (engaged_by, subprocessor) of each engagement, by engagement id.
Edges = Mapping[int, tuple[int, int]]
_DEEPEST = 64  # no real chain is this deep; a guard should a cycle ever be stored


def parents(edges: Edges) -> dict[int, int]:
    """Each sub-processor's engagement above it: the first one recorded (lowest id), so that both
    lookup paths pick the same one when a vendor is engaged by two processors."""
    found: dict[int, int] = {}
    for engagement_id in sorted(edges):
        found.setdefault(edges[engagement_id][1], engagement_id)
    return found


def chain(engagement_id: int, edges: Edges, names: Any) -> list[dict]:
    """The processors from ours down to the engagement's sub-processor, each with the engagement by
    which it passed the data down: [{vendor_id, vendor_name, engagement_id}, ...]."""
    above, links, seen = parents(edges), [], set()
    current: int | None = engagement_id
    while current is not None and current in edges and current not in seen and len(links) < _DEEPEST:
        seen.add(current)
        engaged_by = edges[current][0]
        links.append(
            {"vendor_id": engaged_by, "vendor_name": names.get(engaged_by, ""), "engagement_id": current}
        )
        current = above.get(engaged_by)
    return links[::-1]


def cycle(engaged_by: int, subprocessor: int, edges: Iterable[tuple[int, int]]) -> list[int] | None:
    """The vendors of the cycle engaging ``subprocessor`` for ``engaged_by`` would close (from the
    sub-processor down its own sub-processors back to the processor), or None."""
    if engaged_by == subprocessor:
        return [engaged_by, engaged_by]
    below: dict[int, list[int]] = {}
    for by, sub in edges:
        below.setdefault(by, []).append(sub)
    paths, seen = [[subprocessor]], {subprocessor}
    while paths:
        path = paths.pop()
        for nxt in below.get(path[-1], ()):
            if nxt == engaged_by:
                return [engaged_by, *path, engaged_by]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return None


def overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def in_force(valid_from: date, valid_to: date | None, day: date) -> bool:
    return valid_from <= day and (valid_to is None or valid_to >= day)
