"""The taxonomy: seeded from fideslang, custom entries beneath it, fixed and in-use entries kept."""

import pytest

from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio


class TestSeededTaxonomy:
    @pytest.mark.parametrize(
        ("kind", "count", "example"),
        [
            ("data-categories", 85, "user.contact.email"),
            ("data-uses", 56, "essential.service.operations.support"),
            ("data-subjects", 15, "customer"),
        ],
    )
    async def test_flat_list_has_the_fideslang_defaults(self, client, auth, kind, count, example):
        response = await client.get(f"/taxonomy/{kind}", headers=auth("lookup"))
        assert response.status_code == 200
        entries = response.json()
        assert len(entries) == count
        assert all(e["is_default"] for e in entries)
        assert example in {e["key"] for e in entries}

    async def test_tree_nests_by_key(self, client, auth):
        roots = (await client.get("/taxonomy/data-categories/tree", headers=auth("lookup"))).json()
        assert sorted(r["key"] for r in roots) == ["system", "user"]
        user = next(r for r in roots if r["key"] == "user")
        contact = next(c for c in user["children"] if c["key"] == "user.contact")
        assert "user.contact.email" in {c["key"] for c in contact["children"]}

    async def test_unknown_kind_is_400(self, client, auth):
        assert (await client.get("/taxonomy/colours", headers=auth())).status_code == 400


class TestCustomEntries:
    async def test_add_under_a_parent_change_and_delete(self, client, auth):
        created = await client.post(
            "/taxonomy/data-categories",
            headers=auth("editor"),
            json={"key": "user.content.diagram", "name": "Diagrams", "description": "Diagrams users draw"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["parent_key"] == "user.content" and created.json()["is_default"] is False
        renamed = await client.patch(
            "/taxonomy/data-categories/user.content.diagram",
            json={"name": "Drawings"},
            headers=auth("editor"),
        )
        assert renamed.status_code == 200 and renamed.json()["name"] == "Drawings"
        deleted = await client.delete(
            "/taxonomy/data-categories/user.content.diagram", headers=auth("editor")
        )
        assert deleted.status_code == 204
        keys = {e["key"] for e in (await client.get("/taxonomy/data-categories", headers=auth())).json()}
        assert "user.content.diagram" not in keys
        changes = (
            await client.get("/changes", params={"object_type": "data_category"}, headers=auth())
        ).json()
        assert [c["action"] for c in changes["items"]] == ["create", "update", "delete"]

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"key": "nowhere.thing", "name": "x"}, 422),
            ({"key": "toplevel", "name": "x"}, 422),
            ({"key": "user.contact.email", "name": "x"}, 409),
            ({"key": "User.Bad Key", "name": "x"}, 400),
            ({"key": "user.x", "name": ""}, 400),
        ],
    )
    async def test_rejects_bad_entries(self, client, auth, body, status):
        response = await client.post("/taxonomy/data-categories", json=body, headers=auth())
        assert response.status_code == status, response.text
        assert len((await client.get("/taxonomy/data-categories", headers=auth())).json()) == 85

    async def test_custom_data_subjects_may_be_top_level(self, client, auth):
        response = await client.post(
            "/taxonomy/data-subjects", json={"key": "team_member", "name": "Team member"}, headers=auth()
        )
        assert response.status_code == 201

    async def test_seeded_entries_are_fixed(self, client, auth):
        patch = await client.patch(
            "/taxonomy/data-categories/user.contact", json={"name": "x"}, headers=auth()
        )
        delete = await client.delete("/taxonomy/data-categories/user.contact", headers=auth())
        assert (patch.status_code, delete.status_code) == (409, 409)

    async def test_entries_in_use_cannot_be_deleted(self, client, auth):
        await client.post(
            "/taxonomy/data-categories",
            json={"key": "user.content.diagram", "name": "Diagrams"},
            headers=auth(),
        )
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"])
        disclosure = await make_disclosure(
            client, auth, vendor["id"], contract["id"], categories=["user.content.diagram"]
        )
        response = await client.delete("/taxonomy/data-categories/user.content.diagram", headers=auth())
        assert response.status_code == 409
        assert response.json()["conflicts"] == [{"type": "disclosure", "id": disclosure["id"]}]

    async def test_lookup_role_reads_but_cannot_write(self, client, auth):
        response = await client.post(
            "/taxonomy/data-categories", json={"key": "user.x", "name": "x"}, headers=auth("lookup")
        )
        assert response.status_code == 403
