"""Fides interoperability: the registry as fideslang systems (YAML), exported, imported, round-tripped."""

import re

import pytest
import yaml
from fideslang.models import System
from fideslang.validation import FIDES_KEY_PATTERN

from registry import clock
from registry.interop.fides import fides_keys
from registry.tables import Change, Disclosure, Vendor
from tests.conftest import make_contract, make_disclosure, make_vendor, new_database, run_cli
from tests.test_imports import workbook

pytestmark = pytest.mark.anyio
YAML = "application/yaml"
CONTRACT_COLUMNS = [
    "vendor",
    "reference",
    "kind",
    "title",
    "signed_on",
    "effective_from",
    "confidentiality_equivalent",
]


@pytest.fixture
def fresh_database_url(engine_name, templates, tmp_path) -> str:
    """A second empty, migrated database on the same engine (for the CLI: one process, one engine)."""
    return new_database(engine_name, templates, tmp_path, "fresh")


async def contracted(client, auth) -> None:
    """Vendors under contract: a parent and its sub-processor, contract-basis disclosures."""
    hosting = await make_vendor(
        client,
        auth,
        name="Northwind Hosting",
        legal_name="Northwind Hosting Ltd",
        country="IE",
        registered_address="1 Dock Road, Dublin",
        website="https://northwind.example",
        tags=["hosting", "critical"],
        public=True,
        contact={"name": "Ana Ruiz", "email": "ana@northwind.example", "phone": "+353 1 555 0101"},
        privacy_contact={"name": "DPO desk", "email": "dpo@northwind.example"},
        notes="Primary hosting",
    )
    dpa = await make_contract(client, auth, hosting["id"], reference="DPA-1", expires_on="2027-12-31")
    await make_disclosure(
        client, auth, hosting["id"], dpa["id"], categories=["user.contact.email", "user.name"]
    )
    await make_disclosure(
        client,
        auth,
        hosting["id"],
        dpa["id"],
        purpose="essential.service",
        valid_to="2025-06-30",
        notes="pilot",
    )
    backup = await make_vendor(client, auth, name="Northwind Backup", kind="contractor", country="NL")
    patched = await client.patch(
        f"/vendors/{backup['id']}", json={"parent_id": hosting["id"]}, headers=auth()
    )
    assert patched.status_code == 200, patched.text
    msa = await make_contract(client, auth, backup["id"], reference="MSA-7", kind="msa")
    await make_disclosure(client, auth, backup["id"], msa["id"], data_subjects=["customer", "employee"])


async def contractless(client, auth) -> None:
    """Vendors whose disclosures rest on consent or a legal obligation, and one without any."""
    quill = await make_vendor(
        client, auth, name="Quill Translation", kind="associated_business", country="FR"
    )
    await make_disclosure(
        client, auth, quill["id"], None, basis="consent", consent_reference="form-7", country="US"
    )
    await make_disclosure(
        client,
        auth,
        quill["id"],
        None,
        basis="legal_obligation",
        legal_reference="HGB §257",
        purpose="essential.service",
        valid_from="2024-01-01",
    )
    await make_vendor(client, auth, name="Idle Vendor", kind="agent", country="DE")


