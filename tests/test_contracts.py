"""Contracts through HTTP: clauses as fields, dates in order, termination, the signed document."""

import hashlib

import pytest

from tests.conftest import make_contract, make_vendor

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
async def vendor(client, auth):
    return await make_vendor(client, auth)


class TestCreateContract:
    async def test_creates_with_clauses_and_derived_dates(self, client, auth, vendor):
        contract = await make_contract(
            client,
            auth,
            vendor["id"],
            reference="DPA-7",
            expires_on="2030-12-31",
            deletion_deadline_days=45,
            backups_covered=True,
            end_of_contract="return_then_delete",
            purposes="Hosting of the service",
            governing_law="Irish law",
        )
        assert contract["status"] == "active"
        assert contract["ends_on"] == "2030-12-31"
        assert contract["deletion_due_on"] == "2031-02-14"
        assert (contract["backups_covered"], contract["end_of_contract"]) == (True, "return_then_delete")
        assert contract["document"] is None

    @pytest.mark.parametrize(
        ("fields", "status"),
        [
            ({"signed_on": None}, "draft"),
            ({"effective_from": "2999-01-01", "expires_on": None}, "draft"),
            ({"expires_on": "2025-06-30"}, "expired"),
            ({}, "active"),
        ],
    )
    async def test_status_comes_from_dates(self, client, auth, vendor, fields, status):
        contract = await make_contract(client, auth, vendor["id"], **fields)
        assert contract["status"] == status
        listed = await client.get("/contracts", params={"status": status}, headers=auth("viewer"))
        assert [c["id"] for c in listed.json()["items"]] == [contract["id"]]

    async def test_dates_must_be_in_order(self, client, auth, vendor):
        response = await client.post(
            "/contracts",
            headers=auth(),
            json={
                "vendor_id": vendor["id"],
                "kind": "dpa",
                "title": "DPA",
                "effective_from": "2025-02-01",
                "expires_on": "2025-01-31",
            },
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "expires_on", "rule": "date_order", "message": "must not be before effective_from"}
        ]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("kind", "lease"),
            ("signed_on", "2025-02-30"),
            ("signed_on", "yesterday"),
            ("deletion_deadline_days", -1),
            ("deletion_deadline_days", 10**12),
            ("title", ""),
            ("vendor_id", 2**40),
            ("status", "active"),
        ],
    )
    async def test_rejects_bad_fields(self, client, auth, vendor, field, value):
        body = {"vendor_id": vendor["id"], "kind": "dpa", "title": "DPA", field: value}
        response = await client.post("/contracts", json=body, headers=auth())
        assert response.status_code == 400, response.text
        assert any(field in e["field"] for e in response.json()["errors"])
        assert (await client.get("/contracts", headers=auth())).json()["total"] == 0

    async def test_vendor_must_exist_and_reference_be_unique(self, client, auth, vendor):
        missing = await client.post(
            "/contracts", headers=auth(), json={"vendor_id": 999, "kind": "nda", "title": "NDA"}
        )
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "vendor_id"
        await make_contract(client, auth, vendor["id"], reference="REF-1")
        duplicate = await client.post(
            "/contracts",
            headers=auth(),
            json={"vendor_id": vendor["id"], "kind": "nda", "title": "NDA", "reference": "REF-1"},
        )
        assert duplicate.status_code == 409


