"""The public sub-processor list: who is listed, the page, caching, and the feeds of additions and removals."""

from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest

from registry import clock
from registry.app import create_app
from registry.tables import Change
from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio

ATOM = "{http://www.w3.org/2005/Atom}"
SUPPORT = "essential.service.operations.support"
PAYMENTS = "essential.service.payment_processing"


def day(offset: int) -> str:
    return (clock.today() + timedelta(days=offset)).isoformat()


async def holder(client, auth, name: str, *, public: bool = True, **disclosure) -> tuple[dict, dict]:
    """A vendor with a DPA and one disclosure (valid from 30 days ago unless told otherwise)."""
    vendor = await make_vendor(client, auth, name=name, public=public, legal_name=f"{name} GmbH")
    contract = await make_contract(client, auth, vendor["id"])
    made = await make_disclosure(
        client, auth, vendor["id"], contract["id"], **{"valid_from": day(-30), **disclosure}
    )
    return vendor, made


async def recorded_days_ago(days: int) -> None:
    """Date every change row so far back, as if it had all been recorded then: a test cannot wait a
    day. It moves no head, so call it before the list is first read."""
    await Change.update({Change.created_at: datetime.now(UTC) - timedelta(days=days)}, force=True)


async def feed(client) -> list[dict]:
    response = await client.get("/public/subprocessors/feed.json")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def changes(items: list[dict], vendor: str) -> list[tuple[str, str, bool]]:
    return [
        (i["_registry"]["change"], i["_registry"]["date"], i["_registry"]["scheduled"])
        for i in items
        if i["_registry"]["vendor"] == vendor
    ]


class TestListSubprocessors:
    async def test_only_public_vendors_holding_data_today_are_listed(self, client, auth):
        await holder(client, auth, "Listed")
        await holder(client, auth, "Private", public=False)
        await make_vendor(client, auth, name="Public, no disclosure", public=True)
        await holder(client, auth, "Ended", valid_from=day(-60), valid_to=day(-1))
        await holder(client, auth, "Not yet", valid_from=day(10))
        response = await client.get("/public/subprocessors")  # no key
        assert response.status_code == 200, response.text
        body = response.json()
        assert [v["name"] for v in body["subprocessors"]] == ["Listed"]
        assert body["organisation"] == "Example Controller Ltd"
        assert body["as_of"] == day(0)
        assert response.headers["cache-control"] == "public, max-age=300"

    async def test_purposes_categories_and_countries_of_current_disclosures(self, client, auth):
        vendor, _ = await holder(client, auth, "Zeta Pay", categories=["user.contact.email"])
        contract = await make_contract(client, auth, vendor["id"], reference="DPA-2")
        await make_disclosure(
            client,
            auth,
            vendor["id"],
            contract["id"],
            purpose=PAYMENTS,
            country="US",
            categories=["user.financial", "user.contact.email"],
            valid_from=day(-5),
        )
        await make_disclosure(  # ended: shows nothing any more
            client,
            auth,
            vendor["id"],
            contract["id"],
            purpose="marketing.advertising",
            country="JP",
            categories=["user.device.ip_address"],
            valid_from=day(-50),
            valid_to=day(-40),
        )
        await holder(client, auth, "Alpha")
        body = (await client.get("/public/subprocessors")).json()
        assert [v["name"] for v in body["subprocessors"]] == ["Alpha", "Zeta Pay"]
        zeta = body["subprocessors"][1]
        names = {
            e["key"]: e["name"] for e in (await client.get("/taxonomy/data-uses", headers=auth())).json()
        }
        assert zeta["purposes"] == [{"key": k, "name": names[k]} for k in sorted([SUPPORT, PAYMENTS])]
        assert zeta["data_categories"] == [
            {"key": "user.contact.email", "name": "User Contact Email"},
            {"key": "user.financial", "name": "Financial Data"},
        ]
        assert (zeta["destination_countries"], zeta["country"]) == (["DE", "US"], "DE")
        assert (zeta["legal_name"], zeta["listed_since"]) == ("Zeta Pay GmbH", day(0))  # marked public today
        # Created today with a disclosure dating back: the list changed today, when it was recorded.
        assert body["last_updated"] == day(0)

    async def test_listed_since_starts_when_marked_public(self, client, auth):
        vendor, _ = await holder(client, auth, "Acme", valid_from=day(-100))
        await recorded_days_ago(20)
        [acme] = (await client.get("/public/subprocessors")).json()["subprocessors"]
        assert acme["listed_since"] == day(-20)

    async def test_last_updated_is_the_last_day_the_list_changed(self, client, auth):
        vendor, _ = await holder(client, auth, "Acme")
        await holder(client, auth, "Gone", valid_from=day(-60), valid_to=day(-20))
        await holder(client, auth, "Later Ltd", valid_from=day(30))
        await recorded_days_ago(90)
        assert (await client.get("/public/subprocessors")).json()["last_updated"] == day(-19)
        contract = await make_contract(client, auth, vendor["id"], reference="DPA-2")
        await make_disclosure(client, auth, vendor["id"], contract["id"], country="US", valid_from=day(-5))
        await recorded_days_ago(90)
        assert (await client.get("/public/subprocessors")).json()["last_updated"] == day(-5)

    async def test_an_empty_list(self, client):
        body = (await client.get("/public/subprocessors")).json()
        assert (body["subprocessors"], body["last_updated"]) == ([], None)


