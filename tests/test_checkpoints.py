"""Signed checkpoints of the change log, and records checked against it: a history the database's own
administrator cannot rewrite unseen (issue 15)."""

import asyncio
import base64
import json
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from registry.app import create_app
from registry.changes.service import row_hash
from registry.tables import Checkpoint
from tests.conftest import confirmed_deletion, make_contract, make_disclosure, make_vendor, run_cli

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings, tmp_path):
    """The checkpoint directory in the test's own folder; no interval job unless a test asks."""
    return settings.model_copy(
        update={"checkpoint_dir": str(tmp_path / "checkpoints"), "checkpoint_interval_seconds": 0}
    )


@pytest.fixture
def cli_env(settings, monkeypatch):
    """What `registry` on the command line needs besides the database: the key and the directory."""
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", settings.signing_key_file)
    monkeypatch.setenv("REGISTRY_SIGNING_CERT_FILE", settings.signing_cert_file)
    monkeypatch.setenv("REGISTRY_CHECKPOINT_DIR", settings.checkpoint_dir)


async def _sql(database_url: str, *statements: str) -> list:
    """Run SQL behind the application's back, as an administrator of the database could."""
    if database_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        connection.row_factory = sqlite3.Row
        found = [dict(r) for s in statements for r in connection.execute(s).fetchall()]
        connection.commit()
        connection.close()
        return found
    connection = await asyncpg.connect(database_url)
    found = [dict(r) for s in statements for r in await connection.fetch(s)]
    await connection.close()
    return found


async def _cli(database_url, *args, check=True):
    return await asyncio.to_thread(run_cli, database_url, *args, check=check)


async def _checkpoint(database_url) -> int:
    result = await _cli(database_url, "changes", "checkpoint")
    return int(result.stdout.split()[1].rstrip(":"))


@pytest.fixture
async def register(client, auth):
    vendor = await make_vendor(client, auth)
    await client.patch(f"/vendors/{vendor['id']}", json={"notes": "n"}, headers=auth())
    contract = await make_contract(client, auth, vendor["id"])
    disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
    return vendor, disclosure


async def _head(database_url) -> int:
    return (await _sql(database_url, "SELECT MAX(id) AS id FROM change"))[0]["id"]


class TestCheckpoint:
    async def test_a_checkpoint_is_signed_kept_and_served_without_a_key(
        self, client, register, database_url, settings, cli_env
    ):
        head = await _head(database_url)
        number = await _checkpoint(database_url)
        response = await client.get("/changes/checkpoints")
        assert response.status_code == 200, response.text
        [item] = response.json()["items"]
        assert (item["id"], item["change_id"], item["rows"]) == (number, head, head)
        files = list(Path(settings.checkpoint_dir).glob("checkpoint-*.json"))
        assert len(files) == 1
        body = json.loads(files[0].read_text())
        assert (body["content"], body["signature"]) == (item["content"], item["signature"])
        assert json.loads(item["content"])["change_hash"] == item["change_hash"]
        assert (await client.get("/changes")).status_code == 401  # only the checkpoints are public
        result = await _cli(database_url, "changes", "verify", "--records")
        assert (
            "1 checkpoint(s) agree, 0 timestamped (1 file(s) read)" in result.stdout
            and "records: ok" in result.stdout
        )

    async def test_checkpoints_are_paged_newest_first(self, client, register, database_url, cli_env):
        first, second = await _checkpoint(database_url), await _checkpoint(database_url)
        page = (await client.get("/changes/checkpoints", params={"limit": 1})).json()
        assert (page["total"], [i["id"] for i in page["items"]]) == (2, [second])
        assert (await client.get("/changes/checkpoints", params={"offset": 1})).json()["items"][0][
            "id"
        ] == first
        assert (await client.get("/changes/checkpoints", params={"limit": 0})).status_code == 400


