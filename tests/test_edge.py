"""Malformed input at the edge (issue 15): each probe that once gave a 500 or was silently accepted now
gets a 4xx problem+json naming the field and the rule, and writes nothing."""

import json

import httpx
import pytest

from registry.app import create_app
from tests.conftest import CONFIRMATION, ended_contract, make_vendor
from tests.test_web import people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def change_count(client, auth) -> int:
    return (await client.get("/changes", headers=auth())).json()["total"]


def assert_problem(response, status: int, field: str, rule: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in response.json()["errors"]
    ], response.text


async def json_routes(client, auth) -> list[tuple[str, str]]:
    """Three JSON write routes (path, a valid body with a hole ``HOLE`` for a value) of different shapes."""
    await ended_contract(client, auth)
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    confirmation = json.dumps({**CONFIRMATION, "tool": "HOLE"})
    return [
        ("/lookup/check", '{"vendor": 1, "categories": ["user.contact.email"], "purpose": "HOLE"}'),
        ("/vendors", '{"name": "New", "kind": "agent", "country": "FR", "notes": "HOLE"}'),
        (f"/deletions/{deletion['id']}/confirmations", confirmation),
    ]


class TestJsonDepth:
    @pytest.mark.parametrize("depth", [65, 1_000, 5_000])
    async def test_deep_nesting_is_400_on_every_json_route(self, client, auth, depth):
        routes = await json_routes(client, auth)
        before = await change_count(client, auth)
        for path, body in routes:
            response = await client.post(
                path, content=body.replace('"HOLE"', nested(depth)), headers={**auth(), **JSON}
            )
            assert_problem(response, 400, "body", "json_depth")
        assert await change_count(client, auth) == before

    async def test_nesting_within_the_bound_is_read(self, client, auth):
        # 64 levels, brackets in strings included, reach the schema, which refuses a list where text goes.
        for notes in (json.loads(nested(63)), [[{}]] * 500):  # deep, or many brackets but shallow
            body = {"name": "[" * 200, "kind": "agent", "country": "FR", "notes": notes}
            response = await client.post("/vendors", json=body, headers=auth())
            assert_problem(response, 400, "notes", "type")

    async def test_the_bound_is_a_setting(self, client, settings, auth):
        shallow_app = create_app(settings.model_copy(update={"max_json_depth": 3}))
        async with shallow_app.lifespan():
            transport = httpx.ASGITransport(app=shallow_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as shallow:
                vendor = {"name": "A", "kind": "agent", "country": "FR"}
                deep = await shallow.post("/vendors", json={**vendor, "x": [[[]]]}, headers=auth())
                within = await shallow.post("/vendors", json={**vendor, "tags": ["a"]}, headers=auth())
        assert_problem(deep, 400, "body", "json_depth")
        assert "3 levels" in deep.json()["detail"]
        assert within.status_code == 201, within.text


class TestDuplicateKeys:
    @pytest.mark.parametrize(
        ("body", "key"),
        [
            ('{"name": "A", "name": "B", "kind": "agent", "country": "FR"}', "name"),
            (
                '{"name": "A", "kind": "agent", "country": "FR", "contact": {"email": "a@x.example",'
                ' "email": "b@x.example"}}',
                "email",
            ),
            # An escaped colon in a string must not hide the repeated key's lost colon.
            ('{"name": "A\\u003a", "name": "B", "kind": "agent", "country": "FR"}', "name"),
            (
                '{"name": "A", "website": "https://a.example", "name": "B", "kind": "agent", "country": "FR"}',
                "name",
            ),
        ],
    )
    async def test_a_repeated_key_is_400(self, client, auth, body, key):
        response = await client.post("/vendors", content=body, headers={**auth(), **JSON})
        assert_problem(response, 400, key, "duplicate_key")
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0

    async def test_a_repeated_key_on_the_lookup_is_400(self, client, auth):
        vendor = await make_vendor(client, auth)
        body = f'{{"vendor": {vendor["id"]}, "vendor": 2, "categories": ["user.contact.email"]}}'
        response = await client.post("/lookup/check", content=body, headers={**auth(), **JSON})
        assert_problem(response, 400, "vendor", "duplicate_key")

    async def test_colons_in_strings_are_not_keys(self, client, auth):
        body = '{"name": "A: B", "kind": "agent", "country": "FR", "website": "https://a.example:8443/"}'
        response = await client.post("/vendors", content=body, headers={**auth(), **JSON})
        assert response.status_code == 201, response.text
        assert response.json()["name"] == "A: B"


class TestJsonMediaType:
    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
    async def test_a_json_body_not_declared_json_is_415(self, client, auth, content_type):
        body = b'{"name": "A", "kind": "agent", "country": "FR"}'
        headers = {**auth(), **({"Content-Type": content_type} if content_type else {})}
        response = await client.post("/vendors", content=body, headers=headers)
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "application/json" in response.json()["detail"]
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0

    @pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.x+json"])
    async def test_json_types_are_read(self, client, auth, content_type):
        body = b'{"name": "A", "kind": "agent", "country": "FR"}'
        response = await client.post(
            "/vendors", content=body, headers={**auth(), "Content-Type": content_type}
        )
        assert response.status_code == 201, response.text


class TestDatetimeParameters:
    @pytest.mark.parametrize("since", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
    async def test_a_time_utc_cannot_hold_is_400(self, client, auth, since):
        response = await client.get("/changes", params={"since": since}, headers=auth())
        assert_problem(response, 400, "since", "range")

    async def test_times_with_offsets_still_filter(self, client, auth):
        await make_vendor(client, auth)
        early = await client.get("/changes", params={"since": "2000-01-01T02:00:00+02:00"}, headers=auth())
        late = await client.get("/changes", params={"since": "9999-12-31T10:00:00+02:00"}, headers=auth())
        assert (early.json()["total"], late.json()["total"]) == (await change_count(client, auth), 0)


class TestDates:
    @pytest.mark.parametrize("value", ["2025-01-01T00:00:00+02:00", "2025-01-01T00:00:00", 1735689600])
    async def test_a_body_date_must_be_a_day(self, client, auth, value):
        vendor = await make_vendor(client, auth)
        body = {"vendor_id": vendor["id"], "kind": "nda", "title": "NDA", "signed_on": value}
        response = await client.post("/contracts", json=body, headers=auth())
        assert_problem(response, 400, "signed_on", "pattern")
        assert (await client.get("/contracts", headers=auth())).json()["total"] == 0

    async def test_the_lookup_date_must_be_a_day(self, client, auth):
        vendor = await make_vendor(client, auth)
        body = {"vendor": vendor["id"], "categories": ["user.name"], "on": "2025-01-01T00:00:00+02:00"}
        response = await client.post("/lookup/check", json=body, headers=auth())
        assert_problem(response, 400, "on", "pattern")

    async def test_a_day_is_read(self, client, auth):
        vendor = await make_vendor(client, auth)
        body = {"vendor_id": vendor["id"], "kind": "nda", "title": "NDA", "signed_on": "2025-01-01"}
        response = await client.post("/contracts", json=body, headers=auth())
        assert (response.status_code, response.json()["signed_on"]) == (201, "2025-01-01")


class TestChangeMessage:
    async def test_utf8_is_stored_as_sent(self, client, auth):
        headers = {**auth(), "X-Change-Message": "café – überprüft".encode()}
        vendor = (
            await client.post(
                "/vendors", json={"name": "A", "kind": "agent", "country": "FR"}, headers=headers
            )
        ).json()
        changes = await client.get("/changes", params={"object_id": str(vendor["id"])}, headers=auth())
        assert [c["message"] for c in changes.json()["items"]] == ["café – überprüft"]

    async def test_invalid_utf8_is_400(self, client, auth):
        headers = {**auth(), "X-Change-Message": b"caf\xe9"}
        response = await client.post(
            "/vendors", json={"name": "A", "kind": "agent", "country": "FR"}, headers=headers
        )
        assert_problem(response, 400, "X-Change-Message", "utf8")
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0


class TestImportMediaType:
    @pytest.mark.parametrize("content_type", ["application/octet-stream", None])
    async def test_unnamed_bytes_are_not_read_as_csv(self, client, auth, content_type):
        csv = b"name,kind,country\nAcme,agent,FR\n"
        headers = {**auth("editor"), **({"Content-Type": content_type} if content_type else {})}
        response = await client.post("/imports", content=csv, headers=headers)
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "text/csv" in response.json()["accepted"]
        assert (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in response.json()["accepted"]
        )
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0


class TestTextParameters:
    @pytest.mark.parametrize(
        ("path", "name"), [("/vendors", "q"), ("/changes", "object_type"), ("/changes", "object_id")]
    )
    async def test_a_nul_byte_in_a_text_parameter_is_400(self, client, auth, path, name):
        response = await client.get(path, params={name: "a\x00b"}, headers=auth())
        assert_problem(response, 400, name, "control_characters")

    @pytest.mark.parametrize("path", ["/attestations/a%00b", "/keys/a%00b/revoke"])
    async def test_a_nul_byte_in_the_path_is_400(self, client, auth, path):
        response = await client.request("POST" if path.endswith("revoke") else "GET", path, headers=auth())
        assert_problem(response, 400, "path", "control_characters")


def form_part(value: bytes, content_type: bytes = b"") -> bytes:
    """A multipart body of one text field ``name``, its part's Content-Type as given."""
    head = b'--x\r\nContent-Disposition: form-data; name="name"\r\n'
    return (
        head
        + (b"Content-Type: " + content_type + b"\r\n" if content_type else b"")
        + b"\r\n"
        + value
        + b"\r\n--x--\r\n"
    )


def assert_form_refused(response) -> None:
    """The web interface's 400 page (HTML, like its other errors), naming the rule."""
    assert response.status_code == 400, response.text
    assert "a form field is not text in its declared charset" in response.text


class TestFormEncoding:
    """Litestar decodes each text field with its part's charset and lets the error escape: it was a 500."""

    @pytest.mark.parametrize(
        "body",
        [
            form_part(b"\xff\xfe"),  # not UTF-8
            form_part(b"abc", b"text/plain; charset=nope"),  # no such charset
            form_part(b"abc", b"text/plain; charset=utf-16"),  # an odd byte count
            form_part(b"abc", b"text/plain; charset=rot13"),  # a codec, not a text encoding
        ],
    )
    @pytest.mark.parametrize("path", ["/ui/login", "/ui/verify"])
    async def test_a_field_not_text_in_its_charset_is_400(self, client, path, body):
        response = await client.post(
            path, content=body, headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
        assert_form_refused(response)

    async def test_a_signed_in_form_too(self, client, auth, people):  # noqa: F811
        await sign_in(client)
        before = await change_count(client, auth)
        response = await client.post(
            "/ui/data/import",
            content=form_part(b"\xff"),
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        assert_form_refused(response)
        assert await change_count(client, auth) == before