class TestPage:
    async def test_the_page_escapes_what_vendors_are_called(self, client, auth):
        await holder(client, auth, "<script>alert(1)</script>")
        response = await client.get("/public/subprocessors.html")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert '<html lang="en">' in page and "<h1>" in page and '<th scope="col">' in page
        assert '<th scope="row">' in page
        assert 'rel="alternate" type="application/feed+json"' in page
        assert 'rel="alternate" type="application/atom+xml"' in page
        assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none'

    async def test_browsers_get_the_page_at_the_list_address(self, client, auth):
        await holder(client, auth, "Acme")
        browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        response = await client.get("/public/subprocessors", headers={"Accept": browser})
        assert response.headers["content-type"].startswith("text/html")
        assert "Acme" in response.text and response.headers["vary"] == "Accept"
        for accept in ("application/json", "*/*", "nonsense;;;", "text/html;q=abc, */*"):
            response = await client.get("/public/subprocessors", headers={"Accept": accept})
            assert response.status_code == 200, (accept, response.text)

    async def test_announced_changes_are_on_the_page(self, client, auth):
        await holder(client, auth, "Later Ltd", valid_from=day(7))
        page = (await client.get("/public/subprocessors.html")).text
        assert f"will be added to the sub-processors of Example Controller Ltd on {day(7)}" in page


