"""The lookup API answers from validity dates: first day, last day, open-ended, overlaps, ended contracts."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio


@pytest.fixture
async def registry(client, auth):
    """Acme: e-mail addresses 2025-02-01..2025-12-31 under DPA-1. Beta: all contact data, open-ended."""
    acme = await make_vendor(client, auth, name="Acme")
    dpa = await make_contract(
        client, auth, acme["id"], reference="DPA-1", effective_from="2025-01-01", expires_on="2025-12-31"
    )
    email = await make_disclosure(client, auth, acme["id"], dpa["id"], valid_from="2025-02-01")
    beta = await make_vendor(client, auth, name="Beta", country="FR")
    open_ended = await make_contract(client, auth, beta["id"], reference="DPA-2", effective_from="2024-01-01")
    contact = await make_disclosure(
        client,
        auth,
        beta["id"],
        open_ended["id"],
        categories=["user.contact"],
        purpose="marketing.communications.email",
        valid_from="2024-06-01",
    )
    return {"acme": acme, "dpa": dpa, "email": email, "beta": beta, "contact": contact}


async def recipients(client, auth, **params):
    response = await client.get("/lookup/recipients", params=params, headers=auth("lookup"))
    assert response.status_code == 200, response.text
    return response.json()


class TestRecipients:
    @pytest.mark.parametrize(
        ("as_of", "expected"),
        [
            ("2025-01-31", ["Beta"]),  # the day before Acme's disclosure starts
            ("2025-02-01", ["Acme", "Beta"]),  # its first day
            ("2025-12-31", ["Acme", "Beta"]),  # its last day
            ("2026-01-01", ["Beta"]),  # the day after
            ("2024-05-31", []),  # before anything
            ("2999-01-01", ["Beta"]),  # open-ended
        ],
    )
    async def test_found_on_its_dates_and_not_outside(self, client, auth, registry, as_of, expected):
        found = await recipients(client, auth, category="user.contact", as_of=as_of)
        assert [r["vendor_name"] for r in found["items"]] == expected
        assert found["total"] == len(expected)

    async def test_answer_carries_the_disclosure_and_contract(self, client, auth, registry):
        found = await recipients(client, auth, category="user.contact", as_of="2025-06-01")
        acme = found["items"][0]
        assert acme["disclosure_id"] == registry["email"]["id"]
        assert acme["categories"] == ["user.contact.email"]
        assert (acme["basis"], acme["purpose"]) == ("contract", "essential.service.operations.support")
        assert acme["contract"]["reference"] == "DPA-1" and acme["contract"]["ends_on"] == "2025-12-31"
        assert (acme["valid_from"], acme["valid_to"], acme["country"]) == ("2025-02-01", "2025-12-31", "DE")

    async def test_a_broader_disclosure_holds_the_narrower_category(self, client, auth, registry):
        found = await recipients(client, auth, category="user.contact.email", as_of="2025-06-01")
        assert {r["vendor_name"]: r["categories"] for r in found["items"]} == {
            "Acme": ["user.contact.email"],
            "Beta": ["user.contact"],
        }
        unrelated = await recipients(client, auth, category="user.contact.phone_number", as_of="2025-06-01")
        assert [r["vendor_name"] for r in unrelated["items"]] == ["Beta"]

    async def test_several_categories_purpose_and_basis_filters(self, client, auth, registry):
        both = await recipients(
            client, auth, category=["user.name", "user.contact.email"], as_of="2025-06-01"
        )
        assert len(both["items"]) == 2
        marketing = await recipients(client, auth, category="user", as_of="2025-06-01", purpose="marketing")
        assert [r["vendor_name"] for r in marketing["items"]] == ["Beta"]
        consent = await recipients(client, auth, category="user", as_of="2025-06-01", basis="consent")
        assert consent["items"] == []

    async def test_contract_ended_mid_period(self, client, auth, registry):
        await client.post(
            f"/contracts/{registry['dpa']['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "breach"},
            headers=auth(),
        )
        on_last_day = await recipients(client, auth, category="user.contact.email", as_of="2025-06-30")
        day_after = await recipients(client, auth, category="user.contact.email", as_of="2025-07-01")
        assert "Acme" in [r["vendor_name"] for r in on_last_day["items"]]
        assert "Acme" not in [r["vendor_name"] for r in day_after["items"]]

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"category": "User.Contact"},
            {"category": "user.contact", "as_of": "2025-02-30"},
            {"category": "user.contact", "basis": "vibes"},
            {"category": ["x"] * 21},
        ],
    )
    async def test_bad_parameters_are_400(self, client, auth, params):
        response = await client.get("/lookup/recipients", params=params, headers=auth("lookup"))
        assert response.status_code == 400, response.text

    async def test_unknown_category_is_422(self, client, auth):
        response = await client.get(
            "/lookup/recipients", params={"category": "user.telepathy"}, headers=auth()
        )
        assert response.status_code == 422 and "user.telepathy" in response.json()["detail"]


class TestHistory:
    @pytest.mark.parametrize(
        ("period", "expected"),
        [
            (("2025-01-01", "2025-01-31"), ["Beta"]),
            (("2025-12-31", "2026-03-01"), ["Acme", "Beta"]),
            (("2024-01-01", "2024-05-31"), []),
            (("2026-01-01", "2026-01-01"), ["Beta"]),
        ],
    )
    async def test_every_recipient_during_a_period(self, client, auth, registry, period, expected):
        response = await client.get(
            "/lookup/history",
            headers=auth("lookup"),
            params={"category": "user.contact.email", "from": period[0], "to": period[1]},
        )
        assert response.status_code == 200
        assert [r["vendor_name"] for r in response.json()["items"]] == expected

    async def test_period_must_be_in_order(self, client, auth):
        response = await client.get(
            "/lookup/history",
            headers=auth(),
            params={"category": "user", "from": "2025-02-01", "to": "2025-01-01"},
        )
        assert response.status_code == 422


class TestVendorHoldings:
    async def test_categories_and_contracts_on_a_day(self, client, auth, registry):
        response = await client.get(
            f"/lookup/vendors/{registry['acme']['id']}",
            params={"as_of": "2025-03-01"},
            headers=auth("lookup"),
        )
        assert response.status_code == 200
        body = response.json()
        assert body["categories"] == [
            {
                "category": "user.contact.email",
                "disclosure_ids": [registry["email"]["id"]],
                "contract_ids": [registry["dpa"]["id"]],
            }
        ]
        assert [c["reference"] for c in body["contracts"]] == ["DPA-1"]
        later = await client.get(
            f"/lookup/vendors/{registry['acme']['id']}",
            params={"as_of": "2026-03-01"},
            headers=auth("lookup"),
        )
        assert later.json()["categories"] == [] and later.json()["contracts"] == []

    async def test_unknown_vendor_is_404(self, client, auth):
        response = await client.get("/lookup/vendors/999", headers=auth("lookup"))
        assert response.status_code == 404


class TestCheck:
    async def check(self, client, auth, **body):
        response = await client.post("/lookup/check", json=body, headers=auth("lookup"))
        assert response.status_code == 200, response.text
        return response.json()

    async def test_allowed_with_the_records_it_rests_on(self, client, auth, registry):
        answer = await self.check(
            client,
            auth,
            vendor=registry["acme"]["id"],
            categories=["user.contact.email"],
            purpose="essential.service.operations.support",
            on="2025-06-01",
        )
        assert answer["allowed"] is True
        assert [d["id"] for d in answer["disclosures"]] == [registry["email"]["id"]]
        assert [c["reference"] for c in answer["contracts"]] == ["DPA-1"]

    async def test_a_broad_disclosure_covers_a_narrower_category_and_purpose(self, client, auth, registry):
        answer = await self.check(
            client,
            auth,
            vendor=registry["beta"]["id"],
            categories=["user.contact.phone_number"],
            purpose="marketing.communications.email",
            on="2030-01-01",
        )
        assert answer["allowed"] is True

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"categories": ["user.name"]}, "no disclosure of it"),
            ({"categories": ["user.contact.email"], "purpose": "marketing"}, "is for purpose"),
            ({"categories": ["user.contact.email"], "on": "2025-01-15"}, "starts on 2025-02-01"),
            ({"categories": ["user.contact.email"], "on": "2026-01-01"}, "ended on 2025-12-31"),
            ({"categories": ["user.contact"]}, "no disclosure of it"),
        ],
    )
    async def test_refused_with_a_reason(self, client, auth, registry, body, fragment):
        answer = await self.check(client, auth, vendor=registry["acme"]["id"], **{"on": "2025-06-01", **body})
        assert answer["allowed"] is False
        assert any(fragment in reason for reason in answer["reasons"]), answer["reasons"]

    async def test_vendor_whose_contract_ended_yesterday_is_refused(self, client, auth):
        today = datetime.now(UTC).date()
        vendor = await make_vendor(client, auth, name="Gone")
        contract = await make_contract(
            client,
            auth,
            vendor["id"],
            effective_from=str(today - timedelta(days=100)),
            signed_on=str(today - timedelta(days=100)),
        )
        await make_disclosure(
            client, auth, vendor["id"], contract["id"], valid_from=str(today - timedelta(days=90))
        )
        before = await self.check(client, auth, vendor=vendor["id"], categories=["user.contact.email"])
        assert before["allowed"] is True
        yesterday = today - timedelta(days=1)
        await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": str(yesterday), "reason": "vendor insolvent"},
            headers=auth(),
        )
        answer = await self.check(client, auth, vendor=vendor["id"], categories=["user.contact.email"])
        assert answer["allowed"] is False and answer["on"] == str(today)
        [reason] = answer["reasons"]
        assert f"ended on {yesterday}" in reason and "terminated: vendor insolvent" in reason

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"vendor": 999, "categories": ["user.name"]}, 422),
            ({"vendor": 1, "categories": ["user.telepathy"]}, 422),
            ({"vendor": 1, "categories": []}, 400),
            ({"vendor": 1, "categories": ["user.name"], "on": "someday"}, 400),
            ({"vendor": 2**40, "categories": ["user.name"]}, 400),
        ],
    )
    async def test_bad_questions(self, client, auth, registry, body, status):
        response = await client.post("/lookup/check", json=body, headers=auth("lookup"))
        assert response.status_code == status, response.text


class TestRegister:
    async def test_csv_and_json_list_every_disclosure(self, client, auth, registry):
        csv = await client.get("/exports/recipients.csv", headers=auth("viewer"))
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.strip().splitlines()
        assert lines[0].startswith('"vendor_id","vendor_name",')
        assert len(lines) == 3
        assert "Acme" in lines[1] and "user.contact.email" in lines[1] and "DPA-1" in lines[1]
        assert '"2025-02-01","2025-12-31","DE"' in lines[1]
        data = (await client.get("/exports/recipients.json", headers=auth("viewer"))).json()
        assert data["controller"] == "Example Controller Ltd"
        assert [(r["vendor_name"], r["basis"]) for r in data["rows"]] == [
            ("Acme", "contract"),
            ("Beta", "contract"),
        ]
        today_only = (
            await client.get("/exports/recipients.json", params={"as_of": "2026-06-01"}, headers=auth())
        ).json()
        assert [r["vendor_name"] for r in today_only["rows"]] == ["Beta"]

    async def test_formula_cells_are_neutralised(self, client, auth, registry):
        vendor = await make_vendor(
            client, auth, name='=HYPERLINK("http://evil")', legal_name="+1 evil", country="US"
        )
        await make_disclosure(
            client, auth, vendor["id"], None, basis="consent", consent_reference="@import", notes="-2"
        )
        text = (await client.get("/exports/recipients.csv", headers=auth())).text
        row = next(line for line in text.splitlines() if "HYPERLINK" in line)
        assert row.startswith(f'"{vendor["id"]}","\'=HYPERLINK(""http://evil"")","\'+1 evil",')
        assert ',"\'@import",' in row

    async def test_lookup_role_cannot_export(self, client, auth):
        assert (await client.get("/exports/recipients.csv", headers=auth("lookup"))).status_code == 403


async def test_recipients_are_paged_with_a_total(client, auth, registry):
    first = await recipients(client, auth, category="user.contact", as_of="2025-06-01", limit=1)
    second = await recipients(client, auth, category="user.contact", as_of="2025-06-01", limit=1, offset=1)
    assert (first["total"], second["total"]) == (2, 2)
    assert [r["vendor_name"] for r in first["items"] + second["items"]] == ["Acme", "Beta"]
    response = await client.get("/lookup/recipients", params={"category": "user", "limit": 0}, headers=auth())
    assert response.status_code == 400
