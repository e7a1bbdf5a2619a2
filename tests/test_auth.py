"""Keys and roles through HTTP: 401 without a good key, 403 when the role is too weak."""

import hashlib

import pytest

from registry.tables import ApiKey

pytestmark = pytest.mark.anyio


class TestAuthentication:
    @pytest.mark.parametrize("header", [None, "Bearer", "Bearer prk_nope", "Basic dXNlcjpwYXNz", "prk_x"])
    async def test_missing_or_bad_key_is_401(self, client, keys, header):
        headers = {"Authorization": header} if header else {}
        response = await client.get("/vendors", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401

    async def test_public_routes_need_no_key(self, client):
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/schema/openapi.json")).status_code == 200

    async def test_secrets_are_stored_only_as_hashes(self, client, keys):
        rows = await ApiKey.select(ApiKey.secret_hash, ApiKey.prefix)
        stored = {row["secret_hash"] for row in rows}
        for secret in keys.values():
            assert hashlib.sha256(secret.encode()).hexdigest() in stored
            assert all(secret not in str(row) for row in rows)


class TestRoles:
    @pytest.mark.parametrize(
        ("role", "method", "path", "status"),
        [
            ("lookup", "GET", "/vendors", 403),
            ("lookup", "GET", "/changes", 403),
            ("viewer", "GET", "/vendors", 200),
            ("viewer", "POST", "/vendors", 403),
            ("viewer", "GET", "/keys", 403),
            ("editor", "POST", "/vendors", 201),
            ("editor", "GET", "/keys", 403),
            ("editor", "POST", "/keys", 403),
            ("admin", "GET", "/keys", 200),
        ],
    )
    async def test_role_decides(self, client, auth, role, method, path, status):
        body = (
            {"name": "Acme", "kind": "agent", "country": "FR"}
            if path == "/vendors"
            else {"name": "k", "role": "viewer"}
        )
        response = await client.request(
            method, path, json=body if method == "POST" else None, headers=auth(role)
        )
        assert response.status_code == status, response.text
        if status == 403:
            assert role in response.json()["detail"]


class TestKeysApi:
    async def test_admin_creates_lists_and_revokes(self, client, auth):
        created = await client.post("/keys", json={"name": "crm-sync", "role": "lookup"}, headers=auth())
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert secret.startswith("prk_") and created.json()["prefix"] == secret[:10]
        listed = (await client.get("/keys", headers=auth())).json()
        assert "secret" not in str(listed) and "secret_hash" not in str(listed)
        assert any(k["name"] == "crm-sync" and k["role"] == "lookup" for k in listed)
        health = await client.get("/vendors", headers={"Authorization": f"Bearer {secret}"})
        assert health.status_code == 403  # authenticated, but lookup may not read vendors
        revoked = await client.post("/keys/crm-sync/revoke", headers=auth())
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        after = await client.get("/vendors", headers={"Authorization": f"Bearer {secret}"})
        assert after.status_code == 401
        again = await client.post("/keys/crm-sync/revoke", headers=auth())
        assert again.status_code == 409
        changes = (
            await client.get(
                "/changes", params={"object_type": "api_key", "object_id": "crm-sync"}, headers=auth()
            )
        ).json()["items"]
        assert [c["action"] for c in changes] == ["create", "revoke"]
        assert secret not in str(changes)

    @pytest.mark.parametrize(
        "body",
        [{"name": "../x", "role": "admin"}, {"name": "ok", "role": "root"}, {"name": "", "role": "viewer"}],
    )
    async def test_rejects_bad_keys(self, client, auth, body):
        response = await client.post("/keys", json=body, headers=auth())
        assert response.status_code == 400

    async def test_duplicate_name_conflicts(self, client, auth):
        response = await client.post("/keys", json={"name": "test-admin", "role": "viewer"}, headers=auth())
        assert response.status_code == 409
