"""A sub-processor's flow-down contract that falls short of the processor's (GDPR Art. 28(4)) is an
item of the supervision report and of the dashboard, and stops being one once the clause is added."""

import pytest

from tests.test_subprocessors import chain_world
from tests.test_web import people, sign_in  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.anyio
LABEL = "Sub-processor contract falls short (Art. 28(4))"


async def flow_down_items(client, auth) -> list[dict]:
    report = await client.get("/reports/supervision", headers=auth("viewer"))
    assert report.status_code == 200, report.text
    return [i for i in report.json()["items"] if i["kind"] == "flow_down_gap"]


async def test_a_flow_down_gap_is_reported_until_the_clause_is_added(client, auth, people):  # noqa: F811
    w = await chain_world(client, auth)
    assert await flow_down_items(client, auth) == []
    flow_down = f"/contracts/{w['flow_down']['id']}"
    changed = await client.patch(flow_down, json={"audit_right": False}, headers=auth())
    assert changed.status_code == 200, changed.text
    [item] = await flow_down_items(client, auth)
    assert (item["vendor_name"], item["object_type"], item["object_id"], item["severity"]) == (
        "Backup Services",
        "subprocessor_engagement",
        w["engagement"]["id"],
        "gap",
    )
    assert "Sub-processor of Cloud Hosting" in item["summary"] and "gdpr-28-3-h" in item["summary"]
    assert item["href"] == f"/subprocessor-engagements/{w['engagement']['id']}/conformance"
    await sign_in(client)
    dashboard = (await client.get("/ui/")).text
    assert LABEL in dashboard and "Backup Services" in dashboard
    version = (await client.get(flow_down, headers=auth())).headers["etag"]
    restored = await client.patch(
        flow_down, json={"audit_right": True}, headers={**auth(), "If-Match": version}
    )
    assert restored.status_code == 200, restored.text
    assert await flow_down_items(client, auth) == []
    assert LABEL not in (await client.get("/ui/")).text


async def test_an_objected_engagement_is_not_reported(client, auth):
    w = await chain_world(client, auth)
    flow_down = f"/contracts/{w['flow_down']['id']}"
    assert (await client.patch(flow_down, json={"audit_right": False}, headers=auth())).status_code == 200
    assert len(await flow_down_items(client, auth)) == 1
    objection = await client.post(
        f"/subprocessor-engagements/{w['engagement']['id']}/objection",
        json={"objected_on": "2025-03-01", "reason": "no audit right passed down"},
        headers=auth("editor"),
    )
    assert objection.status_code == 200, objection.text
    assert await flow_down_items(client, auth) == []