class TestTerminateContract:
    async def test_terminates_once(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"], expires_on="2030-01-01")
        url = f"/contracts/{contract['id']}/terminate"
        response = await client.post(
            url, json={"terminated_on": "2025-06-30", "reason": "Breach"}, headers=auth("editor")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["terminated_on"], body["ends_on"]) == (
            "terminated",
            "2025-06-30",
            "2025-06-30",
        )
        assert body["termination_reason"] == "Breach"
        again = await client.post(url, json={"terminated_on": "2025-07-01", "reason": "x"}, headers=auth())
        assert again.status_code == 409
        changes = (
            await client.get(
                "/changes", params={"object_type": "contract", "object_id": contract["id"]}, headers=auth()
            )
        ).json()
        assert [c["action"] for c in changes["items"]] == ["create", "terminate"]
        assert changes["items"][1]["after"]["terminated_on"] == "2025-06-30"

    @pytest.mark.parametrize(
        ("terminated_on", "status"), [("2024-12-31", 422), ("2030-01-02", 422), ("2025-13-01", 400)]
    )
    async def test_date_must_be_within_the_period(self, client, auth, vendor, terminated_on, status):
        contract = await make_contract(client, auth, vendor["id"], expires_on="2030-01-01")
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": terminated_on, "reason": "x"},
            headers=auth(),
        )
        assert response.status_code == status
        fetched = (await client.get(f"/contracts/{contract['id']}", headers=auth())).json()
        assert fetched["terminated_on"] is None

    @pytest.mark.parametrize("terminated_on", ["2025-01-01", "2030-01-01"])
    async def test_first_and_last_days_are_within_the_period(self, client, auth, vendor, terminated_on):
        contract = await make_contract(client, auth, vendor["id"], expires_on="2030-01-01")
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": terminated_on, "reason": "x"},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        assert (response.json()["terminated_on"], response.json()["ends_on"]) == (
            terminated_on,
            terminated_on,
        )

    async def test_a_one_day_contract_is_in_order(self, client, auth, vendor):
        contract = await make_contract(
            client, auth, vendor["id"], effective_from="2025-02-01", expires_on="2025-02-01"
        )
        assert (contract["effective_from"], contract["ends_on"]) == ("2025-02-01", "2025-02-01")

    async def test_draft_cannot_be_terminated(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"], signed_on=None)
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "x"},
            headers=auth(),
        )
        assert response.status_code == 409

    async def test_future_termination_keeps_it_active(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"])
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": "2999-01-01", "reason": "notice given"},
            headers=auth(),
        )
        assert response.json()["status"] == "active"

    async def test_patch_cannot_move_dates_around_a_termination(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"])
        await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "x"},
            headers=auth(),
        )
        response = await client.patch(
            f"/contracts/{contract['id']}", json={"expires_on": "2025-03-01"}, headers=auth()
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "date_order"


class TestUpdateContract:
    async def test_patch_recomputes_the_deletion_due_date(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"], expires_on="2030-01-01")
        response = await client.patch(
            f"/contracts/{contract['id']}",
            headers={**auth(), "If-Match": '"1"'},
            json={"deletion_deadline_days": 10},
        )
        assert response.status_code == 200
        assert response.json()["deletion_due_on"] == "2030-01-11"
        stale = await client.patch(
            f"/contracts/{contract['id']}",
            headers={**auth(), "If-Match": '"1"'},
            json={"deletion_deadline_days": 20},
        )
        assert stale.status_code == 412

    async def test_vendor_cannot_change(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"])
        response = await client.patch(f"/contracts/{contract['id']}", json={"vendor_id": 5}, headers=auth())
        assert response.status_code == 400


class TestDocument:
    async def test_upload_and_download_with_sha256(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"])
        url = f"/contracts/{contract['id']}/document"
        response = await client.put(
            url,
            content=PDF,
            params={"filename": "signed dpa.pdf"},
            headers={**auth("editor"), "Content-Type": "application/pdf"},
        )
        assert response.status_code == 200, response.text
        document = response.json()["document"]
        assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert (document["filename"], document["size"], document["uploaded_by"]) == (
            "signed dpa.pdf",
            len(PDF),
            "test-editor",
        )
        download = await client.get(url, headers=auth("viewer"))
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-sha256"] == document["sha256"]
        changes = (
            await client.get(
                "/changes", params={"object_type": "contract", "object_id": contract["id"]}, headers=auth()
            )
        ).json()
        assert changes["items"][-1]["action"] == "upload"
        assert changes["items"][-1]["after"]["document_sha256"] == document["sha256"]

    @pytest.mark.parametrize(
        ("content", "content_type", "status"),
        [
            (b"MZ\x90\x00 not a pdf", "application/pdf", 415),
            (PDF, "application/x-msdownload", 415),
            (PDF, "image/png", 415),
            (b"", "application/pdf", 422),
            (b"%PDF-" + b"0" * (256 * 1024), "application/pdf", 413),
        ],
    )
    async def test_rejects_wrong_or_oversized_files(
        self, client, auth, vendor, content, content_type, status
    ):
        contract = await make_contract(client, auth, vendor["id"])
        response = await client.put(
            f"/contracts/{contract['id']}/document",
            content=content,
            headers={**auth(), "Content-Type": content_type},
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        fetched = (await client.get(f"/contracts/{contract['id']}", headers=auth())).json()
        assert fetched["document"] is None and fetched["version"] == 1

    @pytest.mark.parametrize("filename", ["../../etc/passwd", "..", "a/b.pdf", "evil\x00.pdf", ".hidden"])
    async def test_rejects_path_traversal_names(self, client, auth, vendor, filename):
        contract = await make_contract(client, auth, vendor["id"])
        response = await client.put(
            f"/contracts/{contract['id']}/document",
            content=PDF,
            params={"filename": filename},
            headers={**auth(), "Content-Type": "application/pdf"},
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "filename"

    async def test_missing_document_is_404(self, client, auth, vendor):
        contract = await make_contract(client, auth, vendor["id"])
        response = await client.get(f"/contracts/{contract['id']}/document", headers=auth())
        assert response.status_code == 404