class TestRewritingIsDetected:
    async def test_a_clean_register_passes(self, client, auth, register, database_url, cli_env):
        await _checkpoint(database_url)
        await make_vendor(client, auth, name="Later Ltd")  # writes after a checkpoint are fine
        report = (await client.get("/changes/verify", headers=auth("viewer"))).json()
        assert report["ok"] is True and report["checkpoints"] == 1 and report["checkpoint_problems"] == []
        result = await _cli(database_url, "changes", "verify", "--records")
        assert result.returncode == 0 and "records: ok" in result.stdout

    async def test_truncating_the_tail_after_a_checkpoint(
        self, client, auth, register, database_url, cli_env
    ):
        head = await _head(database_url)
        number = await _checkpoint(database_url)
        await _sql(database_url, f"DELETE FROM change WHERE id > {head - 2}")
        result = await _cli(database_url, "changes", "verify", check=False)
        assert result.returncode == 1
        assert (
            f"checkpoint {number} names change row {head}" in result.stderr and "truncated" in result.stderr
        )
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert (report["ok"], report["chain_ok"], report["first_bad_id"]) == (False, True, head)
        assert report["checkpoint_problems"][0]["checkpoint"] == f"checkpoint {number}"

    async def test_editing_a_row_and_hashing_again(self, client, auth, register, database_url, cli_env):
        """The probe: edit a change row, recompute every later hash with the registry's own function."""
        number = await _checkpoint(database_url)
        head = await _head(database_url)
        await _rehash_after_edit(client, auth, database_url, 5)
        assert (await client.get("/changes/verify", headers=auth())).json()["chain_ok"] is True
        result = await _cli(database_url, "changes", "verify", check=False)
        assert result.returncode == 1
        assert f"checkpoint {number} change row {head} now has another hash" in result.stderr
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert report["ok"] is False and report["first_bad_id"] == head

    async def test_a_forged_checkpoint(self, client, auth, register, database_url, settings, cli_env):
        number = await _checkpoint(database_url)
        [row] = await _sql(database_url, f"SELECT content FROM change_checkpoint WHERE id = {number}")
        forged = json.loads(row["content"]) | {"rows": 1}
        text = json.dumps(forged, sort_keys=True, separators=(",", ":")).replace("'", "''")
        await _sql(database_url, f"UPDATE change_checkpoint SET content = '{text}' WHERE id = {number}")
        report = (await client.get("/changes/verify", headers=auth())).json()
        problems = {p["checkpoint"]: p["problem"] for p in report["checkpoint_problems"]}
        assert report["ok"] is False and "does not verify" in problems[f"checkpoint {number}"]
        [name] = [p for p in problems if p.startswith("file ")]  # the original, no longer in the database
        assert "not in the database" in problems[name]
        result = await _cli(database_url, "changes", "verify", check=False)
        assert result.returncode == 1 and "does not verify" in result.stderr

    async def test_a_checkpoint_deleted_from_the_database_stays_in_its_file(
        self, client, auth, register, database_url, cli_env
    ):
        head = await _head(database_url)
        await _checkpoint(database_url)
        await _sql(database_url, "DELETE FROM change_checkpoint", f"DELETE FROM change WHERE id = {head}")
        report = (await client.get("/changes/verify", headers=auth())).json()
        problems = [p["problem"] for p in report["checkpoint_problems"]]
        assert any("not in the database" in p for p in problems)
        assert any(f"names change row {head}" in p for p in problems)  # the file is checked against the log

    async def test_a_file_with_a_bad_signature(self, client, auth, register, database_url, settings, cli_env):
        await _checkpoint(database_url)
        [path] = Path(settings.checkpoint_dir).glob("checkpoint-*.json")
        body = json.loads(path.read_text())
        body["signature"] = base64.b64encode(b"\0" * 64).decode()
        path.write_text(json.dumps(body))
        result = await _cli(database_url, "changes", "verify", check=False)
        assert result.returncode == 1 and f"file {path.name} its signature does not verify" in result.stderr


