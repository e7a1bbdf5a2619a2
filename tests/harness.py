"""What keeps the suite fast without sharing anything a test can see (docs/testing.md).

- Template databases, migrated once per test process: a plain one, and one that also holds the
  ``keys`` fixture's keys (made the way the CLI makes them). A test gets a copy of one of them.
- Apps built once and started again per test: building the Litestar app (routes, signatures, OpenAPI
  models) costs more than most tests. Everything a started app holds is made by its lifespan from
  ``app.state["settings"]``, so an app stopped after one test starts afresh on the next one's database.
- PDF worker processes kept for the whole run: spawning one (WeasyPrint, fonts, pyHanko) takes seconds.
- The process-wide caches keyed by engine identity are emptied before each test: a new engine may get
  the ``id()`` of a collected one.
- Passwords hashed in the test process use Argon2id at its smallest cost (``cheap_password_hashing``):
  the production profile (64 MiB, 3 passes, 4 lanes) took ~0.2 s a hash on a quiet machine and seconds
  on a busy one, for every person a test makes and every sign-in. Servers and the CLI run in processes
  of their own with the production profile, and a test asserts it (tests/test_web.py).
"""

import asyncio
import contextlib
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import argon2
import asyncpg
import pytest
from litestar import Litestar

from registry import auth as registry_auth
from registry import db
from registry.app import create_app
from registry.attestations import pool as pdf_pool
from registry.attestations import service as attestations
from registry.auth import WriteContext, hash_secret
from registry.enums import Role
from registry.keys.service import create_key
from registry.people import service as people_service
from registry.settings import Settings
from registry.tables import ApiKey
from registry.taxonomy import service as taxonomy
from tests.pg import Cluster, find_binaries

# Under pytest-xdist the controller starts one cluster and its workers share it: they inherit this
# variable from it. Each worker has templates of its own in it.
SHARED_CLUSTER = "TESTS_POSTGRES_URL"
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
PG_TEMPLATE = f"registry_template_{_WORKER}"
PG_TEMPLATE_KEYS = f"registry_template_keys_{_WORKER}"
_counter = itertools.count()


# A test uses a database if one of these is in its closure (a test naming ``engine_name`` itself depends
# on the engine too: every closure holds that autouse fixture, only some tests ask for it).
_DATABASE_FIXTURES = {"database_url", "templates", "pg_server"}


def engine_independent(item: pytest.Item) -> bool:
    """Marked so, or using no database: such a test would run the same on every engine."""
    if item.get_closest_marker("engine_independent"):
        return True
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # not a function (a doctest, say): nothing to tell from
        return False
    return "engine_name" not in info.argnames and not _DATABASE_FIXTURES & set(info.names_closure)


def start_shared_cluster(config: pytest.Config) -> Cluster | None:
    """The cluster an xdist controller starts for its workers, before it starts them."""
    if "PYTEST_XDIST_WORKER" in os.environ or not getattr(config.option, "numprocesses", None):
        return None
    bindir = find_binaries()
    if bindir is None:  # each worker's pg_server fixture fails (CI) or skips
        return None
    cluster = Cluster(bindir)
    os.environ[SHARED_CLUSTER] = cluster.start()
    return cluster


def _use(url: str) -> None:
    db.use_engine(db.build_engine(Settings(database_url=url)))


