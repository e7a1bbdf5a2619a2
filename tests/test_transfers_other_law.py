"""Data leaving a country that is neither in the EEA nor China (found by an independent review: such a
transfer could never be cleared) is transferred under that country's own rules, named in the record."""

import pytest

from registry.tables import Transfer
from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio


async def disclosure_from(client, auth, origin: str) -> dict:
    vendor = await make_vendor(client, auth, name=f"Receiver from {origin}", country="DE")
    contract = await make_contract(client, auth, vendor["id"], expires_on="2030-12-31")
    return await make_disclosure(
        client, auth, vendor["id"], contract["id"], origin=origin, valid_from="2025-02-01"
    )


async def allowed(client, auth, d: dict) -> dict:
    body = {"vendor": d["vendor_id"], "categories": ["user.contact.email"], "on": "2025-06-01"}
    return (await client.post("/lookup/check", json=body, headers=auth("lookup"))).json()


async def test_a_uk_transfer_is_cleared_under_the_uks_own_rules(client, auth):
    d = await disclosure_from(client, auth, "GB")
    refused = await allowed(client, auth, d)
    assert refused["allowed"] is False and "United Kingdom" in refused["reasons"][0]
    for gdpr in ({"mechanism": "scc_2021", "scc_module": 2, "tia_date": "2025-01-15"}, {"mechanism": "bcr"}):
        response = await client.put(f"/disclosures/{d['id']}/transfer", json=gdpr, headers=auth("editor"))
        assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "gdpr_origin"
    bare = await client.put(
        f"/disclosures/{d['id']}/transfer", json={"mechanism": "other_law"}, headers=auth()
    )
    assert bare.status_code == 422, bare.text
    assert (bare.json()["errors"][0]["field"], bare.json()["errors"][0]["rule"]) == (
        "mechanism_reference",
        "required",
    )
    assert await Transfer.count() == 0
    body = {"mechanism": "other_law", "mechanism_reference": "UK IDTA signed 2025-01-10"}
    recorded = await client.put(f"/disclosures/{d['id']}/transfer", json=body, headers=auth("editor"))
    assert recorded.status_code == 201, recorded.text
    answer = await allowed(client, auth, d)
    assert answer["allowed"] is True, answer["reasons"]


@pytest.mark.parametrize(("origin", "law"), [("IE", "the GDPR"), ("CN", "the PIPL")])
async def test_the_other_law_does_not_replace_the_gdpr_or_the_pipl(client, auth, origin, law):
    d = await disclosure_from(client, auth, origin)
    if origin == "IE":  # IE to DE is no transfer at all: send it to the US instead
        d = await make_disclosure(
            client,
            auth,
            (await make_vendor(client, auth, name="US receiver", country="US"))["id"],
            None,
            origin=origin,
            basis="consent",
            consent_reference="CONSENT-1",
            valid_from="2025-02-01",
            country="US",
        )
    body = {"mechanism": "other_law", "mechanism_reference": "a local rule"}
    response = await client.put(f"/disclosures/{d['id']}/transfer", json=body, headers=auth("editor"))
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("mechanism", "other_law_origin") and law in error["message"]
    assert await Transfer.count() == 0
