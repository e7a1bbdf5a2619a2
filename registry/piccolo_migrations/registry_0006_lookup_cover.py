"""A covering index for "who held category X on day D": the lookup counts and pages matching
disclosures from the index alone, without reading the table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T11:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Covering index for category lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def covering_index():
        engine = engine_finder()
        await engine.run_ddl(
            "CREATE INDEX disclosure_category_cover"
            " ON disclosure_category (category, valid_from, valid_to, vendor, disclosure)"
        )
        await engine.run_ddl("DROP INDEX disclosure_category_lookup")

    manager.add_raw(covering_index)
    return manager
