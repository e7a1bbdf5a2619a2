"""The foundation's story end to end, with a key of each role, and concurrent writers."""

import hashlib

import anyio
import pytest

pytestmark = pytest.mark.anyio


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_liveness_answers_without_a_key(client):
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]  # through the same middleware as every route


async def test_vendor_contract_document_termination_story(client, auth):
    editor, viewer = auth("editor"), auth("viewer")
    vendor = await client.post(
        "/vendors", json={"name": "Acme", "kind": "contractor", "country": "IE"}, headers=viewer
    )
    assert vendor.status_code == 403
    vendor = (
        await client.post(
            "/vendors", json={"name": "Acme", "kind": "contractor", "country": "IE"}, headers=editor
        )
    ).json()
    contract = (
        await client.post(
            "/contracts",
            headers=editor,
            json={
                "vendor_id": vendor["id"],
                "kind": "nda",
                "title": "NDA",
                "signed_on": "2025-01-01",
                "effective_from": "2025-01-01",
            },
        )
    ).json()
    pdf = b"%PDF-1.4\n%%EOF\n"
    upload = await client.put(
        f"/contracts/{contract['id']}/document",
        content=pdf,
        headers={**editor, "Content-Type": "application/pdf"},
    )
    assert upload.json()["document"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    terminated = await client.post(
        f"/contracts/{contract['id']}/terminate",
        json={"terminated_on": "2025-03-31", "reason": "done"},
        headers=editor,
    )
    assert terminated.json()["status"] == "terminated"
    assert (await client.delete(f"/vendors/{vendor['id']}", headers=editor)).status_code == 409
    assert (await client.get("/changes", headers=auth("lookup"))).status_code == 403
    log = (await client.get("/changes", params={"since": "2000-01-01T00:00:00"}, headers=viewer)).json()
    actions = [(c["object_type"], c["action"]) for c in log["items"] if c["object_type"] != "api_key"]
    assert actions == [
        ("vendor", "create"),
        ("contract", "create"),
        ("contract", "upload"),
        ("contract", "terminate"),
    ]


async def test_concurrent_writers_keep_one_chain(client, auth):
    statuses: list[int] = []

    async def create(n: int) -> None:
        response = await client.post(
            "/vendors", json={"name": f"Vendor {n}", "kind": "agent", "country": "FR"}, headers=auth("editor")
        )
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for n in range(50):
            group.start_soon(create, n)
    assert statuses == [201] * 50  # no "database is locked", no lock timeouts
    assert (await client.get("/vendors", headers=auth())).json()["total"] == 50
    report = (await client.get("/changes/verify", headers=auth())).json()
    assert report["ok"] is True and report["rows"] == 54


async def test_fifty_concurrent_read_modify_writes_lose_nothing(client, auth):
    """Each writer adds its own tag with GET + PATCH If-Match, retrying on 412: all 50 tags survive."""
    created = await client.post(
        "/vendors", json={"name": "Shared", "kind": "agent", "country": "FR"}, headers=auth()
    )
    url = f"/vendors/{created.json()['id']}"

    async def add_tag(n: int) -> None:
        for _ in range(500):  # each retry follows another writer's success: 50 writers need far fewer
            current = await client.get(url, headers=auth())
            tags = [*current.json()["tags"], f"t{n}"]
            response = await client.patch(
                url, json={"tags": tags}, headers={**auth("editor"), "If-Match": current.headers["etag"]}
            )
            if response.status_code == 200:
                return
            assert response.status_code == 412, response.text
        raise AssertionError(f"writer {n} never saved its tag in 500 tries")

    async with anyio.create_task_group() as group:
        for n in range(50):
            group.start_soon(add_tag, n)
    final = (await client.get(url, headers=auth())).json()
    assert sorted(final["tags"]) == sorted(f"t{n}" for n in range(50))
    assert final["version"] == 51
    updates = (
        await client.get("/changes", params={"object_type": "vendor", "limit": 500}, headers=auth())
    ).json()
    assert sum(c["action"] == "update" for c in updates["items"]) == 50
