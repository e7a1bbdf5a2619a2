"""Migration 0019 on a database that already holds a disclosure (made at migration 0018): the
disclosure becomes a processor's, leaving from the origin configured when the migration runs, and the
transfer table and the contract's Art. 26 fields are there."""

import asyncio
import itertools
import os
from pathlib import Path

import pytest
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from registry import db
from registry.settings import Settings
from tests.conftest import run_cli
from tests.harness import _create_database, drop_database

pytestmark = pytest.mark.anyio
AT_0018 = "2026-12-01T21:20:00:000000"
_names = itertools.count()
ROWS = [
    "INSERT INTO vendor (name, kind, country) VALUES ('Acme Hosting', 'service_provider', 'DE')",
    "INSERT INTO contract (vendor, kind, title, signed_on, effective_from, confidentiality_equivalent)"
    " VALUES (1, 'dpa', 'DPA', '2025-01-01', '2025-01-01', TRUE)",
    "INSERT INTO disclosure (vendor, contract, basis, purpose, data_subjects, country, valid_from)"
    " VALUES (1, 1, 'contract', 'essential.service', '[\"customer\"]', 'US', '2025-02-01')",
    "INSERT INTO disclosure_category (disclosure, vendor, category, valid_from)"
    " VALUES (1, 1, 'user.contact.email', '2025-02-01')",
]


async def _at_0018() -> None:
    await db.prepare(db.current_engine())
    result = await ForwardsMigrationManager(app_name="registry", migration_id=AT_0018).run()
    assert result.success, result.message
    for sql in ROWS:
        await db.current_engine().run_ddl(sql)


@pytest.fixture
def database_url(engine_name, templates, tmp_path: Path):
    """A database migrated to 0018 with a disclosure to the US; then `registry migrate` with the origin IE."""
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        if "postgres" not in templates:
            pytest.skip("PostgreSQL binaries not installed")
        name = f"old19_{os.getpid()}_{next(_names)}"
        asyncio.run(_create_database(templates["postgres"], name))
        url = f"{templates['postgres']}/{name}"
    db.use_engine(db.build_engine(Settings(database_url=url)))
    asyncio.run(_at_0018())
    previous = os.environ["REGISTRY_ORIGIN_COUNTRY"]
    os.environ["REGISTRY_ORIGIN_COUNTRY"] = "IE"  # what run_cli's `registry migrate` reads
    try:
        run_cli(url, "migrate")
    finally:
        os.environ["REGISTRY_ORIGIN_COUNTRY"] = previous
    yield url
    drop_database(url)


async def test_an_old_disclosure_is_a_processors_leaving_from_the_configured_origin(client, auth):
    disclosure = (await client.get("/disclosures/1", headers=auth())).json()
    assert (disclosure["role"], disclosure["origin"], disclosure["country"]) == ("processor", "IE", "US")
    check = {"vendor": 1, "categories": ["user.contact.email"], "on": "2025-06-01"}
    refused = (await client.post("/lookup/check", json=check, headers=auth("lookup"))).json()
    assert refused["allowed"] is False and "no transfer mechanism" in refused["reasons"][0]
    scc = {"mechanism": "scc_2021", "scc_module": 2, "tia_date": "2025-01-10"}
    recorded = await client.put("/disclosures/1/transfer", json=scc, headers=auth("editor"))
    assert recorded.status_code == 201, recorded.text
    assert (await client.post("/lookup/check", json=check, headers=auth("lookup"))).json()["allowed"] is True
    contract = (await client.get("/contracts/1", headers=auth())).json()
    assert (contract["joint_arrangement"], contract["joint_arrangement_essence"]) == (False, None)
    conformance = (await client.get("/contracts/1/conformance", headers=auth())).json()
    assert "gdpr-28-3-a" in [c["id"] for c in conformance["clauses"]]  # still judged as a processor's
