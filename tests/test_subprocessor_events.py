"""Webhook events for the records issue 20 added: a sub-processor engaged, objected to and ended, and
a transfer record written, each an event a subscriber can act on (with who engaged whom)."""

import pytest

from registry.tables import WebhookEvent
from tests.test_subprocessors import chain_world
from tests.test_transfers import SCC
from tests.test_web_transfers import us_disclosure

pytestmark = pytest.mark.anyio


async def events(prefix: str) -> list[dict]:
    rows = await WebhookEvent.select().order_by(WebhookEvent.id).output(load_json=True)
    return [r for r in rows if r["type"].startswith(prefix)]


async def test_an_engagement_objected_to_and_ended_is_three_events(client, auth):
    w = await chain_world(client, auth)
    url = f"/subprocessor-engagements/{w['engagement']['id']}"
    objected = await client.post(
        f"{url}/objection", json={"objected_on": "2025-03-01", "reason": "no audit"}, headers=auth("editor")
    )
    assert objected.status_code == 200, objected.text
    version = (await client.get(url, headers=auth())).headers["etag"]
    ended = await client.post(
        f"{url}/end",
        json={"ended_on": "2025-04-01", "reason": "moved"},
        headers={**auth(), "If-Match": version},
    )
    assert ended.status_code == 200, ended.text
    found = await events("subprocessor.")
    assert [e["type"] for e in found] == [
        "subprocessor.engaged",
        "subprocessor.objected",
        "subprocessor.ended",
    ]
    assert {e["object_id"] for e in found} == {str(w["engagement"]["id"])}
    engaged = found[0]["payload"]["data"]["object"]
    assert (engaged["engaged_by_name"], engaged["subprocessor_name"]) == ("Cloud Hosting", "Backup Services")


async def test_a_transfer_record_is_an_event(client, auth):
    disclosure = (await us_disclosure(client, auth))["id"]
    put = await client.put(f"/disclosures/{disclosure}/transfer", json=SCC, headers=auth("editor"))
    assert put.status_code == 201, put.text
    [event] = await events("transfer.")
    assert event["type"] == "transfer.recorded" and event["object_id"] == str(disclosure)
    assert event["payload"]["data"]["object"]["mechanism"] == "scc_2021"
