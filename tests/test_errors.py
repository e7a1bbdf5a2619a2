"""Every error is problem+json; bad input never reaches the user as a 500."""

import pytest

pytestmark = pytest.mark.anyio


class TestProblems:
    async def test_unknown_route_is_a_problem(self, client, auth):
        response = await client.get("/nowhere", headers=auth())
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]

    async def test_malformed_json_is_400(self, client, auth):
        response = await client.post(
            "/vendors", content=b'{"name": "x",', headers={**auth(), "Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"

    async def test_body_over_the_limit_is_413(self, client, auth):
        response = await client.post(
            "/vendors",
            json={"name": "x", "kind": "agent", "country": "FR", "notes": "n" * 20_000},
            headers=auth(),
        )
        assert response.status_code == 413
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0

    @pytest.mark.parametrize(
        "path", ["/vendors/99999999999999999999", "/vendors/-1", "/contracts/0", "/vendors/2147483648"]
    )
    async def test_huge_or_negative_ids_are_4xx(self, client, auth, path):
        response = await client.get(path, headers=auth())
        assert response.status_code in (400, 404)
        assert response.headers["content-type"] == "application/problem+json"

    async def test_client_request_id_is_echoed_when_sane(self, client, auth):
        ok = await client.get("/vendors", headers={**auth(), "X-Request-ID": "trace-42"})
        assert ok.headers["x-request-id"] == "trace-42"
        odd = await client.get("/vendors", headers={**auth(), "X-Request-ID": "<script>"})
        assert odd.headers["x-request-id"] != "<script>"

    async def test_overlong_change_message_is_refused(self, client, auth):
        response = await client.post(
            "/vendors",
            json={"name": "x", "kind": "agent", "country": "FR"},
            headers={**auth(), "X-Change-Message": "m" * 1001},
        )
        assert response.status_code == 422
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0


class TestOpenApi:
    async def test_documents_security_and_problem_responses(self, client):
        spec = (await client.get("/schema/openapi.json")).json()
        assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if "security" not in operation:  # public: /health and attestation verification
                    assert "401" not in operation["responses"], (method, path)
                    continue
                assert operation["security"] == [{"apiKey": []}], (method, path)
                responses = operation["responses"]
                assert "401" in responses and "403" in responses, (method, path)
                assert "application/problem+json" in responses["400"]["content"], (method, path)
        assert (await client.get("/schema")).status_code == 200
