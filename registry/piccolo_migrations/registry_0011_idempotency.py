"""Writes made under an Idempotency-Key: the claim each one commits with, and the answer it got."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T18:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Idempotency claims (Idempotency-Key header)"

# name -> (column class, its own params); written out as Piccolo's auto migrations would.
COLUMNS = {
    "scope": (Varchar, {"length": 64, "default": "", "null": False, "unique": True}),
    "actor": (Varchar, {"length": 120, "default": "", "null": False}),
    "idempotency_key": (Varchar, {"length": 255, "default": "", "null": False}),
    "fingerprint": (Varchar, {"length": 64, "default": "", "null": False}),
    "method": (Varchar, {"length": 10, "default": "", "null": False}),
    "path": (Varchar, {"length": 2000, "default": "", "null": False}),
    "token": (Varchar, {"length": 32, "default": "", "null": False}),
    "request_id": (Varchar, {"length": 100, "default": None, "null": True}),
    "first_change_id": (BigInt, {"default": 0, "null": False}),
    "created_at": (Timestamptz, {"default": TimestamptzNow(), "null": False}),
    "expires_at": (Timestamptz, {"default": TimestamptzNow(), "null": False, "index": True}),
    "status": (Integer, {"default": None, "null": True}),
    "headers": (Text, {"default": None, "null": True}),
    "body": (Bytea, {"default": None, "null": True}),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_table(class_name="IdempotencyClaim", tablename="idempotency_claim", schema=None, columns=None)
    for name, (column_class, own) in COLUMNS.items():
        manager.add_column(
            table_class_name="IdempotencyClaim",
            tablename="idempotency_claim",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
                **own,
            },
            schema=None,
        )

    return manager
