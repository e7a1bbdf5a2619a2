"""Partial indexes for the heads that lookup answers and verified API keys follow (registry.head): the
newest change of a kind a lookup can depend on, and the newest change to a key, read on every request."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-26T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Partial indexes for the lookup answers' and API keys' heads"

# A copy, not an import: a migration must keep meaning what it meant when it was written. The query in
# registry.head must match this WHERE clause for the databases to use the index (tests/test_head.py).
RELEVANT = (
    "object_type NOT IN ('api_key', 'attestation', 'deletion_confirmation', 'deletion_obligation',"
    " 'journal_entry', 'person', 'webhook')"
)
KEYS = "object_type = 'api_key'"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def partial_index():
        engine = engine_finder()
        await engine.run_ddl(f"CREATE INDEX change_lookup_relevant ON change (id) WHERE {RELEVANT}")
        await engine.run_ddl(f"CREATE INDEX change_api_key ON change (id) WHERE {KEYS}")

    manager.add_raw(partial_index)
    return manager
