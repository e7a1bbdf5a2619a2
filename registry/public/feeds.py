"""The feeds of the public sub-processor list: JSON Feed 1.1 and Atom (RFC 4287), the same entries."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from xml.etree import ElementTree as ET

from registry.public.schemas import FeedAuthor, FeedChange, FeedItem, JsonFeed
from registry.public.service import Entry, PublicState, country_name

# Feeds ------------------------------------------------------------------------------------------------
ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class FeedLinks:
    """Absolute addresses of the page and the feeds (the feeds are read away from this server)."""

    page: str
    json: str
    atom: str

    @classmethod
    def under(cls, base_url: str) -> "FeedLinks":
        root = base_url.rstrip("/") + "/public/subprocessors"
        return cls(page=root + ".html", json=root + "/feed.json", atom=root + "/feed.atom")


def entry_id(links: FeedLinks, entry: Entry) -> str:
    # Stable across days: a scheduled entry keeps its id when its day comes.
    return f"{links.page}#{entry.change}-{entry.vendor.id}-{entry.on.isoformat()}"


def entry_title(entry: Entry) -> str:
    when = "will be" if entry.scheduled else "was"
    return f"{entry.vendor.name} {when} {entry.change} on {entry.on.isoformat()}"


def entry_text(entry: Entry, organisation: str) -> str:
    vendor = entry.vendor
    who = ", ".join(filter(None, [vendor.legal_name, country_name(vendor.country)]))
    when = "will be" if entry.scheduled else "was"
    change = "added to" if entry.change == "added" else "removed from"
    text = f"{vendor.name} ({who}) {when} {change} the sub-processors of {organisation} on {entry.on.isoformat()}."
    return text + (f" Purposes: {'; '.join(entry.purposes)}." if entry.purposes else "")


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def json_feed(state: PublicState, links: FeedLinks) -> JsonFeed:
    organisation = state.listing.organisation
    return JsonFeed(
        title=f"Sub-processors of {organisation}: changes",
        home_page_url=links.page,
        feed_url=links.json,
        description=f"Sub-processors added to or removed from the list of {organisation}, "
        "including announced changes still to come.",
        authors=[FeedAuthor(name=organisation)],
        items=[
            FeedItem(
                id=entry_id(links, e),
                url=links.page,
                title=entry_title(e),
                content_text=entry_text(e, organisation),
                date_published=midnight(e.published),
                tags=[e.change] + (["scheduled"] if e.scheduled else []),
                registry=FeedChange(change=e.change, date=e.on, scheduled=e.scheduled, vendor=e.vendor.name),
            )
            for e in state.entries
        ],
    )


def atom_feed(state: PublicState, links: FeedLinks) -> bytes:
    """The same entries as RFC 4287 Atom; ElementTree escapes every text and attribute."""
    organisation = state.listing.organisation
    # A default namespace declared on the root puts every element of the document in Atom's.
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "en"})
    updated = max((e.published for e in state.entries), default=state.listing.as_of)
    _sub(feed, "id", links.atom)
    _sub(feed, "title", f"Sub-processors of {organisation}: changes")
    _sub(feed, "updated", midnight(updated).isoformat().replace("+00:00", "Z"))
    _sub(_sub(feed, "author"), "name", organisation)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=links.atom)
    _sub(feed, "link", rel="alternate", type="text/html", href=links.page)
    for e in state.entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", entry_id(links, e))
        _sub(entry, "title", entry_title(e))
        _sub(entry, "updated", midnight(e.published).isoformat().replace("+00:00", "Z"))
        _sub(entry, "link", rel="alternate", type="text/html", href=links.page)
        for term in [e.change] + (["scheduled"] if e.scheduled else []):
            _sub(entry, "category", term=term)
        _sub(entry, "content", entry_text(e, organisation), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element
