"""SQLite online backup and restore. (PostgreSQL: pg_dump / pg_restore, see docs/deployment.md.)"""

import sqlite3
from pathlib import Path

from registry.settings import Settings


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError(
            "registry backup/restore handle SQLite only; back PostgreSQL up with pg_dump "
            "(see docs/deployment.md)"
        )
    from registry.db import build_engine

    return Path(build_engine(settings).path)


def backup(settings: Settings, target: Path) -> int:
    """Copy the live database with SQLite's online backup API (safe while the server writes)."""
    source = sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file")
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    return target.stat().st_size


def _check(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} fails SQLite's integrity check")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from None
    if not {"migration", "change", "vendor"} <= tables:
        raise BackupError(f"{path} is not a registry backup")


def restore(settings: Settings, source: Path) -> None:
    """Replace the database with a backup (stop the server first); the old file is kept as .before-restore."""
    target = sqlite_path(settings)
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    _check(source)
    if target.exists():
        kept = target.with_name(target.name + ".before-restore")
        with sqlite3.connect(target) as old, sqlite3.connect(kept) as copy:
            old.backup(copy)
    with sqlite3.connect(source) as backup_db, sqlite3.connect(target) as live:
        backup_db.backup(live)
