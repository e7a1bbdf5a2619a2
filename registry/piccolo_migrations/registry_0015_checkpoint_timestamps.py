"""RFC 3161 timestamp tokens of the change log's checkpoints (registry/timestamps.py). Adds one nullable
column: checkpoints made before it, or without a timestamp authority, have none."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T19:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Timestamp tokens of checkpoints"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Checkpoint",
        tablename="change_checkpoint",
        column_name="timestamp_token",
        db_column_name="timestamp_token",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