async def _rehash_after_edit(client, auth, database_url: str, edited: int) -> None:
    """Change row ``edited``'s after-image, then give it and every later row a hash that fits."""
    rows = (await client.get("/changes", params={"limit": 500}, headers=auth())).json()["items"]
    previous = None
    statements = []
    for row in rows:
        if row["id"] < edited:
            previous = row["hash"]
            continue
        if row["id"] == edited:
            row["after"] = {**(row["after"] or {}), "name": "Forged"}
        row["prev_hash"] = previous
        row["created_at"] = datetime.fromisoformat(row["created_at"])
        row["hash"] = row_hash(row)
        after = json.dumps(row["after"], sort_keys=True, separators=(",", ":")).replace("'", "''")
        statements.append(
            f"UPDATE change SET after = '{after}', prev_hash = '{row['prev_hash']}', hash = '{row['hash']}'"
            f" WHERE id = {row['id']}"
        )
        previous = row["hash"]
    await _sql(database_url, *statements)


class TestRecords:
    async def test_every_kind_written_through_the_services_is_explained(
        self, client, auth, database_url, cli_env
    ):
        """No false alarm: deletions, evidence, attestations (issued, revoked), notes, webhooks, keys,
        custom taxonomy entries and a deleted vendor all match their last change."""
        deletion = await confirmed_deletion(client, auth)
        confirmation = deletion["confirmations"][0]["id"]
        evidence = await client.put(
            f"/deletions/{deletion['id']}/confirmations/{confirmation}/evidence",
            content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
            params={"filename": "shot.png"},
            headers={**auth(), "Content-Type": "image/png"},
        )
        issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
        serial = issued.json()["serial"]
        writes = [
            evidence,
            issued,
            await client.post(f"/attestations/{serial}/revoke", json={"reason": "test"}, headers=auth()),
            await client.post(
                "/journal",
                json={
                    "object_type": "vendor",
                    "object_id": deletion["vendor_id"],
                    "kind": "info",
                    "text": "t",
                },
                headers=auth(),
            ),
            await client.post(
                "/webhooks", json={"url": "https://example.com/hook/secret", "events": ["*"]}, headers=auth()
            ),
            await client.post(
                "/taxonomy/data-categories", json={"key": "user.content.diagram", "name": "D"}, headers=auth()
            ),
            await client.post("/keys/test-lookup/revoke", headers=auth()),
            await client.delete(
                f"/vendors/{(await make_vendor(client, auth, name='Gone Ltd'))['id']}", headers=auth()
            ),
        ]
        assert [w.status_code for w in writes] == [200, 201, 200, 201, 201, 201, 200, 204], [
            w.text for w in writes
        ]
        result = await _cli(database_url, "changes", "verify", "--records", check=False)
        assert (result.returncode, result.stderr.strip()) == (0, ""), result.stderr
        assert "records: ok" in result.stdout

    async def test_direct_edits_are_named(self, client, auth, register, database_url, cli_env):
        vendor, disclosure = register
        await _sql(
            database_url,
            f"UPDATE vendor SET name = 'Renamed In SQL' WHERE id = {vendor['id']}",
            f"UPDATE disclosure SET valid_from = '2024-01-01' WHERE id = {disclosure['id']}",
        )
        assert (await _cli(database_url, "changes", "verify")).returncode == 0  # the chain cannot see it
        result = await _cli(database_url, "changes", "verify", "--records", check=False)
        assert result.returncode == 1
        lines = [line for line in result.stderr.splitlines() if line.startswith("RECORD")]
        assert len(lines) == 2, result.stderr
        assert lines[0].startswith(f"RECORD vendor {vendor['id']}: differs") and lines[0].endswith("in: name")
        assert lines[1].startswith(f"RECORD disclosure {disclosure['id']}:") and lines[1].endswith(
            "valid_from"
        )

    async def test_rows_inserted_or_deleted_in_sql(self, client, auth, register, database_url, cli_env):
        vendor, disclosure = register
        extra = await make_vendor(client, auth, name="Short Lived")
        await _sql(
            database_url,
            f"DELETE FROM vendor WHERE id = {extra['id']}",
            "INSERT INTO api_key (name, role, secret_hash, prefix, created_at, created_by)"
            " VALUES ('sneaky', 'admin', 'h', 'prk_', '2025-01-01T00:00:00+00:00', 'nobody')",
        )
        result = await _cli(database_url, "changes", "verify", "--records", check=False)
        assert result.returncode == 1
        assert (
            f"RECORD vendor {extra['id']}: its last change" in result.stderr
            and "row is gone" in result.stderr
        )
        assert "RECORD api_key sneaky: exists, but no change created it" in result.stderr


