"""Checkpoints an operator gets wrong or an attacker plants: reported problems, never a traceback; and no
false alarm from `verify --records` after imports (issue 15)."""

from pathlib import Path

import pytest

from tests import test_checkpoints as base
from tests.test_imports import REGISTER, VENDORS_CSV, XLSX, post_file, workbook

# The fixtures and helpers of the checkpoint tests: their settings, CLI environment and register.
settings, cli_env, register = base.settings, base.cli_env, base.register
_checkpoint, _cli, _sql = base._checkpoint, base._cli, base._sql

pytestmark = pytest.mark.anyio

# Past Python's recursion limit, as json.loads reads it.
NESTED = "[" * 100_000


class TestUnreadableCheckpoints:
    async def test_no_checkpoint_and_no_directory(
        self, client, auth, register, database_url, settings, cli_env
    ):
        assert not Path(settings.checkpoint_dir).exists()
        result = await _cli(database_url, "changes", "verify", check=False)
        assert (
            result.returncode == 0
            and "0 checkpoint(s) agree, 0 timestamped (0 file(s) read)" in result.stdout
        )
        report = (await client.get("/changes/verify", headers=auth("viewer"))).json()
        assert (report["ok"], report["checkpoints"], report["checkpoint_problems"]) == (True, 0, [])

    async def test_corrupt_files_are_named(self, client, auth, register, database_url, settings, cli_env):
        await _checkpoint(database_url)
        folder = Path(settings.checkpoint_dir)
        bodies = {
            "checkpoint-nested.json": NESTED,
            "checkpoint-cut.json": '{"content": "',
            "checkpoint-list.json": "[1]",
        }
        for name, text in bodies.items():
            (folder / name).write_text(text)
        (folder / "checkpoint-nested-content.json").write_text(
            '{"content": "' + NESTED + '", "signature": "AAAA"}'
        )
        result = await _cli(database_url, "changes", "verify", check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        for name in bodies:
            assert f"FAILED: file {name} cannot be read" in result.stderr
        assert "FAILED: file checkpoint-nested-content.json cannot be read" in result.stderr
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert report["ok"] is False and report["chain_ok"] is True
        assert len(report["checkpoint_problems"]) == 4 and report["checkpoints"] == 1

    async def test_a_nested_row_planted_in_the_database(self, client, auth, register, database_url, cli_env):
        number = await _checkpoint(database_url)
        await _sql(database_url, f"UPDATE change_checkpoint SET content = '{NESTED}' WHERE id = {number}")
        listed = await client.get("/changes/checkpoints")  # public: shown as stored, not a 500
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"][0]["content"] == NESTED
        report = (await client.get("/changes/verify", headers=auth())).json()
        problems = {p["checkpoint"]: p["problem"] for p in report["checkpoint_problems"]}
        assert "cannot be read" in problems[f"checkpoint {number}"]
        result = await _cli(database_url, "changes", "verify", check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr


class TestUnusableDirectory:
    async def test_a_directory_that_cannot_be_written_is_refused_before_the_row(
        self, client, register, database_url, tmp_path, cli_env, monkeypatch
    ):
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        monkeypatch.setenv("REGISTRY_CHECKPOINT_DIR", str(blocker))
        result = await _cli(database_url, "changes", "checkpoint", check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"the directory {blocker} cannot be written to" in result.stderr
        assert (await client.get("/changes/checkpoints")).json()["total"] == 0  # not kept only once


class TestImportsAreExplained:
    async def test_a_workbook_and_its_update_pass_verify_records(self, client, auth, database_url, cli_env):
        """An import writes through its own path: its creations and updates must match their changes."""
        book = workbook(**REGISTER)
        assert (await post_file(client, auth, book, XLSX)).status_code == 200
        changed = VENDORS_CSV.replace("Northwind Hosting Ltd", "Northwind Hosting Limited")
        for body in (VENDORS_CSV, changed):
            response = await post_file(client, auth, body.encode(), "text/csv")
            assert response.status_code == 200 and response.json()["committed"] is True, response.text
        assert response.json()["counts"]["vendors"]["updated"] == 1
        result = await _cli(database_url, "changes", "verify", "--records", check=False)
        assert (result.returncode, result.stderr.strip()) == (0, ""), result.stderr
        assert "records: ok" in result.stdout
