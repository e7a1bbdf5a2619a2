"""SQLite with kept connections: Piccolo's SQLiteEngine opens a connection, and with it a thread, for
every query outside a transaction and for every transaction, and closes it after.

Opening one (a thread start, ``sqlite3.connect``, ``PRAGMA foreign_keys``) costs more than most of the
registry's queries; under load it was most of a lookup miss (issue 19). ``KeptSQLiteEngine`` keeps up
to ``size`` idle connections and lends them to queries and transactions. The connections are in
autocommit mode (Piccolo's ``isolation_level=None``), so an idle one holds no transaction and no read
snapshot: with WAL, the next query on it sees every committed write. A connection whose query or
transaction failed in any way (an error, a cancelled task) is closed, never lent again.

At most ``size`` connections are lent at once: a query that finds them all lent waits for one to come
back, up to ``overflow_after`` seconds, then opens one more (so nothing can wait for ever on a
connection held by a transaction that is itself waiting for a query).

Each kept connection is a thread that must be closed: only a server keeps them (the app's lifespan
calls ``close``); the CLI and the migrations use the plain engine.
"""

import asyncio
from collections import deque
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory


class KeptTransaction(SQLiteTransaction):
    """A transaction on a lent connection, given back when it ends (Piccolo's closes it)."""

    async def get_connection(self):
        return await self.engine.borrow()

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        healthy = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            healthy = exception is None or isinstance(exception, Exception)
        finally:
            self.engine.current_transaction.reset(self.context)
            await self.engine.give_back(self.connection, healthy)
        return exception is None


class KeptSQLiteEngine(SQLiteEngine):
    """SQLiteEngine that keeps up to ``size`` idle connections for the next query or transaction."""

    def __init__(self, path: str, size: int, overflow_after: float = 1.0, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.size = size
        self.overflow_after = overflow_after
        self.idle: list[aiosqlite.Connection] = []
        self.lent = 0  # slots taken: connections lent, or being opened for a borrower
        self.opened = 0  # connections opened in this engine's life (tests and benchmarks read it)
        self.closed = False
        # Borrowers waiting for a slot, first come first served: a slot given back goes to the first
        # of them with its connection (or None: open one), never to a newcomer.
        self._waiters: deque[asyncio.Future] = deque()

    async def borrow(self) -> aiosqlite.Connection:
        if self.closed or (not self._waiters and (self.idle or self.lent < self.size)):
            self.lent += 1
            return self.idle.pop() if self.idle else await self._open()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.overflow_after):
                handed = await waiter
        except TimeoutError:
            if not (waiter.done() and not waiter.cancelled()):  # not handed a slot in time: one more
                self._forget(waiter)
                self.lent += 1
                return await self._open()
            handed = waiter.result()
        except BaseException:  # cancelled while waiting: a slot handed meanwhile goes on
            self._forget(waiter)
            if waiter.done() and not waiter.cancelled():
                await self._release(waiter.result())
            raise
        return handed if handed is not None else await self._open()

    def _forget(self, waiter: asyncio.Future) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    async def _open(self) -> aiosqlite.Connection:
        """A new connection in a slot already taken (the slot is released if opening fails)."""
        try:
            connection = await aiosqlite.connect(**self.connection_kwargs)
            connection.row_factory = dict_factory  # type: ignore[assignment]
            await connection.execute("PRAGMA foreign_keys = 1")
        except BaseException:
            await self._release(None)
            raise
        self.opened += 1
        return connection

    async def give_back(self, connection: aiosqlite.Connection, healthy: bool) -> None:
        """The connection goes to the first waiter, or is kept idle; it is closed instead after a
        failure, when it is still in a transaction, when enough are idle, or once the engine is closed."""
        keep = healthy and not self.closed
        if keep:
            try:
                keep = not connection.in_transaction
            except ValueError:  # already closed
                keep = False
        if not keep:
            await connection.close()
        await self._release(connection if keep else None)

    async def _release(self, connection: aiosqlite.Connection | None) -> None:
        """A slot comes back, with a healthy connection or none."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)  # the slot passes on: ``lent`` stays
                return
        self.lent -= 1
        if connection is None:
            return
        if len(self.idle) < self.size:
            self.idle.append(connection)
        else:
            await connection.close()

    async def close(self) -> None:
        """Close every idle connection; connections lent now are closed when given back."""
        self.closed = True
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.close()

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> KeptTransaction:
        return KeptTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.borrow()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        connection = await self.borrow()
        healthy = False
        try:
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
            healthy = True
            return rows
        finally:
            await self.give_back(connection, healthy)

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        # Piccolo repeats PRAGMA foreign_keys before every query in a transaction (a thread hop each);
        # a kept connection had it set when it was opened.
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()