class TestIntervalJob:
    async def test_two_servers_make_one_checkpoint_per_interval(self, settings, client, auth):
        timed = settings.model_copy(update={"checkpoint_interval_seconds": 0.5})
        apps = [create_app(timed), create_app(timed)]
        async with apps[0].lifespan(), apps[1].lifespan():
            for round_ in range(3):
                await make_vendor(client, auth, name=f"Vendor {round_}")
                await _wait_for(round_ + 1)
        items = (await client.get("/changes/checkpoints")).json()["items"]
        stamps = sorted(datetime.fromisoformat(json.loads(i["content"])["created_at"]) for i in items)
        assert len({i["change_id"] for i in items}) == len(items)  # never two of one head
        assert all((b - a).total_seconds() >= 0.5 for a, b in zip(stamps, stamps[1:], strict=False))
        assert len(list(Path(settings.checkpoint_dir).glob("checkpoint-*.json"))) == len(items)
        assert {json.loads(i["content"])["made_by"] for i in items} == {"interval"}


async def _wait_for(count: int) -> None:
    """Until ``count`` checkpoints exist (read from the database: the public route is rate limited)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if await Checkpoint.count() >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no checkpoint {count} within 30 s")


def _rsa_pair(folder: Path, passphrase: bytes) -> tuple[Path, Path]:
    """An encrypted RSA key and its self-signed certificate, as an organisation's CA might issue."""
    from datetime import UTC, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Registry RSA test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / "rsa-key.pem", folder / "rsa-cert.pem"
    encryption = serialization.BestAvailableEncryption(passphrase)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


class TestKeys:
    async def test_an_encrypted_rsa_key_signs_and_verifies(
        self, client, auth, register, database_url, tmp_path, cli_env, monkeypatch
    ):
        key_file, cert_file = _rsa_pair(tmp_path, b"correct horse")
        monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(key_file))
        monkeypatch.setenv("REGISTRY_SIGNING_CERT_FILE", str(cert_file))
        monkeypatch.setenv("REGISTRY_SIGNING_KEY_PASSPHRASE", "wrong")
        refused = await _cli(database_url, "changes", "checkpoint", check=False)
        assert refused.returncode == 1 and "could not be loaded" in refused.stderr
        assert "correct horse" not in refused.stderr + refused.stdout
        assert (await client.get("/changes/checkpoints")).json()["total"] == 0  # nothing half made
        monkeypatch.setenv("REGISTRY_SIGNING_KEY_PASSPHRASE", "correct horse")
        await _checkpoint(database_url)
        [item] = (await client.get("/changes/checkpoints")).json()["items"]
        assert item["algorithm"] == "rsa-pkcs1v15-sha256"
        result = await _cli(database_url, "changes", "verify")
        assert "1 checkpoint(s) agree" in result.stdout
        # The app trusts another certificate (the ECDSA one): to it, this checkpoint is not the registry's.
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert report["ok"] is False
        assert "another certificate" in report["checkpoint_problems"][0]["problem"]
