"""Engines, transactions and migration state, for SQLite and PostgreSQL alike."""

import os
from contextlib import AbstractAsyncContextManager, nullcontext
from urllib.parse import unquote, urlsplit

from piccolo.apps.migrations.commands.check import CheckMigrationManager
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from registry.settings import Settings

os.environ.setdefault("PICCOLO_CONF", "registry.conf")


def build_engine(settings: Settings, keep_connections: bool = False) -> Engine:
    """An engine for ``settings.database_url``; nothing connects until first use. A server keeps
    SQLite connections open between queries (``keep_connections``; it must ``close`` the engine)."""
    if settings.is_sqlite:
        path = unquote(urlsplit(settings.database_url).path)
        path = path[1:] if path.startswith("//") else path.removeprefix("/")
        path = path or "registry.sqlite3"
        if keep_connections and settings.sqlite_kept_connections:
            from registry.sqliteengine import KeptSQLiteEngine

            return KeptSQLiteEngine(
                path, settings.sqlite_kept_connections, timeout=settings.sqlite_busy_timeout_seconds
            )
        return SQLiteEngine(path=path, timeout=settings.sqlite_busy_timeout_seconds)
    from registry.pgengine import build_postgres_engine

    return build_postgres_engine(settings)


def use_engine(engine: Engine) -> None:
    """Point every table, and Piccolo's migration machinery, at ``engine``."""
    from piccolo.apps.migrations.tables import Migration

    from registry import conf
    from registry.piccolo_app import APP_CONFIG

    conf.DB = engine
    for table in [*APP_CONFIG.table_classes, Migration]:
        table._meta.db = engine


def current_engine() -> Engine:
    from registry import conf

    return conf.DB


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or current_engine()).engine_type == "sqlite"


def write_transaction() -> AbstractAsyncContextManager:
    """A transaction for a read-then-write: IMMEDIATE on SQLite, so writers queue instead of failing."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def prepare(engine: Engine) -> None:
    """Per-database settings that outlive connections (SQLite's WAL journal)."""
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL;")


async def pending_migrations() -> list[str]:
    """Ids of the registry's migrations not yet applied to the current database."""
    statuses = await CheckMigrationManager(app_name="registry").get_migration_statuses()
    return [status.migration_id for status in statuses if not status.has_ran]


async def migrate() -> list[str]:
    """Apply pending migrations; returns the ids applied."""
    await prepare(current_engine())
    pending = await pending_migrations()
    if pending:
        result = await ForwardsMigrationManager(app_name="registry").run()
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}")
    return pending


async def serialise(lock_key: int) -> None:
    """Writers of one kind run one at a time until the transaction ends, so a read-check-insert holds
    (PostgreSQL: an advisory lock; SQLite's IMMEDIATE transaction already excludes other writers)."""
    if not is_sqlite():
        from registry.tables import Change

        await Change.raw("SELECT pg_advisory_xact_lock({})", lock_key)


def for_update(query):
    """``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transaction already excludes writers."""
    return query if is_sqlite() else query.lock_rows()


async def locked_row(query, kind: str, key: object, if_match: int | None = None) -> dict:
    """The row ``query`` selects, locked until the write transaction ends: 404 when there is none,
    412 when ``if_match`` is not its version."""
    from registry.errors import not_found  # errors' handlers may use db: imported here, not above

    row = await for_update(query).first()
    if row is None:
        raise not_found(kind, key)
    check_version(kind, key, row["version"], if_match)
    return row


def check_version(kind: str, key: object, version: int, if_match: int | None) -> None:
    """412 when the client's If-Match names another version than the stored one."""
    from registry.errors import precondition_failed

    if if_match is not None and if_match != version:
        raise precondition_failed(f"{kind} {key} is at version {version}, not {if_match}")


def is_unique_violation(exc: BaseException) -> bool:
    """True for a UNIQUE constraint failure on either engine (other integrity errors are bugs)."""
    import sqlite3

    import asyncpg

    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc)


def read_session() -> AbstractAsyncContextManager:
    """Several reads on one connection, and one snapshot: a DEFERRED transaction takes no write lock.
    (The CLI's plain SQLite engine opens a connection per query otherwise; a server lends kept ones.)"""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.deferred)
    return nullcontext()
