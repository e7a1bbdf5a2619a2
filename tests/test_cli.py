"""The ``registry`` command, run as a user would run it."""

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import registry
from tests.conftest import run_cli

COMMANDS = [
    [],
    ["serve"],
    ["migrate"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
    ["demo"],
    ["changes"],
    ["changes", "verify"],
]


@pytest.mark.engine_independent  # --help is printed before any command reaches the database
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(database_url, command):
    result = run_cli(database_url, *command, "--help")
    assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 3


def test_keys_lifecycle(database_url):
    secret = run_cli(database_url, "keys", "create", "ops", "--role", "editor", fresh=True).stdout.strip()
    assert secret.startswith("prk_")
    listed = run_cli(database_url, "keys", "list").stdout
    assert "ops\teditor" in listed and secret not in listed and "active" in listed
    assert run_cli(database_url, "keys", "create", "ops", "--role", "viewer", check=False).returncode == 1
    run_cli(database_url, "keys", "revoke", "ops")
    assert "revoked" in run_cli(database_url, "keys", "list").stdout
    bad = run_cli(database_url, "keys", "create", "x", "--role", "root", check=False, fresh=True)
    assert bad.returncode == 2 and "root" in bad.stderr
    missing = run_cli(database_url, "keys", "revoke", "nobody", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_demo_loads_every_kind_and_state(database_url):
    out = run_cli(database_url, "demo").stdout
    assert "10 vendors added" in out
    secret = re.search(r"admin key '[^']+': (\S+)", out).group(1)
    assert re.search(r"/ui/ - sign in as 'demo' with \S{12,}", out)
    again = run_cli(database_url, "demo").stdout
    assert "already present" in again
    assert "sign in as 'demo' (password shown the first time)" in again
    assert run_cli(database_url, "changes", "verify").stdout.startswith("ok:")
    # The demo key works against a real server below; here check the data through the service.
    from registry.app import create_app
    from registry.settings import Settings

    async def fetch():
        app = create_app(Settings(database_url=database_url))
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = {"Authorization": f"Bearer {secret}"}
                vendors = (await client.get("/vendors", headers=headers)).json()["items"]
                contracts = (await client.get("/contracts", headers=headers)).json()["items"]
                return vendors, contracts

    vendors, contracts = asyncio.run(fetch())
    assert {v["kind"] for v in vendors} == {"associated_business", "agent", "service_provider", "contractor"}
    assert {v["status"] for v in vendors} == {"prospective", "active", "offboarding", "former"}
    assert {c["status"] for c in contracts} == {"draft", "active", "expired", "terminated"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_refuses_a_database_behind_its_migrations(tmp_path, engine_name):
    if engine_name != "sqlite":
        pytest.skip("one engine suffices: the check is the same code on both")
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = run_cli(url, "serve", "--port", str(_free_port()), check=False)
    assert result.returncode == 1
    migrations = len(list((Path(registry.__file__).parent / "piccolo_migrations").glob("registry_*.py")))
    assert result.stderr.strip().startswith(f"registry: the database is {migrations} migration(s) behind")
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_answers_http(database_url):
    secret = run_cli(database_url, "keys", "create", "ops", "--role", "viewer").stdout.strip()
    port = _free_port()
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/vendors", headers={"Authorization": f"Bearer {secret}"}
                )
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["total"] == 0
        assert httpx.get(f"http://127.0.0.1:{port}/vendors").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
