"""Which exceptions mean the database (or the disk) is unavailable, rather than a bug in the registry.

Only genuine unavailability is named here: a server that refuses, drops or does not answer a
connection, a statement or a pooled connection past its timeout, a SQLite file locked past the busy
timeout or that cannot be opened, a full disk. Everything else stays a 500, so a bug is never
reported as an outage that would be "fixed" by retrying.
"""

import errno
import sqlite3
from dataclasses import dataclass

import asyncpg

RETRY_AFTER_SECONDS = 5  # a restarting or overloaded database is usually back within seconds
DISK_FULL_RETRY_AFTER_SECONDS = 60  # someone has to free space first


@dataclass(frozen=True)
class Fault:
    """What the client is told about an unavailable dependency, and what the log says of the cause."""

    status: int
    title: str
    detail: str
    cause: str  # an error code or class name, never the message (it could quote data)
    retry_after: int = RETRY_AFTER_SECONDS


def _unavailable(detail: str, cause: str) -> Fault:
    return Fault(503, "Service unavailable", detail, cause)


def _disk_full(detail: str, cause: str) -> Fault:
    return Fault(507, "Insufficient storage", detail, cause, DISK_FULL_RETRY_AFTER_SECONDS)


_SQLITE_CODES = {
    sqlite3.SQLITE_BUSY: "The database is locked by another writer for longer than the busy timeout.",
    sqlite3.SQLITE_LOCKED: "The database is locked by another writer for longer than the busy timeout.",
    sqlite3.SQLITE_CANTOPEN: "The database file cannot be opened.",
    sqlite3.SQLITE_IOERR: "The database's storage failed to read or write.",
}
DB_DISK_FULL = "The database's disk is full; nothing was saved."
# Errors of the network or of the peer: the database server is down, restarting or out of reach.
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
    errno.ENETDOWN,
}
# asyncpg's InterfaceError is mostly misuse (a bug); these texts are a closed pool or connection.
_CLOSED = ("pool is closing", "pool is closed", "connection is closed")


def _sqlite_fault(exc: sqlite3.Error) -> Fault | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF  # extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE...) keep it low
    name = getattr(exc, "sqlite_errorname", str(code))
    if primary == sqlite3.SQLITE_FULL:
        return _disk_full(DB_DISK_FULL, name)
    if primary in _SQLITE_CODES:
        return _unavailable(_SQLITE_CODES[primary], name)
    return None


def _postgres_fault(exc: asyncpg.PostgresError) -> Fault | None:
    cause = f"SQLSTATE {exc.sqlstate}"
    if isinstance(exc, asyncpg.DiskFullError):  # 53100
        return _disk_full(DB_DISK_FULL, cause)
    if isinstance(exc, asyncpg.QueryCanceledError):  # 57014: statement_timeout (or an operator)
        return _unavailable("The database did not finish the statement within the statement timeout.", cause)
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError  # class 08
        | asyncpg.OperatorInterventionError  # class 57: shutting down, starting up, crash recovery
        | asyncpg.InsufficientResourcesError  # class 53: out of memory, too many connections
        | asyncpg.PostgresSystemError  # class 58: I/O error on the server
        | asyncpg.LockNotAvailableError,  # 55P03: lock_timeout
    ):
        return _unavailable("The database is unavailable.", cause)
    return None


def _client_fault(exc: BaseException) -> Fault | None:
    """Faults seen by the client side: sockets, timeouts, asyncpg's connection state."""
    if isinstance(exc, TimeoutError):  # connect, statement (client side) or pool acquire timeout
        return _unavailable("The database did not answer within its timeout.", "timeout")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full("The server's disk is full; nothing was saved.", "ENOSPC")
    if isinstance(exc, ConnectionError) or (isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS):
        return _unavailable("The database cannot be reached.", type(exc).__name__)
    if isinstance(exc, asyncpg.InterfaceError) and any(text in str(exc) for text in _CLOSED):
        return _unavailable("The connection to the database is closed.", type(exc).__name__)
    return None


def classify(exc: BaseException) -> Fault | None:
    """The fault ``exc`` stands for, or None for a bug. An exception raised *from* a fault (``raise ...
    from exc``) counts as that fault; one merely raised while handling it does not."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fault = _one(current)
        if fault:
            return fault
        current = current.__cause__
    return None


def _one(exc: BaseException) -> Fault | None:
    if isinstance(exc, BaseExceptionGroup):
        faults = [classify(inner) for inner in exc.exceptions]
        return faults[0] if faults and all(faults) else None
    if isinstance(exc, sqlite3.Error):
        return _sqlite_fault(exc)
    if isinstance(exc, asyncpg.PostgresError):
        return _postgres_fault(exc)
    return _client_fault(exc)
