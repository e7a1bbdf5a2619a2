"""Piccolo's PostgreSQL engine with every wait bounded and no connection lost to a failed transaction.

As Piccolo ships it, a request could hang for ever on a PostgreSQL that stopped answering (SIGSTOP, a
network partition): asyncpg's pool waits for a free connection without a limit, and resets a returned
connection without one. And a transaction whose BEGIN or ROLLBACK failed kept its pooled connection
for good: after ``postgres_pool_max_size`` such failures every request waited for a connection that
would never come back, even once PostgreSQL was up again.
"""

import logging
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from registry.settings import Settings

log = logging.getLogger("registry.db")


class BoundedPool(asyncpg.Pool):
    """asyncpg's pool whose ``acquire`` waits at most ``acquire_timeout`` unless told otherwise; asyncpg
    then uses the same budget to reset the connection when it is released."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None):
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


class SafeTransaction(PostgresTransaction):
    """A transaction that always gives its connection back: terminated when its state is unknown."""

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            await self._give_back(broken=True)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception is None:
                if not self._committed and not self._rolled_back:
                    await self.commit()
            elif not self._rolled_back:
                await self._rollback_quietly()
        finally:
            await self._give_back(broken=False)
            self.engine.current_transaction.reset(self.context)
        return exception is None

    async def _rollback_quietly(self) -> None:
        # The exception that ended the transaction is the one to report; a rollback that fails too (the
        # server is gone or frozen) only means the connection cannot be reused.
        try:
            await self.rollback()
        except Exception as exc:
            log.warning("rollback failed (%s); dropping the connection", type(exc).__name__)
            self.connection.terminate()

    async def _give_back(self, broken: bool) -> None:
        if broken:
            self.connection.terminate()
        if self.engine.pool:
            try:
                await self.engine.pool.release(self.connection)
            except Exception as exc:  # asyncpg terminated it: the pool makes a new one when needed
                log.warning("could not return a connection to the pool (%s)", type(exc).__name__)
        elif not self.connection.is_closed():
            self.connection.terminate() if broken else await self.connection.close()


class BoundedPostgresEngine(PostgresEngine):
    """PostgresEngine whose pool is a ``BoundedPool`` and whose transactions are ``SafeTransaction``s."""

    def __init__(self, config: dict[str, Any], pool_timeout: float, **kwargs: Any):
        super().__init__(config=config, **kwargs)
        self.pool_timeout = pool_timeout

    async def start_connection_pool(self, **kwargs: Any) -> None:
        if self.pool:
            return
        options = {
            "min_size": 10,
            "max_size": 10,
            "max_queries": 50_000,
            "max_inactive_connection_lifetime": 300.0,
            "loop": None,
            "connection_class": asyncpg.Connection,
            "record_class": asyncpg.Record,
            **self.config,
            **kwargs,
        }
        options["min_size"] = min(options["min_size"], options["max_size"])
        self.pool = await BoundedPool(acquire_timeout=self.pool_timeout, **options)

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return SafeTransaction(engine=self, allow_nested=allow_nested)


def build_postgres_engine(settings: Settings) -> BoundedPostgresEngine:
    dsn = settings.database_url.replace("postgres://", "postgresql://", 1)
    statement_ms = int(settings.db_statement_timeout_seconds * 1000)
    config = {
        "dsn": dsn,
        "timeout": settings.db_connect_timeout_seconds,
        # The server cancels a long statement itself (the connection stays usable); the client's limit,
        # a second later, is for a server that does not answer at all.
        "command_timeout": settings.db_statement_timeout_seconds + 1,
        "server_settings": {"statement_timeout": str(statement_ms)},
    }
    # No extensions: the registry needs none, and creating one needs a superuser.
    return BoundedPostgresEngine(config=config, pool_timeout=settings.db_pool_timeout_seconds, extensions=())