async def _create_database(server: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()


async def _create_keys() -> dict[Role, str]:
    """A key of each role, created the way the CLI does."""
    ctx = WriteContext(actor="test-setup")
    return {role: (await create_key(ctx, f"test-{role.value}", role)).secret for role in Role}


def migrate_database(url: str) -> None:
    """Migrate the database at ``url`` to the newest migration (a database a test made itself)."""
    _use(url)
    asyncio.run(db.migrate())


def make_templates(pg_server: str | None, folder: Path) -> tuple[dict[str, str], dict[str, dict[Role, str]]]:
    """The plain templates (``{"sqlite": path, "postgres": server}``), each with a twin that also holds
    a key of each role; returns the templates and, per engine, the secrets of its twin's keys."""
    plain = folder / "template.sqlite3"
    _use(f"sqlite:///{plain}")
    asyncio.run(db.migrate())
    shutil.copy(plain, folder / "template-keys.sqlite3")
    _use(f"sqlite:///{folder / 'template-keys.sqlite3'}")
    found, secrets = {"sqlite": str(plain)}, {"sqlite": asyncio.run(_create_keys())}
    if pg_server:
        asyncio.run(_create_database(pg_server, PG_TEMPLATE))
        _use(f"{pg_server}/{PG_TEMPLATE}")
        asyncio.run(db.migrate())
        asyncio.run(_create_database(pg_server, PG_TEMPLATE_KEYS, PG_TEMPLATE))
        _use(f"{pg_server}/{PG_TEMPLATE_KEYS}")
        found["postgres"], secrets["postgres"] = pg_server, asyncio.run(_create_keys())
    return found, secrets


def new_database(
    engine_name: str, templates: dict[str, str], tmp_path: Path, stem: str = "t", *, with_keys: bool = False
) -> str:
    """A fresh migrated database on ``engine_name``: a copy of the SQLite template file, or a
    PostgreSQL database created from the template database (``with_keys``: the twin with keys)."""
    if engine_name == "sqlite":
        path = tmp_path / f"{stem}.sqlite3"
        template = Path(templates["sqlite"])
        shutil.copy(template.with_name("template-keys.sqlite3") if with_keys else template, path)
        return f"sqlite:///{path}"
    if "postgres" not in templates:
        pytest.skip("PostgreSQL binaries not installed")
    name = f"{stem}{os.getpid()}_{next(_counter)}"
    asyncio.run(_create_database(templates["postgres"], name, PG_TEMPLATE_KEYS if with_keys else PG_TEMPLATE))
    return f"{templates['postgres']}/{name}"


def drop_database(url: str) -> None:
    """Drops a PostgreSQL database a test is done with (SQLite files go with the test's tmp_path). Kept,
    the run's ~600 databases (7-8 MB each) were gigabytes to write back and then to remove at the end."""
    if url.startswith("sqlite"):
        return
    server, _, name = url.rpartition("/")

    async def drop() -> None:
        conn = await asyncpg.connect(f"{server}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def keys_in_app_database(secrets: dict[Role, str]) -> dict[Role, str]:
    """The template's keys if the started app's database has them, else keys made now (a test whose
    settings name a database of its own)."""
    rows = await ApiKey.select(ApiKey.name, ApiKey.secret_hash).where(
        ApiKey.name.is_in([f"test-{role.value}" for role in Role])
    )
    expected = {f"test-{role.value}": hash_secret(secret) for role, secret in secrets.items()}
    if secrets and {row["name"]: row["secret_hash"] for row in rows} == expected:
        return dict(secrets)
    return await _create_keys()


# Settings the app reads when it starts, or later: apps whose settings differ in these alone are the
# same app. Any other setting may shape the app when it is built (request_max_body_size does), so an
# app is reused only for settings equal in all of them.
_READ_AT_START = {"database_url", "webhook_key_file", "signing_key_file", "signing_cert_file"}
_idle_apps: dict[str, list[tuple[Litestar, dict, tuple]]] = {}


def _shape(settings: Settings) -> str:
    values = settings.model_dump(exclude=_READ_AT_START)
    return repr(
        sorted((k, v.get_secret_value() if hasattr(v, "get_secret_value") else v) for k, v in values.items())
    )


@contextlib.asynccontextmanager
async def started_app(settings: Settings) -> AsyncIterator[Litestar]:
    """An app built for settings of this shape (reused if one is idle, else built), started on
    ``settings``; its state is as it was when built once it stops. Two at once are two apps."""
    idle = _idle_apps.setdefault(_shape(settings), [])
    app, built_state, built = idle.pop() if idle else _build(settings)
    app.state.update(built_state)
    app.state["settings"] = settings
    async with app.lifespan():
        yield app
    for name in set(app.state) - set(built_state):  # what the lifespan (or the test) added
        del app.state[name]
    if _structure(app) == built:  # else the test changed the app (registered a route): dropped
        idle.append((app, built_state, built))  # not reached if the lifespan failed to stop: dropped too


def _build(settings: Settings) -> tuple[Litestar, dict, tuple]:
    app = create_app(settings)
    return app, dict(app.state), _structure(app)


def _structure(app: Litestar) -> tuple:
    """What a test could change in an app besides its state: its routes, hooks and debug flag."""
    routes = tuple((route.path, len(getattr(route, "route_handlers", ()))) for route in app.routes)
    return routes, len(app.on_startup), len(app.on_shutdown), app.debug


def forget_process_caches() -> None:
    """The caches a test process keeps across apps, keyed by an engine's ``id()``: verified API keys,
    taxonomy keys; and the per-obligation locks (bound to the event loop of the test that made them)."""
    registry_auth.key_cache.entries.clear()
    taxonomy._cache.clear()
    attestations._locks.clear()


@contextlib.contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with the least memory and time argon2-cffi allows, for hashes made in this process;
    verifying reads the cost from the hash, so the production code path is unchanged."""
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    kept = people_service._hasher
    people_service._hasher = lambda: cheap
    people_service._decoy.cache_clear()
    try:
        yield
    finally:
        people_service._hasher = kept
        people_service._decoy.cache_clear()


class _KeptPdfProcesses(ProcessPoolExecutor):
    """PDF worker processes shared by every app of this test process; an app's stop leaves them be."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass  # the app stopped; the processes serve the next one

    def stop(self) -> None:
        # Killed, not asked to exit: idle (SCHED_IDLE) workers on a busy machine take long to get the CPU.
        for process in list((self._processes or {}).values()):
            process.kill()
        super().shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def kept_pdf_processes() -> Iterator[None]:
    """PdfPool's executors come from here while the context lasts: one per number of workers, made
    again if one broke (a worker died)."""
    kept: dict[int, _KeptPdfProcesses] = {}

    def executor(max_workers: int, **options) -> _KeptPdfProcesses:
        current = kept.get(max_workers)
        if current is None or current._broken:
            if current is not None:
                current.stop()
            current = kept[max_workers] = _KeptPdfProcesses(max_workers=max_workers, **options)
        return current

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_pool, "ProcessPoolExecutor", executor)
        try:
            yield
        finally:
            for current in kept.values():
                current.stop()
