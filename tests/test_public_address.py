"""The address documents link to, and what that address answers a person and a client."""

import io
import json

import httpx
import pytest
from pypdf import PdfReader

from registry.server import is_loopback, listening_url
from tests.conftest import Server, confirmed_deletion

pytestmark = pytest.mark.anyio

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def attached_facts(pdf: bytes) -> dict:
    return json.loads(PdfReader(io.BytesIO(pdf)).attachments["attestation.json"][0])


def printed_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")


async def test_serve_links_documents_to_its_own_address(client, auth, settings, tmp_path):
    """With no REGISTRY_PUBLIC_BASE_URL, the PDF's QR code and link name the port the server listens
    on (they named 127.0.0.1:8000 whatever it was), and serve warns that a loopback address is useless
    to anyone else."""
    deletion = await confirmed_deletion(client, auth)
    server = Server(settings, log=tmp_path / "server.log")
    del server.env["REGISTRY_PUBLIC_BASE_URL"]
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
            issued = await http.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
            assert issued.status_code == 201, issued.text
            serial = issued.json()["serial"]
            pdf = (await http.get(f"/attestations/{serial}/pdf", headers=auth("viewer"))).content
    finally:
        server.stop()
    expected = f"http://127.0.0.1:{server.port}/attestations/{serial}/verify"
    assert server.port != 8000
    assert attached_facts(pdf)["verification_url"] == expected
    assert expected in printed_text(pdf)
    warning = (tmp_path / "server.log").read_text()
    assert f"documents will link to http://127.0.0.1:{server.port}, a loopback address" in warning


async def test_serve_with_a_public_address_does_not_warn(settings, tmp_path):
    server = Server(
        settings, log=tmp_path / "server.log", REGISTRY_PUBLIC_BASE_URL="https://registry.example"
    )
    server.start()
    server.stop()
    written = (tmp_path / "server.log").read_text()
    assert "Application startup complete" in written
    assert "loopback" not in written


@pytest.mark.parametrize(
    ("host", "url", "loopback"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123", True),
        ("localhost", "http://localhost:8123", True),
        ("::1", "http://[::1]:8123", True),
        ("10.1.2.3", "http://10.1.2.3:8123", False),
        ("registry.example", "http://registry.example:8123", False),
    ],
)
def test_the_listening_address_as_a_url(host, url, loopback):
    assert listening_url(host, 8123) == url
    assert is_loopback(url) is loopback


@pytest.fixture
async def attested(client, auth) -> dict:
    deletion = await confirmed_deletion(client, auth)
    response = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
    assert response.status_code == 201, response.text
    return response.json()


class TestVerificationByAddress:
    async def test_a_browser_gets_a_page_with_the_verdict(self, client, attested):
        response = await client.get(f"/attestations/{attested['serial']}/verify", headers={"Accept": BROWSER})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page = response.text
        assert "<h2>Valid</h2>" in page
        assert attested["serial"] in page and "Acme Hosting" in page
        assert "Issued</dt>" in page and "Revoked</dt>" not in page

    @pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
    async def test_a_client_gets_json(self, client, attested, accept):
        headers = {"Accept": accept} if accept else {}
        response = await client.get(f"/attestations/{attested['serial']}/verify", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["status"] == "valid" and response.json()["serial"] == attested["serial"]

    async def test_a_revoked_one_shows_its_revocation_and_successor(self, client, auth, attested):
        serial = attested["serial"]
        revoked = await client.post(
            f"/attestations/{serial}/revoke", json={"reason": "Wrong date"}, headers=auth()
        )
        assert revoked.status_code == 200, revoked.text
        reissued = await client.post(
            f"/deletions/{attested['obligation_id']}/attestation", headers=auth("editor")
        )
        assert reissued.status_code == 201, reissued.text
        page = (await client.get(f"/attestations/{serial}/verify", headers={"Accept": BROWSER})).text
        assert "<h2>Revoked</h2>" in page and "Wrong date" in page and "Revoked</dt>" in page
        successor = reissued.json()["serial"]
        assert f'<a href="/attestations/{successor}/verify">{successor}</a>' in page

    async def test_an_unknown_serial_says_so_in_words(self, client):
        response = await client.get("/attestations/PRA-2026-999999/verify", headers={"Accept": BROWSER})
        assert response.status_code == 200
        assert "<h2>Not issued here</h2>" in response.text

    async def test_the_page_is_throttled_as_the_json(self, client, app):
        limit = app.state["settings"].verify_rate_per_minute
        answers = [
            (
                await client.get("/attestations/PRA-2026-000001/verify", headers={"Accept": BROWSER})
            ).status_code
            for _ in range(limit + 1)
        ]
        assert answers[:limit] == [200] * limit and answers[-1] == 429
