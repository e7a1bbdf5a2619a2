"""Public routes are rate limited; secrets never reach logs or error bodies."""

import logging
from pathlib import Path

import pytest

from registry.settings import Settings
from tests.conftest import confirmed_deletion

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(database_url, signing_files) -> Settings:
    return Settings(
        database_url=database_url,
        signing_key_file=signing_files[0],
        signing_cert_file=signing_files[1],
        pdf_workers=1,
        verify_rate_per_minute=5,
        signing_key_passphrase="not-a-real-passphrase",
    )


async def test_public_verification_is_rate_limited(client):
    statuses = [(await client.get("/attestations/PRA-2026-000001/verify")).status_code for _ in range(5)]
    assert statuses == [200] * 5
    limited = await client.get("/attestations/PRA-2026-000001/verify")
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    upload = await client.post(
        "/attestations/verify", content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}
    )
    assert upload.status_code == 429


async def test_secrets_never_appear_in_logs_or_errors(client, auth, keys, caplog, signing_files):
    caplog.set_level(logging.DEBUG)
    bodies = []
    for secret in keys.values():
        for path in ("/vendors", "/keys", "/nowhere"):
            response = await client.get(path, headers={"Authorization": f"Bearer {secret}"})
            bodies.append(response.text)
    bad = await client.get("/vendors", headers={"Authorization": "Bearer prk_guessed-secret-value"})
    bodies.append(bad.text)
    created = await client.post("/keys", json={"name": "fresh", "role": "viewer"}, headers=auth())
    fresh_secret = created.json()["secret"]
    bodies.append((await client.get("/keys", headers=auth())).text)
    bodies.append((await client.get("/changes", headers=auth())).text)
    key_pem = Path(signing_files[0]).read_text().splitlines()[1]
    for secret in [
        *keys.values(),
        fresh_secret,
        "prk_guessed-secret-value",
        "not-a-real-passphrase",
        key_pem,
    ]:
        assert secret not in caplog.text
        assert all(secret not in body for body in bodies)


async def test_a_server_error_shows_no_traceback(client, auth, app, monkeypatch):
    from registry.vendors import service

    async def explode(*args, **kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(service, "list_vendors", explode)
    response = await client.get("/vendors", headers=auth())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "internal detail" not in response.text and "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_attestation_flow_keeps_the_passphrase_out_of_errors(client, auth):
    deletion = await confirmed_deletion(client, auth)
    response = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth())
    # The test key is not encrypted, so a passphrase makes loading it fail: a clear 503, no secret.
    assert response.status_code == 503 and "REGISTRY_SIGNING_KEY_PASSPHRASE" in response.json()["detail"]
    assert "not-a-real-passphrase" not in response.text
