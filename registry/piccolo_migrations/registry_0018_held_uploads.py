"""Files held for a web form's retry (registry/ui/held.py): a chosen file survives a refused form.
Depends on no other new table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Bytea, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T21:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Files held for a web form's retry"

_COLUMNS = (
    ("handle_hash", Varchar, {"length": 64, "default": "", "unique": True}),
    ("person", Varchar, {"length": 120, "default": ""}),
    ("filename", Varchar, {"length": 255, "default": ""}),
    ("content_type", Varchar, {"length": 100, "default": ""}),
    ("size", Integer, {"default": 0}),
    ("data", Bytea, {"default": b""}),
    ("expires_at", Timestamptz, {"default": TimestamptzNow(), "index": True}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_table(class_name="HeldUpload", tablename="held_upload", schema=None, columns=None)
    for name, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name="HeldUpload",
            tablename="held_upload",
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
