"""Signed checkpoints of the change log (registry/changes/checkpoints.py). Depends on no other new table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T18:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Signed checkpoints of the change log's head"

_COLUMNS = (
    ("change_id", BigInt, {"default": 0, "index": True}),
    ("created_at", Timestamptz, {"default": TimestamptzNow()}),
    ("content", Text, {"default": ""}),
    ("signature", Text, {"default": ""}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_table(class_name="Checkpoint", tablename="change_checkpoint", schema=None, columns=None)
    for name, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name="Checkpoint",
            tablename="change_checkpoint",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={
                "null": False,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
                **params,
            },
            schema=None,
        )
    return manager