class TestCaching:
    @pytest.mark.parametrize(
        "path",
        [
            "/public/subprocessors",
            "/public/subprocessors.html",
            "/public/subprocessors/feed.json",
            "/public/subprocessors/feed.atom",
        ],
    )
    async def test_if_none_match_gets_304_until_the_list_changes(self, client, auth, path):
        await holder(client, auth, "Acme")
        first = await client.get(path)
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.headers["cache-control"] == "public, max-age=300"
        again = await client.get(path, headers={"If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        assert (await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})).status_code == 304
        assert (await client.get(path, headers={"If-None-Match": "garbage\x7f"})).status_code == 200
        await holder(client, auth, "Beta")
        changed = await client.get(path, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag

    async def test_requests_are_limited_per_client(self, settings):
        app = create_app(settings.model_copy(update={"verify_rate_per_minute": 2}))
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
                statuses = [(await client.get("/public/subprocessors")).status_code for _ in range(3)]
                limited = await client.get("/public/subprocessors/feed.json")
        assert statuses == [200, 200, 429]
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"


class TestFeed:
    async def test_an_ended_disclosure_is_a_removal_the_day_after(self, client, auth):
        vendor, disclosure = await holder(client, auth, "Acme")
        await recorded_days_ago(40)
        response = await client.post(
            f"/disclosures/{disclosure['id']}/end",
            json={"ended_on": day(-3), "reason": "done"},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        items = await feed(client)
        assert changes(items, "Acme") == [("removed", day(-2), False), ("added", day(-30), False)]
        removed = items[0]
        assert removed["title"] == f"Acme was removed on {day(-2)}"
        assert removed["date_published"] == f"{day(0)}T00:00:00Z"  # ended today, effective earlier
        assert removed["id"].endswith(f"/public/subprocessors.html#removed-{vendor['id']}-{day(-2)}")
        assert (await client.get("/public/subprocessors")).json()["subprocessors"] == []

    async def test_a_disclosure_ending_later_is_a_scheduled_removal(self, client, auth):
        _, disclosure = await holder(client, auth, "Acme")
        await client.post(
            f"/disclosures/{disclosure['id']}/end",
            json={"ended_on": day(4), "reason": "moving"},
            headers=auth(),
        )
        items = await feed(client)
        assert changes(items, "Acme") == [("removed", day(5), True), ("added", day(0), False)]
        assert items[0]["title"] == f"Acme will be removed on {day(5)}"
        assert items[0]["date_published"] == f"{day(0)}T00:00:00Z"
        assert "scheduled" in items[0]["tags"]
        [acme] = (await client.get("/public/subprocessors")).json()["subprocessors"]  # still listed today
        assert acme["name"] == "Acme"

    async def test_unmarking_public_removes_it_that_day(self, client, auth):
        vendor, _ = await holder(client, auth, "Acme")
        await recorded_days_ago(10)
        response = await client.patch(f"/vendors/{vendor['id']}", json={"public": False}, headers=auth())
        assert response.status_code == 200, response.text
        assert changes(await feed(client), "Acme") == [("removed", day(0), False), ("added", day(-10), False)]
        body = (await client.get("/public/subprocessors")).json()
        assert (body["subprocessors"], body["last_updated"]) == ([], day(0))

    async def test_a_future_disclosure_is_announced(self, client, auth):
        await holder(client, auth, "Later Ltd", valid_from=day(10), valid_to=day(20))
        items = await feed(client)
        assert changes(items, "Later Ltd") == [("removed", day(21), True), ("added", day(10), True)]
        added = items[1]
        assert added["title"] == f"Later Ltd will be added on {day(10)}"
        assert added["_registry"] == {
            "change": "added",
            "date": day(10),
            "scheduled": True,
            "vendor": "Later Ltd",
        }
        assert added["date_published"] == f"{day(0)}T00:00:00Z"  # announced today
        assert "Purposes: " in added["content_text"]

    async def test_a_private_vendor_never_appears(self, client, auth):
        await holder(client, auth, "Private", public=False, valid_from=day(5))
        await holder(client, auth, "Private now", public=False)
        assert await feed(client) == []

    async def test_adjoining_disclosures_are_one_listing(self, client, auth):
        vendor, _ = await holder(client, auth, "Acme", valid_from=day(-30), valid_to=day(-1))
        contract = await make_contract(client, auth, vendor["id"], reference="DPA-2")
        await make_disclosure(client, auth, vendor["id"], contract["id"], valid_from=day(0), valid_to=day(30))
        await recorded_days_ago(40)
        assert changes(await feed(client), "Acme") == [("removed", day(31), True), ("added", day(-30), False)]

    async def test_json_feed_shape(self, client, auth):
        await holder(client, auth, "Acme")
        await holder(client, auth, "Later Ltd", valid_from=day(3))
        response = await client.get("/public/subprocessors/feed.json")
        assert response.headers["content-type"].startswith("application/feed+json")
        body = response.json()
        assert body["version"] == "https://jsonfeed.org/version/1.1"
        assert body["title"] and body["feed_url"].endswith("/public/subprocessors/feed.json")
        assert body["home_page_url"].endswith("/public/subprocessors.html")
        assert body["authors"] == [{"name": "Example Controller Ltd"}]
        assert len(body["items"]) == 2 and len({i["id"] for i in body["items"]}) == 2
        for item in body["items"]:
            assert item["id"] and item["content_text"] and item["title"]
            assert datetime.fromisoformat(item["date_published"]).tzinfo is not None
        dates = [date.fromisoformat(i["_registry"]["date"]) for i in body["items"]]
        assert dates == sorted(dates, reverse=True)  # newest first

    async def test_atom_has_the_same_entries(self, client, auth):
        vendor, disclosure = await holder(client, auth, "Acme & <Sons>")
        await client.post(
            f"/disclosures/{disclosure['id']}/end",
            json={"ended_on": day(2), "reason": "moving"},
            headers=auth(),
        )
        await holder(client, auth, "Later Ltd", valid_from=day(3))
        response = await client.get("/public/subprocessors/feed.atom")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(response.content)  # noqa: S314 (the server's own output)
        assert root.tag == f"{ATOM}feed"
        assert root.find(f"{ATOM}id").text and root.find(f"{ATOM}updated").text
        assert root.find(f"{ATOM}author/{ATOM}name").text == "Example Controller Ltd"
        entries = root.findall(f"{ATOM}entry")
        items = await feed(client)
        assert [e.find(f"{ATOM}id").text for e in entries] == [i["id"] for i in items]
        assert [e.find(f"{ATOM}title").text for e in entries] == [i["title"] for i in items]
        assert [e.find(f"{ATOM}content").text for e in entries] == [i["content_text"] for i in items]
        assert "Acme & <Sons> will be removed" in entries[0].find(f"{ATOM}title").text
        assert {c.get("term") for c in entries[0].findall(f"{ATOM}category")} == {"removed", "scheduled"}
