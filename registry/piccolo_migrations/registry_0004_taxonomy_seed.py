"""Seeds the fideslang default taxonomy and adds the lookup indexes.

The taxonomy comes from the fideslang package (pinned to 3.1.x in pyproject.toml), so this
migration inserts the same 85 categories, 56 data uses and 15 data subjects wherever it runs.
"""

from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Boolean, Text, Timestamptz, Varchar
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-11-25T10:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Seed the fideslang default taxonomy; lookup indexes"

INDEXES = (
    "CREATE UNIQUE INDEX taxonomy_kind_key ON taxonomy_entry (kind, key)",
    "CREATE INDEX disclosure_category_lookup ON disclosure_category (category, valid_from, valid_to)",
    "CREATE INDEX disclosure_category_vendor ON disclosure_category (vendor, valid_from)",
    "CREATE INDEX disclosure_vendor_period ON disclosure (vendor, valid_from)",
)


class TaxonomyEntry(Table, tablename="taxonomy_entry"):
    kind = Varchar(length=20)
    key = Varchar(length=200)
    name = Varchar(length=200)
    description = Text(null=True, default=None)
    parent_key = Varchar(length=200, null=True, default=None)
    is_default = Boolean(default=False)
    created_at = Timestamptz()


def _default_entries() -> list[dict]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    now = datetime.now(UTC)
    entries = []
    for kind, items in (
        ("data_category", DEFAULT_TAXONOMY.data_category),
        ("data_use", DEFAULT_TAXONOMY.data_use),
        ("data_subject", DEFAULT_TAXONOMY.data_subject),
    ):
        for item in items:
            entries.append(
                {
                    "kind": kind,
                    "key": item.fides_key,
                    "name": item.name or item.fides_key,
                    "description": item.description,
                    "parent_key": getattr(item, "parent_key", None),
                    "is_default": True,
                    "created_at": now,
                }
            )
    return entries


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def seed():
        engine = engine_finder()
        TaxonomyEntry._meta.db = engine
        for sql in INDEXES:
            await engine.run_ddl(sql)
        rows = [TaxonomyEntry(**entry) for entry in _default_entries()]
        await TaxonomyEntry.insert(*rows)

    manager.add_raw(seed)
    return manager
