"""Attestations: the PDF carries every fact, is signed, verifies, detects tampering, and renders
user text literally without fetching anything."""

import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import anyio
import pytest
from pypdf import PdfReader, PdfWriter

from registry.attestations.pades import sign
from registry.attestations.signing import init_signing
from registry.tables import Attestation
from tests.conftest import CONFIRMATION, confirmed_deletion

pytestmark = pytest.mark.anyio


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


async def issue(client, auth, deletion_id: int):
    return await client.post(f"/deletions/{deletion_id}/attestation", headers=auth("editor"))


async def verify(client, pdf: bytes):
    response = await client.post(
        "/attestations/verify", content=pdf, headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def issued(client, auth):
    deletion = await confirmed_deletion(client, auth)
    response = await issue(client, auth, deletion["id"])
    assert response.status_code == 201, response.text
    attestation = response.json()
    pdf = (await client.get(f"/attestations/{attestation['serial']}/pdf", headers=auth("viewer"))).content
    return deletion, attestation, pdf


class TestIssuing:
    async def test_only_a_confirmed_deletion_is_attested(self, client, auth):
        from tests.conftest import ended_contract

        await ended_contract(client, auth)
        [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
        response = await issue(client, auth, deletion["id"])
        assert response.status_code == 409 and "overdue" in response.json()["detail"]
        assert (await client.get("/attestations", headers=auth())).json()["total"] == 0

    async def test_issuing_twice_returns_the_same(self, client, auth, issued):
        deletion, attestation, pdf = issued
        again = await issue(client, auth, deletion["id"])
        assert again.status_code == 200 and again.json() == attestation
        assert attestation["serial"] == f"PRA-{attestation['issued_at'][:4]}-{deletion['id']:06d}"
        assert (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()[
            "status"
        ] == "attested"
        import hashlib

        assert attestation["sha256"] == hashlib.sha256(pdf).hexdigest()
        log = (await client.get("/changes", params={"object_type": "attestation"}, headers=auth())).json()
        assert [c["action"] for c in log["items"]] == ["issue"]

    async def test_ten_concurrent_requests_give_one_attestation(self, client, auth):
        deletion = await confirmed_deletion(client, auth)
        answers: list = []

        async def one() -> None:
            answers.append(await issue(client, auth, deletion["id"]))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(one)
        assert sorted(r.status_code for r in answers) == [200] * 9 + [201]
        assert len({r.json()["serial"] for r in answers}) == 1
        assert (await client.get("/attestations", headers=auth())).json()["total"] == 1

    async def test_a_confirmation_after_attesting_conflicts(self, client, auth, issued):
        deletion, _, _ = issued
        response = await client.post(
            f"/deletions/{deletion['id']}/confirmations", json=CONFIRMATION, headers=auth()
        )
        assert response.status_code == 409


class TestDocument:
    async def test_the_pdf_states_every_fact(self, client, auth, issued):
        deletion, attestation, pdf = issued
        text = pdf_text(pdf)
        for fact in [
            attestation["serial"],
            "Example Controller Ltd",
            "Acme Hosting",
            "Acme Hosting GmbH",
            "DPA-9",
            "terminated on 2025-06-30",
            "moved to another provider",
            "within 30 days",
            "backups included",
            "Deletion due 2025-07-30",
            "User Contact Email (user.contact.email)",
            "customer",
            "purge — cryptographic erase",
            "vault-shred 2.1",
            "Support desk tenant eu-1",
            "production, backup",
            "last backup copy expires 2025-09-30",
            "Cloud Storage EU",
            "Invoices — HGB §257, until 2035-12-31",
            "Completed 2025-07-10",
            "Queries for 50 sampled user ids: No records found",
            "Ana Ruiz, Head of IT",
            "Tom Lee, Data Protection Officer",
            # The backups (2025-09-30) outlive the due date: not "Deadline met" (issue 17).
            "Deadline not met (due 2025-07-30): active copies deleted on 2025-07-10 (on time); the last"
            " backup copy expires on 2025-09-30, 62 days after the deadline.",
            "attests that Acme Hosting has reported",
            f"/attestations/{attestation['serial']}/verify",
        ]:
            assert fact in text, fact
        reader = PdfReader(io.BytesIO(pdf))
        assert list(reader.attachments) == ["attestation.json"]
        facts = json.loads(reader.attachments["attestation.json"][0])
        assert (facts["serial"], facts["deadline_met"], facts["obligation"]["due_on"]) == (
            attestation["serial"],
            False,
            "2025-07-30",
        )
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
        assert 'pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp, xmp
        assert 'pdfaid:conformance="B"' in xmp or "<pdfaid:conformance>B</pdfaid:conformance>" in xmp

    async def test_a_late_deletion_says_so(self, client, auth):
        deletion = await confirmed_deletion(client, auth, completed_on="2025-08-15")
        response = await issue(client, auth, deletion["id"])
        pdf = (await client.get(f"/attestations/{response.json()['serial']}/pdf", headers=auth())).content
        assert (
            "Deadline not met (due 2025-07-30): active copies deleted on 2025-08-15 (16 days after the deadline)"
            in pdf_text(pdf)
        )


class TestVerification:
    async def test_valid_tampered_unknown_revoked(self, client, auth, issued):
        _, attestation, pdf = issued
        valid = await verify(client, pdf)
        assert (valid["status"], valid["serial"], valid["vendor"]) == (
            "valid",
            attestation["serial"],
            "Acme Hosting",
        )
        flipped = bytearray(pdf)
        flipped[len(pdf) // 3] ^= 0x01
        assert (await verify(client, bytes(flipped)))["status"] == "tampered"
        assert (await verify(client, b"%PDF-1.7\nsomething else\n%%EOF"))["status"] == "unknown"
        by_serial = await client.get(f"/attestations/{attestation['serial']}/verify")
        assert by_serial.json()["status"] == "valid"

        editor = await client.post(
            f"/attestations/{attestation['serial']}/revoke", json={"reason": "x"}, headers=auth("editor")
        )
        no_reason = await client.post(
            f"/attestations/{attestation['serial']}/revoke", json={}, headers=auth()
        )
        assert (editor.status_code, no_reason.status_code) == (403, 400)
        revoked = await client.post(
            f"/attestations/{attestation['serial']}/revoke",
            json={"reason": "vendor found a forgotten copy"},
            headers=auth("admin"),
        )
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        after = await verify(client, pdf)
        assert after["status"] == "revoked" and "forgotten copy" in after["detail"]
        assert (await client.get(f"/attestations/{attestation['serial']}/verify")).json()[
            "status"
        ] == "revoked"
        kept = await client.get(f"/attestations/{attestation['serial']}/pdf", headers=auth())
        assert kept.content == pdf
        again = await client.post(
            f"/attestations/{attestation['serial']}/revoke", json={"reason": "y"}, headers=auth()
        )
        assert again.status_code == 409

    async def test_verification_needs_no_key_but_the_rest_does(self, client, auth, issued):
        _, attestation, _ = issued
        assert (await client.get(f"/attestations/{attestation['serial']}/verify")).status_code == 200
        assert (await client.get("/attestations/PRA-2000-999999/verify")).json()["status"] == "unknown"
        assert (await client.get(f"/attestations/{attestation['serial']}")).status_code == 401
        assert (await client.get(f"/attestations/{attestation['serial']}/pdf")).status_code == 401
        assert (
            await client.get(f"/attestations/{attestation['serial']}", headers=auth("lookup"))
        ).status_code == 403
        wrong_type = await client.post(
            "/attestations/verify", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert wrong_type.status_code == 415


class TestVerificationWork:
    """A public caller cannot buy one query per serial-like string in the file."""

    @staticmethod
    def count_queries(monkeypatch) -> list[str]:
        from registry import db

        engine, seen = type(db.current_engine()), []
        run = engine.run_querystring  # the engine has slots: wrap its class's method

        async def counted(self, querystring, *args, **kwargs):
            seen.append(str(querystring))
            return await run(self, querystring, *args, **kwargs)

        monkeypatch.setattr(engine, "run_querystring", counted)
        return seen

    @staticmethod
    def stuffed(first: bytes = b"") -> bytes:
        # 16,000 distinct serial-like strings, under the test upload cap of 256 KiB.
        return b"%PDF-1.7\n" + first + b"".join(b"PRA-2031-%06d" % i for i in range(16_000))

    async def test_a_file_of_serials_is_unknown_in_a_few_queries(self, client, monkeypatch):
        queries = self.count_queries(monkeypatch)
        answer = await verify(client, self.stuffed())
        assert answer["status"] == "unknown" and answer["serial"] is None
        assert 1 <= len(queries) <= 3, len(queries)

    async def test_a_named_serial_still_reads_as_tampered(self, client, auth, issued, monkeypatch):
        _, attestation, _ = issued
        queries = self.count_queries(monkeypatch)
        answer = await verify(client, self.stuffed(attestation["serial"].encode()))
        assert (answer["status"], answer["serial"]) == ("tampered", attestation["serial"])
        assert 1 <= len(queries) <= 3, len(queries)


class TestSignatureIsChecked:
    """A file whose hash matches a stored attestation is valid only if its signature holds too (a
    stored row can be altered; the signature is what ties the file to the registry's key)."""

    async def refused(self, client, serial: str, document: bytes) -> None:
        await Attestation.update({Attestation.sha256: hashlib.sha256(document).hexdigest()}).where(
            Attestation.serial == serial
        )
        verdict = await verify(client, document)
        assert (verdict["status"], verdict["serial"]) == ("tampered", serial), verdict
        assert verdict["detail"] == "The stored copy's signature does not verify."
        page = await client.post("/ui/verify", files={"document": ("a.pdf", document, "application/pdf")})
        assert page.status_code == 200 and "Altered or forged" in page.text and ">Valid<" not in page.text

    async def test_a_matching_hash_with_a_broken_signature_is_tampered(self, client, auth, issued):
        _, attestation, pdf = issued
        assert (await verify(client, pdf))["status"] == "valid"
        flipped = bytearray(pdf)
        flipped[len(pdf) // 3] ^= 0x01  # inside the signed bytes: the signature no longer holds
        await self.refused(client, attestation["serial"], bytes(flipped))

    async def test_a_matching_hash_signed_by_another_key_is_tampered(self, client, auth, issued, tmp_path):
        _, attestation, _ = issued
        init_signing(tmp_path / "key.pem", tmp_path / "cert.pem", "Example Controller Ltd")
        blank = io.BytesIO()
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        writer.write(blank)
        forged = await anyio.to_thread.run_sync(  # pyHanko's sign_pdf runs an event loop of its own
            sign,
            blank.getvalue(),
            {
                "field_name": "Attestation",
                "reason": f"Deletion attestation {attestation['serial']}",
                "name": "Example Controller Ltd",
            },
            (str(tmp_path / "key.pem"), str(tmp_path / "cert.pem"), None),
            None,
        )
        await self.refused(client, attestation["serial"], forged)


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_user_text_is_literal_and_nothing_is_fetched(client, auth, listener):
    hostile = (
        f'<img src="{listener}/img"><link rel="attachment" href="file:///etc/passwd">'
        f"<style>@import url({listener}/css);</style>{{{{ f.controller }}}}"
    )
    from tests.conftest import ended_contract

    vendor, contract = await ended_contract(client, auth)
    await client.patch(f"/vendors/{vendor['id']}", json={"legal_name": hostile[:300]}, headers=auth())
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    confirmation = {
        **CONFIRMATION,
        "systems": [hostile[:200], "file:///etc/shadow"],
        "verification_result": hostile,
        "backups_handling": f"see {listener}/backups",
    }
    assert (
        await client.post(f"/deletions/{deletion['id']}/confirmations", json=confirmation, headers=auth())
    ).status_code == 201
    response = await issue(client, auth, deletion["id"])
    assert response.status_code == 201, response.text
    pdf = (await client.get(f"/attestations/{response.json()['serial']}/pdf", headers=auth())).content
    text = pdf_text(pdf)
    assert '<link rel="attachment" href="file:///etc/passwd">' in text
    assert "{{ f.controller }}" in text and "file:///etc/shadow" in text
    assert list(PdfReader(io.BytesIO(pdf)).attachments) == ["attestation.json"]
    assert b"root:" not in pdf
    assert _Recorder.hits == []


async def test_missing_signing_key_is_a_clear_503(client, auth, app, tmp_path):
    deletion = await confirmed_deletion(client, auth)
    settings = app.state["pdf_pool"].settings
    app.state["pdf_pool"].settings = settings.model_copy(
        update={"signing_key_file": str(tmp_path / "none.pem")}
    )
    response = await issue(client, auth, deletion["id"])
    assert response.status_code == 503 and "registry signing init" in response.json()["detail"]
    assert (await client.get("/attestations", headers=auth())).json()["total"] == 0


async def test_verification_upload_is_bounded(client):
    too_big = b"%PDF-1.7\n" + b"0" * (256 * 1024)
    response = await client.post(
        "/attestations/verify", content=too_big, headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