async def export(client, auth, **params) -> str:
    response = await client.get("/exports/fides.yaml", headers=auth("viewer"), params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(YAML)
    return response.text


async def post_yaml(client, auth, body: str | bytes, role="editor", content_type=YAML, **params):
    headers = {**auth(role), "Content-Type": content_type}
    return await client.post("/imports/fides", content=body, headers=headers, params=params)


def systems_of(text: str) -> dict[str, System]:
    return {s["name"]: System.model_validate(s) for s in yaml.safe_load(text)["system"]}


def counts(report: dict) -> dict:
    return {sheet: report["counts"][sheet] for sheet in ("vendors", "disclosures")}


class TestExport:
    async def test_every_vendor_is_a_valid_system_with_its_disclosures(self, client, auth):
        await contracted(client, auth)
        await contractless(client, auth)
        text = await export(client, auth)
        keys = [s["fides_key"] for s in yaml.safe_load(text)["system"]]
        assert keys == sorted(keys) and len(set(keys)) == 4
        assert all(re.match(FIDES_KEY_PATTERN, key) for key in keys)
        systems = systems_of(text)
        hosting = systems["Northwind Hosting"]
        assert hosting.fides_key == "northwind_hosting"
        assert (hosting.legal_name, hosting.legal_address) == ("Northwind Hosting Ltd", "1 Dock Road, Dublin")
        assert (hosting.description, hosting.dpo, hosting.tags) == (
            "Primary hosting",
            "dpo@northwind.example",
            ["hosting", "critical"],
        )
        meta = hosting.meta["registry"]
        assert meta["kind"] == "service_provider" and meta["country"] == "IE" and meta["public"] is True
        assert meta["contact"]["phone"] == "+353 1 555 0101"
        [support, service] = sorted(hosting.privacy_declarations, key=lambda d: d.data_use, reverse=True)
        assert support.data_use == "essential.service.operations.support"
        assert support.data_categories == ["user.contact.email", "user.name"]
        assert support.data_subjects == ["customer"] and support.legal_basis_for_processing == "Contract"
        assert meta["declarations"][support.name] == {
            "contract": "DPA-1",
            "valid_from": "2025-02-01",
            "valid_to": "2027-12-31",  # the contract's last day
            "country": "IE",
            "role": "processor",
            "origin": "DE",  # tests/conftest.py's REGISTRY_ORIGIN_COUNTRY: within the EEA, no transfer
        }
        assert hosting.responsibility == ["Processor"] and hosting.does_international_transfers is False
        assert meta["declarations"][service.name]["notes"] == "pilot"
        assert systems["Northwind Backup"].meta["registry"]["parent"] == "Northwind Hosting"
        quill = systems["Quill Translation"]
        bases = {d.legal_basis_for_processing for d in quill.privacy_declarations}
        assert bases == {"Consent", "Legal obligations"}
        facts = quill.meta["registry"]["declarations"].values()
        assert {f.get("consent_reference") for f in facts} == {"form-7", None}
        assert systems["Idle Vendor"].privacy_declarations == []

    async def test_as_of_keeps_the_disclosures_valid_that_day(self, client, auth):
        await contracted(client, auth)
        systems = systems_of(await export(client, auth, as_of="2025-08-01"))
        assert len(systems["Northwind Hosting"].privacy_declarations) == 1  # the pilot ended in June
        assert len(systems_of(await export(client, auth, as_of="2020-01-01"))) == 2  # vendors stay

    async def test_lookup_keys_may_not_export(self, client, auth):
        assert (await client.get("/exports/fides.yaml", headers=auth("lookup"))).status_code == 403
        assert (await client.get("/exports/fides.yaml")).status_code == 401


def test_fides_keys_are_unique_valid_and_independent_of_order():
    names = ["Acme", "ACME", "acme!", "Ünïcode GmbH", "!!!"]
    keys = fides_keys(names)
    assert keys == fides_keys(list(reversed(names)))
    assert len(set(keys.values())) == len(names)
    assert keys["ACME"] == "acme" and keys["Ünïcode GmbH"] == "unicode_gmbh" and keys["!!!"] == "vendor"
    assert all(re.match(FIDES_KEY_PATTERN, key) for key in keys.values())


class TestRoundTrip:
    async def test_importing_the_export_into_the_same_registry_changes_nothing(self, client, auth):
        await contracted(client, auth)
        await contractless(client, auth)
        changes = await Change.count()
        response = await post_yaml(client, auth, await export(client, auth))
        assert response.status_code == 200, response.text
        assert response.json()["committed"] is True
        assert counts(response.json()) == {
            "vendors": {"created": 0, "updated": 0, "unchanged": 4},
            "disclosures": {"created": 0, "updated": 0, "unchanged": 5},
        }
        assert await Change.count() == changes

    async def test_an_edit_in_fides_updates_the_disclosure(self, client, auth):
        await contractless(client, auth)
        text = (await export(client, auth)).replace("consent_reference: form-7", "consent_reference: form-8")
        response = await post_yaml(client, auth, text)
        assert counts(response.json())["disclosures"] == {"created": 0, "updated": 1, "unchanged": 1}
        refs = {r["consent_reference"] for r in await Disclosure.select(Disclosure.consent_reference)}
        assert "form-8" in refs

    async def test_a_fresh_registry_with_the_same_contracts_exports_the_same_yaml(
        self, client, auth, tmp_path, fresh_database_url
    ):
        await contracted(client, auth)
        await contractless(client, auth)
        original = await export(client, auth)
        (tmp_path / "contracts.xlsx").write_bytes(
            workbook(
                vendors=[
                    ["name", "kind", "country"],
                    ["Northwind Hosting", "service_provider", "IE"],
                    ["Northwind Backup", "contractor", "NL"],
                ],
                contracts=[
                    [*CONTRACT_COLUMNS, "expires_on"],
                    [
                        "Northwind Hosting",
                        "DPA-1",
                        "dpa",
                        "DPA",
                        "2025-01-01",
                        "2025-01-01",
                        "yes",
                        "2027-12-31",
                    ],
                    ["Northwind Backup", "MSA-7", "msa", "MSA", "2025-01-01", "2025-01-01", "yes", None],
                ],
            )
        )
        run_cli(fresh_database_url, "import", str(tmp_path / "contracts.xlsx"))
        (tmp_path / "fides.yaml").write_text(original)
        imported = run_cli(fresh_database_url, "fides", "import", str(tmp_path / "fides.yaml"))
        assert "disclosures: 5 created" in imported.stdout
        assert run_cli(fresh_database_url, "fides", "export").stdout == original

    async def test_a_fresh_registry_takes_contractless_disclosures_alone(
        self, client, auth, tmp_path, fresh_database_url
    ):
        await contractless(client, auth)
        original = await export(client, auth)
        (tmp_path / "fides.yaml").write_text(original)
        imported = run_cli(fresh_database_url, "fides", "import", str(tmp_path / "fides.yaml"))
        assert "vendors: 2 created" in imported.stdout and "disclosures: 2 created" in imported.stdout
        assert run_cli(fresh_database_url, "fides", "export").stdout == original


FOREIGN = """
system:
  - fides_key: zendesk
    name: Zendesk
    system_type: Service
    dpo: privacy@zendesk.example
    meta:
      registry:
        country: US
    privacy_declarations:
      - name: Support tickets
        data_categories: [user.contact.email, user.name]
        data_use: essential.service.operations.support
        data_subjects: [customer]
        legal_basis_for_processing: Legal obligations
"""
UNFIT = """
system:
  - fides_key: analytics
    name: Analytics Co
    system_type: Service
    privacy_declarations:
      - name: Product analytics
        data_categories: [user.device.cookie_id]
        data_use: analytics
        data_subjects: [customer]
        legal_basis_for_processing: Legitimate interests
      - name: Reporting
        data_categories: [user.nope]
        data_use: analytics
        data_subjects: [customer]
        legal_basis_for_processing: Consent
"""


class TestImportFromAnotherFides:
    async def test_defaults_apply_and_a_second_import_changes_nothing(self, client, auth):
        response = await post_yaml(client, auth, FOREIGN)
        assert response.status_code == 200, response.text
        assert counts(response.json())["disclosures"]["created"] == 1
        vendor = await Vendor.select().where(Vendor.name == "Zendesk").first()
        assert (vendor["kind"], vendor["country"]) == ("service_provider", "US")
        assert vendor["privacy_contact_email"] == "privacy@zendesk.example"
        [disclosure] = await Disclosure.select()
        assert disclosure["valid_from"] == clock.today() and disclosure["basis"] == "legal_obligation"
        assert disclosure["country"] == "US"
        again = await post_yaml(client, auth, FOREIGN, content_type="text/yaml")
        assert counts(again.json()) == {
            "vendors": {"created": 0, "updated": 0, "unchanged": 1},
            "disclosures": {"created": 0, "updated": 0, "unchanged": 1},
        }

    async def test_what_the_registry_cannot_record_is_refused_with_paths(self, client, auth):
        changes = await Change.count()
        response = await post_yaml(client, auth, UNFIT, content_type="application/x-yaml")
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
        assert errors == {
            ("system[0].meta.registry.country", "required"),
            ("system[0].privacy_declarations[0].legal_basis_for_processing", "one_of"),
        }
        assert response.json()["report"]["committed"] is False
        assert await Vendor.count() == 0 and await Change.count() == changes

    async def test_an_existing_vendor_needs_no_country_and_its_declarations_meet_the_rules(
        self, client, auth
    ):
        await make_vendor(client, auth, name="Analytics Co")
        response = await post_yaml(client, auth, UNFIT)
        assert response.status_code == 422, response.text
        errors = {(e["field"], e["rule"]): e["message"] for e in response.json()["errors"]}
        assert set(errors) == {
            ("system[0].privacy_declarations[0].legal_basis_for_processing", "one_of"),
            ("system[0].privacy_declarations[1].data_categories", "taxonomy"),
        }
        assert "not Legitimate interests" in errors[next(iter(errors))]

    async def test_dry_run_reports_and_writes_nothing(self, client, auth):
        response = await post_yaml(client, auth, FOREIGN, dry_run="true")
        assert response.status_code == 200, response.text
        assert response.json()["dry_run"] is True and response.json()["committed"] is False
        assert counts(response.json())["vendors"]["created"] == 1
        assert await Vendor.count() == 0


VALID = FOREIGN.encode()
BAD_FILES = {
    "syntax": (b"system: [\n", "file", "yaml"),
    "not_a_mapping": (b"- a\n- b\n", "system", "required"),
    "no_system_list": (b"dataset: []\n", "system", "required"),
    "not_utf8": ("system: ['é']".encode("latin-1"), "file", "utf8"),
    "alias": (b"a: &x [1]\nsystem: *x\n", "file", "alias"),
    "deep": (b"system: " + b"[" * 60 + b"]" * 60 + b"\n", "file", "depth"),
    "bad_date": (
        VALID.replace(b"country: US", b"country: US\n        valid_from: 2025-02-30"),
        "file",
        "yaml",
    ),
    "no_name": (VALID.replace(b"name: Zendesk", b"description: x"), "system[0].name", "required"),
    "bad_key": (
        VALID.replace(b"fides_key: zendesk", b"fides_key: 'zen desk'"),
        "system[0].fides_key",
        "invalid",
    ),
    "no_data_use": (
        VALID.replace(b"data_use:", b"use:"),
        "system[0].privacy_declarations[0].data_use",
        "required",
    ),
    "meta_typo": (
        VALID.replace(b"country: US", b"contry: US"),
        "system[0].meta.registry.contry",
        "unknown_field",
    ),
    "norway": (VALID.replace(b"country: US", b"country: NO"), "system[0].meta.registry.country", "invalid"),
    "unnamed": (
        VALID.replace(
            b"- name: Support tickets", b"- data_use: marketing\n        data_categories: []\n      -"
        ),
        "system[0].privacy_declarations",
        "name",
    ),
    "orphan_meta": (
        VALID.replace(b"country: US", b"country: US\n        declarations: {Gone: {}}"),
        "system[0].meta.registry.declarations",
        "exists",
    ),
    "unknown_category": (
        VALID.replace(b"user.name]", b"user.nope]"),
        "system[0].privacy_declarations[0].data_categories",
        "taxonomy",
    ),
    "no_consent_reference": (
        VALID.replace(b"Legal obligations", b"Consent"),
        'system[0].meta.registry.declarations["Support tickets"].consent_reference',
        "required",
    ),
    "duplicate": (VALID + VALID[VALID.index(b"  - fides_key") :], "system[1].fides_key", "unique"),
}


class TestBadInput:
    @pytest.mark.parametrize("case", sorted(BAD_FILES))
    async def test_refused_with_the_path_and_nothing_written(self, client, auth, case):
        body, field, rule = BAD_FILES[case]
        changes = await Change.count()
        response = await post_yaml(client, auth, body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert (field, rule) in {(e["field"], e["rule"]) for e in response.json()["errors"]}, response.text
        assert await Vendor.count() == 0 and await Change.count() == changes

    async def test_other_media_types_and_oversized_files_are_refused(self, client, auth):
        for content_type in ("text/csv", "application/json"):
            response = await post_yaml(client, auth, FOREIGN, content_type=content_type)
            assert response.status_code == 415, response.text
        response = await post_yaml(client, auth, FOREIGN + "#" * 300_000)
        assert response.status_code == 413 and await Vendor.count() == 0

    async def test_only_editors_import(self, client, auth):
        assert (await post_yaml(client, auth, FOREIGN, role="viewer")).status_code == 403
        assert (await client.post("/imports/fides", content=FOREIGN)).status_code == 401
        assert await Vendor.count() == 0


class TestCli:
    async def test_export_matches_the_api_and_import_reports_like_it(
        self, app, client, auth, tmp_path, database_url
    ):
        await contracted(client, auth)
        exported = run_cli(database_url, "fides", "export").stdout
        assert exported == await export(client, auth)
        dated = run_cli(database_url, "fides", "export", "--as-of", "2025-08-01").stdout
        assert dated == await export(client, auth, as_of="2025-08-01")
        (tmp_path / "fides.yaml").write_text(exported)
        dry = run_cli(database_url, "fides", "import", str(tmp_path / "fides.yaml"), "--dry-run")
        assert "vendors: 0 created, 0 updated, 2 unchanged" in dry.stdout
        assert "dry run: nothing was written" in dry.stdout
        (tmp_path / "unfit.yaml").write_text(UNFIT)
        refused = run_cli(database_url, "fides", "import", str(tmp_path / "unfit.yaml"), check=False)
        assert refused.returncode == 1
        assert "system[0].meta.registry.country: required: fideslang has no country field" in refused.stderr
        assert "nothing was imported" in refused.stderr
        assert await Vendor.count() == 2
