"""Composite indexes that Piccolo's column options cannot express; the same SQL on both engines."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Composite indexes for the change log and contract periods"

INDEXES = (
    "CREATE INDEX change_object ON change (object_type, object_id, id)",
    "CREATE INDEX contract_vendor_period ON contract (vendor, effective_from, ends_on)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for sql in INDEXES:
            await engine.run_ddl(sql)

    manager.add_raw(create_indexes)
    return manager
