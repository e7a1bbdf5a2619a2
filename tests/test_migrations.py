"""Migrations 0013-0015 on a database that already holds an attestation (made at migration 0012): the
rows and indexes survive 0014's rebuild of the attestation table on SQLite, and what was recorded
before the outcome was a field is never attested until a report states it."""

import asyncio
import hashlib
import itertools
import json
import os
from pathlib import Path

import pytest
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from registry import db
from registry.settings import Settings
from registry.tables import StoredFile
from tests.conftest import CONFIRMATION, run_cli
from tests.harness import _create_database, drop_database

pytestmark = pytest.mark.anyio
AT_0012 = "2026-12-01T18:11:00:000000"
SERIAL = "PRA-2025-000001"
PDF = b"%PDF-1.7 issued before migration 0013"
_names = itertools.count()
# The 0012 schema's columns, as an operator's database holds them.
ROWS = [
    "INSERT INTO vendor (name, kind, country) VALUES ('Acme Hosting', 'service_provider', 'DE')",
    "INSERT INTO contract (vendor, kind, title, terminated_on) VALUES (1, 'dpa', 'DPA', '2025-06-30')",
    "INSERT INTO deletion_obligation (contract, vendor, ended_on, end_kind, due_on, end_of_contract,"
    " categories, data_subjects, confirmed_on) VALUES (1, 1, '2025-06-30', 'terminated', '2025-07-30',"
    " 'delete', '[\"user.contact.email\"]', '[\"customer\"]', '2025-07-10')",
    "INSERT INTO deletion_confirmation (obligation, categories, details, completed_on, created_by)"
    " VALUES (1, '[\"user.contact.email\"]', {details}, '2025-07-10', 'admin')",
    "INSERT INTO attestation (serial, obligation, vendor, pdf, sha256, facts, issued_at, issued_by)"
    " VALUES ('PRA-2025-000001', 1, 1, 1, {sha256}, '{{}}', '2025-07-11 10:00:00+00', 'editor')",
]
OLD_DETAILS = {
    k: v
    for k, v in CONFIRMATION.items()
    if k not in ("completed_on", "verification_outcome", "last_backup_expires_on", "backups_handling")
}


async def _at_0012() -> None:
    await db.prepare(db.current_engine())
    result = await ForwardsMigrationManager(app_name="registry", migration_id=AT_0012).run()
    assert result.success, result.message
    stored = await StoredFile.raw(
        "INSERT INTO stored_file (sha256, filename, content_type, size, data, created_by)"
        " VALUES ({}, 'old.pdf', 'application/pdf', {}, {}, 'editor') RETURNING sha256",
        hashlib.sha256(PDF).hexdigest(),
        len(PDF),
        PDF,
    )
    details, sha256 = json.dumps(OLD_DETAILS).replace("'", "''"), stored[0]["sha256"]
    for sql in ROWS:
        await db.current_engine().run_ddl(sql.format(details=f"'{details}'", sha256=f"'{sha256}'"))


@pytest.fixture
def database_url(engine_name, templates, tmp_path: Path):
    """A database migrated to 0012 only, holding a confirmed, attested deletion; then `registry migrate`."""
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        if "postgres" not in templates:
            pytest.skip("PostgreSQL binaries not installed")
        name = f"old{os.getpid()}_{next(_names)}"
        asyncio.run(_create_database(templates["postgres"], name))
        url = f"{templates['postgres']}/{name}"
    db.use_engine(db.build_engine(Settings(database_url=url)))
    asyncio.run(_at_0012())
    run_cli(url, "migrate")  # 0013, 0014 and 0015, as an operator upgrades
    yield url
    drop_database(url)


async def _attestation_indexes(engine_name: str) -> set[str]:
    if engine_name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attestation'"
    else:
        sql = "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'attestation'"
    return {row["name"] for row in await db.current_engine().run_ddl(sql)}


async def test_an_old_attestation_survives_and_an_unstated_outcome_is_not_attested(client, auth, engine_name):
    indexes = await _attestation_indexes(engine_name)
    for name in (
        "attestation_vendor",
        "attestation_pdf",
        "attestation_obligation",
        "attestation_one_standing",
        "attestation_supersedes",
    ):
        assert name in indexes, indexes
    assert len(indexes) >= 7  # and the serial and sha256 uniques (checked below by what they refuse)
    verdict = (await client.get(f"/attestations/{SERIAL}/verify")).json()
    assert (verdict["status"], verdict["vendor"]) == ("valid", "Acme Hosting"), verdict
    pdf = await client.get(f"/attestations/{SERIAL}/pdf", headers=auth())
    assert (pdf.status_code, pdf.content) == (200, PDF)
    deletion = (await client.get("/deletions/1", headers=auth())).json()
    assert (deletion["status"], deletion["attestation_serial"]) == ("attested", SERIAL)
    assert (deletion["minimum_sanitization"], deletion["evidence_required"]) == (None, False)
    [old] = deletion["confirmations"]
    assert (old["kind"], old["verification_outcome"]) == ("deletion", None)

    revoked = await client.post(f"/attestations/{SERIAL}/revoke", json={"reason": "re-check"}, headers=auth())
    assert revoked.status_code == 200, revoked.text
    refused = await client.post("/deletions/1/attestation", headers=auth("editor"))
    assert refused.status_code == 409, refused.text
    assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [
        (f"confirmations[{old['id']}].verification_outcome", "stated")
    ]
    stated = await client.post(
        "/deletions/1/confirmations",
        json={**CONFIRMATION, "last_backup_expires_on": None, "backups_handling": None},
        headers=auth(),
    )
    assert stated.status_code == 201, stated.text
    issued = await client.post("/deletions/1/attestation", headers=auth("editor"))
    assert issued.status_code == 201, issued.text
    assert issued.json()["supersedes"] == SERIAL and issued.json()["serial"] != SERIAL
    # The database still refuses a second standing attestation and a second file under one digest.
    engine = db.current_engine()
    for sql in (
        "UPDATE attestation SET revoked_at = NULL",
        f"UPDATE attestation SET sha256 = '{issued.json()['sha256']}' WHERE serial = '{SERIAL}'",
        f"UPDATE attestation SET serial = '{issued.json()['serial']}' WHERE serial = '{SERIAL}'",
    ):
        with pytest.raises(Exception) as caught:
            await engine.run_ddl(sql)
        assert db.is_unique_violation(caught.value), caught.value
