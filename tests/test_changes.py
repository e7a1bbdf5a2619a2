"""The change log: complete, hash-chained, read-only, and tampering is detected by name."""

import asyncio

import asyncpg
import pytest

from registry import db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.enums import ChangeAction
from registry.tables import Change
from tests.conftest import make_contract, make_vendor, run_cli

pytestmark = pytest.mark.anyio


async def _tamper(database_url: str, sql: str) -> None:
    """Change the database behind the application's back, as an intruder with SQL access would."""
    if database_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        connection.execute(sql)
        connection.commit()
        connection.close()
    else:
        connection = await asyncpg.connect(database_url)
        await connection.execute(sql)
        await connection.close()


@pytest.fixture
async def history(client, auth):
    vendor = await make_vendor(client, auth)
    await client.patch(f"/vendors/{vendor['id']}", json={"notes": "n"}, headers=auth())
    await make_contract(client, auth, vendor["id"])
    return vendor


class TestChainVerification:
    async def test_intact_chain_verifies(self, client, auth, history, database_url):
        report = (await client.get("/changes/verify", headers=auth("viewer"))).json()
        assert report["ok"] is True and report["rows"] >= 7  # 4 keys + 3 writes
        result = await asyncio.to_thread(run_cli, database_url, "changes", "verify", fresh=True)
        assert result.stdout.startswith(f"ok: {report['rows']} change rows")

    @pytest.mark.parametrize(
        ("sql", "problem"),
        [
            ("UPDATE change SET actor = 'someone-else' WHERE id = 6", "content does not match"),
            ('UPDATE change SET after = \'{"name":"Forged"}\' WHERE id = 5', "content does not match"),
            ("DELETE FROM change WHERE id = 6", "does not follow"),
        ],
    )
    async def test_tampering_is_detected_and_named(self, client, auth, history, database_url, sql, problem):
        await _tamper(database_url, sql)
        result = await asyncio.to_thread(run_cli, database_url, "changes", "verify", check=False)
        assert result.returncode == 1
        bad_row = 7 if sql.startswith("DELETE") else int(sql.rsplit("= ", 1)[1])
        assert f"change row {bad_row} " in result.stderr and problem in result.stderr
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert (report["ok"], report["first_bad_id"]) == (False, bad_row)

    async def test_swapping_rows_is_detected(self, client, auth, history, database_url):
        await _tamper(database_url, "UPDATE change SET id = -1 WHERE id = 5")
        await _tamper(database_url, "UPDATE change SET id = 5 WHERE id = 6")
        await _tamper(database_url, "UPDATE change SET id = 6 WHERE id = -1")
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert report["ok"] is False and report["first_bad_id"] == 5


class TestLongChain:
    """A chain longer than one batch of verification (1,000 rows) is checked to its end."""

    ROWS = 1_500

    @pytest.fixture
    async def long_history(self, app):
        ctx = WriteContext(actor="test-setup")
        async with db.write_transaction():  # one transaction: 1,500 rows in a second or two
            for number in range(self.ROWS):
                await record_change(ctx, "note", number, ChangeAction.create, None, {"n": number})
        return await Change.count()

    @pytest.mark.parametrize(
        ("sql", "bad_row", "problem"),
        [
            ("UPDATE change SET actor = 'someone-else' WHERE id = 1234", 1234, "content does not match"),
            ("DELETE FROM change WHERE id = 1499", 1500, "does not follow"),
        ],
    )
    async def test_a_row_after_the_first_batch_is_checked(
        self, client, auth, long_history, database_url, sql, bad_row, problem
    ):
        assert long_history > self.ROWS
        intact = (await client.get("/changes/verify", headers=auth("viewer"))).json()
        assert (intact["ok"], intact["rows"]) == (True, long_history)
        await _tamper(database_url, sql)
        report = (await client.get("/changes/verify", headers=auth("viewer"))).json()
        assert (report["ok"], report["first_bad_id"]) == (False, bad_row), report
        assert problem in report["problem"]
        result = await asyncio.to_thread(run_cli, database_url, "changes", "verify", check=False)
        assert result.returncode == 1
        assert f"change row {bad_row} " in result.stderr and problem in result.stderr


class TestChangeApi:
    async def test_filters(self, client, auth, history):
        everything = (await client.get("/changes", headers=auth())).json()
        vendor_rows = (await client.get("/changes", params={"object_type": "vendor"}, headers=auth())).json()
        assert vendor_rows["total"] == 2 < everything["total"]
        later = everything["items"][-1]["created_at"]
        since = (await client.get("/changes", params={"since": later}, headers=auth())).json()
        assert [c["id"] for c in since["items"]] == [everything["items"][-1]["id"]]

    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
    async def test_no_route_writes_the_log(self, client, auth, history, method):
        response = await client.request(method, "/changes", headers=auth())
        assert response.status_code == 405
        one = await client.request(method, "/changes/1", headers=auth())
        assert one.status_code in (404, 405)

    async def test_a_failed_write_leaves_no_change(self, client, auth, history):
        before = (await client.get("/changes", headers=auth())).json()["total"]
        response = await client.delete(f"/vendors/{history['id']}", headers=auth())
        assert response.status_code == 409
        assert (await client.get("/changes", headers=auth())).json()["total"] == before
