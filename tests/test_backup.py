"""registry backup / restore: a round trip keeps every record, every stored file and a valid chain."""

import asyncio
import hashlib
import sqlite3

import pytest

from tests.conftest import make_contract, make_vendor, run_cli

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.4\nbackup test\n%%EOF\n"


async def test_round_trip(client, auth, database_url, engine_name, tmp_path):
    if engine_name != "sqlite":
        result = await asyncio.to_thread(run_cli, database_url, "backup", str(tmp_path / "x"), check=False)
        assert result.returncode == 1 and "pg_dump" in result.stderr
        return
    vendor = await make_vendor(client, auth)
    contract = await make_contract(client, auth, vendor["id"])
    await client.put(
        f"/contracts/{contract['id']}/document",
        content=PDF,
        headers={**auth(), "Content-Type": "application/pdf"},
    )
    target = tmp_path / "copy.sqlite3"
    out = (await asyncio.to_thread(run_cli, database_url, "backup", str(target), fresh=True)).stdout
    assert out.startswith(f"backed up to {target}")
    again = await asyncio.to_thread(run_cli, database_url, "backup", str(target), check=False)
    assert again.returncode == 1 and "exists" in again.stderr

    # Lose data after the backup, behind the application's back.
    live = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    live.execute("DELETE FROM contract")
    live.execute("DELETE FROM change WHERE id > 5")
    live.commit()
    live.close()
    await asyncio.to_thread(run_cli, database_url, "restore", str(target))

    fetched = (await client.get(f"/contracts/{contract['id']}", headers=auth())).json()
    assert fetched["document"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    document = await client.get(f"/contracts/{contract['id']}/document", headers=auth())
    assert document.content == PDF
    verified = (await asyncio.to_thread(run_cli, database_url, "changes", "verify")).stdout
    assert verified.startswith("ok: 7 change rows")  # 4 keys, vendor, contract, upload


async def test_restore_refuses_what_is_not_a_registry_backup(database_url, engine_name, tmp_path):
    if engine_name != "sqlite":
        pytest.skip("SQLite only; PostgreSQL is restored with pg_restore")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    result = await asyncio.to_thread(run_cli, database_url, "restore", str(junk), check=False)
    assert result.returncode == 1 and "not a SQLite database" in result.stderr
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    result = await asyncio.to_thread(run_cli, database_url, "restore", str(other), check=False)
    assert result.returncode == 1 and "not a registry backup" in result.stderr
