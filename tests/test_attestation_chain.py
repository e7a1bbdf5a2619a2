"""Re-issuing after revocation: the revoked attestation stays, a new serial names the one it supersedes,
and the old PDF verifies as revoked naming its successor, in the API and on the pages."""

import io

import anyio
import pytest
from pypdf import PdfReader

from tests.conftest import confirmed_deletion
from tests.test_attestations import issue, pdf_text, verify
from tests.test_web import people, sign_in  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.anyio


async def revoke(client, auth, serial: str, reason: str = "vendor found a forgotten copy"):
    response = await client.post(f"/attestations/{serial}/revoke", json={"reason": reason}, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


async def pdf_of(client, auth, serial: str) -> bytes:
    return (await client.get(f"/attestations/{serial}/pdf", headers=auth())).content


@pytest.fixture
async def reissued(client, auth):
    """A deletion attested, revoked, and attested again."""
    deletion = await confirmed_deletion(client, auth)
    first = (await issue(client, auth, deletion["id"])).json()
    old_pdf = await pdf_of(client, auth, first["serial"])
    await revoke(client, auth, first["serial"])
    second = await issue(client, auth, deletion["id"])
    assert second.status_code == 201, second.text
    return deletion, first, old_pdf, second.json()


async def test_reissuing_makes_a_new_serial_naming_the_old(client, auth, reissued):
    deletion, first, old_pdf, second = reissued
    assert second["serial"] == f"{first['serial']}-2"
    assert (second["supersedes"], second["superseded_by"], second["status"]) == (
        first["serial"],
        None,
        "valid",
    )
    old = (await client.get(f"/attestations/{first['serial']}", headers=auth())).json()
    assert (old["status"], old["superseded_by"], old["supersedes"]) == ("revoked", second["serial"], None)
    assert await pdf_of(client, auth, first["serial"]) == old_pdf  # the revoked PDF is kept as issued
    listed = (await client.get("/attestations", headers=auth())).json()
    assert [a["serial"] for a in listed["items"]] == [first["serial"], second["serial"]]
    assert listed["items"][0]["superseded_by"] == second["serial"]
    state = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
    assert (state["status"], state["attestation_serial"]) == ("attested", second["serial"])
    again = await issue(client, auth, deletion["id"])
    assert again.status_code == 200 and again.json()["serial"] == second["serial"]
    log = (await client.get("/changes", params={"object_type": "attestation"}, headers=auth())).json()
    assert sorted(c["action"] for c in log["items"]) == ["issue", "issue", "revoke"]


async def test_the_new_pdf_states_what_it_replaces(client, auth, reissued):
    _, first, _, second = reissued
    pdf = await pdf_of(client, auth, second["serial"])
    text = pdf_text(pdf)
    assert f"Issued in place of attestation {first['serial']}" in text
    assert "vendor found a forgotten copy" in text
    assert f"/attestations/{second['serial']}/verify" in text
    import json

    facts = json.loads(PdfReader(io.BytesIO(pdf)).attachments["attestation.json"][0])
    assert facts["serial"] == second["serial"] and facts["supersedes"]["serial"] == first["serial"]
    answer = await verify(client, pdf)
    assert (answer["status"], answer["serial"], answer["supersedes"]) == (
        "valid",
        second["serial"],
        first["serial"],
    )


async def test_the_old_pdf_verifies_as_revoked_naming_its_successor(client, auth, reissued):
    _, first, old_pdf, second = reissued
    answer = await verify(client, old_pdf)
    assert (answer["status"], answer["serial"], answer["superseded_by"]) == (
        "revoked",
        first["serial"],
        second["serial"],
    )
    assert "forgotten copy" in answer["detail"] and second["serial"] in answer["detail"]
    by_serial = (await client.get(f"/attestations/{first['serial']}/verify")).json()
    assert (by_serial["status"], by_serial["superseded_by"]) == ("revoked", second["serial"])
    successor = (await client.get(f"/attestations/{second['serial']}/verify")).json()
    assert (successor["status"], successor["supersedes"]) == ("valid", first["serial"])


async def test_a_chain_of_three(client, auth, reissued):
    deletion, first, _, second = reissued
    await revoke(client, auth, second["serial"], "wrong system named")
    third = (await issue(client, auth, deletion["id"])).json()
    assert (third["serial"], third["supersedes"]) == (f"{first['serial']}-3", second["serial"])
    middle = (await client.get(f"/attestations/{second['serial']}", headers=auth())).json()
    assert (middle["supersedes"], middle["superseded_by"]) == (first["serial"], third["serial"])


async def test_concurrent_reissues_give_one_successor(client, auth):
    deletion = await confirmed_deletion(client, auth)
    first = (await issue(client, auth, deletion["id"])).json()
    await revoke(client, auth, first["serial"])
    answers: list = []

    async def one() -> None:
        answers.append(await issue(client, auth, deletion["id"]))

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(one)
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert {r.json()["serial"] for r in answers} == {f"{first['serial']}-2"}
    assert (await client.get("/attestations", headers=auth())).json()["total"] == 2


async def test_the_database_allows_one_standing_attestation_per_obligation(client, auth):
    from registry import db
    from registry.tables import Attestation, StoredFile

    deletion = await confirmed_deletion(client, auth)
    first = (await issue(client, auth, deletion["id"])).json()
    row = await Attestation.select().where(Attestation.serial == first["serial"]).first()
    spare = await StoredFile.select(StoredFile.id).where(StoredFile.id == row["pdf"]).first()

    def twin(serial: str, sha256: str) -> Attestation:
        return Attestation(
            serial=serial,
            obligation=row["obligation"],
            vendor=row["vendor"],
            pdf=spare["id"],
            sha256=sha256,
            issued_at=row["issued_at"],
            issued_by="test",
        )

    with pytest.raises(Exception) as refused:
        await Attestation.insert(twin("PRA-2026-999999", "0" * 64))
    assert db.is_unique_violation(refused.value)
    await revoke(client, auth, first["serial"])
    await Attestation.insert(twin("PRA-2026-999999", "0" * 64))  # allowed once the first is revoked
    assert await Attestation.count().where(Attestation.obligation == row["obligation"]) == 2


async def test_pages_show_the_chain(client, auth, people, reissued):  # noqa: F811
    deletion, first, old_pdf, second = reissued
    await sign_in(client, name="viewer-person")
    page = (await client.get(f"/ui/vendors/{deletion['vendor_id']}")).text
    assert f"{first['serial']}</a> — revoked" in page and f"superseded by {second['serial']}" in page
    assert f"in place of {first['serial']}" in page
    verdict = await client.post("/ui/verify", files={"document": ("old.pdf", old_pdf, "application/pdf")})
    assert verdict.status_code == 200 and "Revoked" in verdict.text
    assert f"Superseded by attestation {second['serial']}" in verdict.text


async def test_issuers_in_different_workers_give_one_successor(client, auth, monkeypatch):
    """Without the per-worker lock (as across worker processes) every issuer renders, and the
    database's partial unique index leaves one standing attestation; the others get it back."""
    from registry.attestations import service

    class NoSharedLock(dict):
        def setdefault(self, key, default=None):
            return anyio.Lock()

    deletion = await confirmed_deletion(client, auth)
    first = (await issue(client, auth, deletion["id"])).json()
    await revoke(client, auth, first["serial"])
    monkeypatch.setattr(service, "_locks", NoSharedLock())
    from registry import db

    if not db.is_sqlite():  # SQLite's IMMEDIATE transactions queue the writers; PostgreSQL's race
        arrived, everyone = [], anyio.Event()
        store_file = service.store_file

        async def together(*args, **kwargs):
            # Each issuer has found no standing attestation; all insert at once.
            arrived.append(1)
            if len(arrived) == 4:
                everyone.set()
            with anyio.move_on_after(20):
                await everyone.wait()
            return await store_file(*args, **kwargs)

        monkeypatch.setattr(service, "store_file", together)
    answers: list = []

    async def one() -> None:
        answers.append(await issue(client, auth, deletion["id"]))

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(one)
    assert sorted(r.status_code for r in answers) == [200] * 3 + [201], [r.text for r in answers]
    assert {r.json()["serial"] for r in answers} == {f"{first['serial']}-2"}
    assert (await client.get("/attestations", headers=auth())).json()["total"] == 2
    from registry.tables import StoredFile

    assert await StoredFile.count() == 2  # a refused issuer leaves no file behind
