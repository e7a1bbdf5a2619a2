"""Re-issuing after revocation: a revoked attestation stays, its successor names it (``supersedes``), and
the database allows at most one standing (unrevoked) attestation per obligation. Depends on 0012 only."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T19:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Attestation chains: supersedes, one standing attestation per obligation"

# SQLite cannot drop a column's UNIQUE constraint: rebuild the table (nothing references it) from its own
# definition without that word, then restore the indexes Piccolo made.
SQLITE_REBUILD = (
    'INSERT INTO "attestation_rebuilt" SELECT * FROM "attestation"',
    'DROP TABLE "attestation"',
    'ALTER TABLE "attestation_rebuilt" RENAME TO "attestation"',
    'CREATE INDEX attestation_vendor ON "attestation" ("vendor")',
    'CREATE INDEX attestation_pdf ON "attestation" ("pdf")',
)
POSTGRES_UNIQUE_OBLIGATION = """
SELECT c.conname AS name FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
WHERE c.conrelid = 'attestation'::regclass AND c.contype = 'u' AND a.attname = 'obligation'
  AND array_length(c.conkey, 1) = 1
"""
BOTH = (
    'ALTER TABLE "attestation" ADD COLUMN "supersedes" VARCHAR(40) DEFAULT NULL',
    # Each attestation is superseded at most once: the chain is a line, never a tree.
    'CREATE UNIQUE INDEX attestation_supersedes ON "attestation" ("supersedes")',
    # Concurrent issuers for one obligation: the second insert fails here, whatever the engine.
    'CREATE UNIQUE INDEX attestation_one_standing ON "attestation" ("obligation") WHERE "revoked_at" IS NULL',
    'CREATE INDEX attestation_obligation ON "attestation" ("obligation")',
)


async def _drop_unique_obligation(engine) -> None:
    if engine.engine_type == "sqlite":
        [row] = await engine.run_ddl(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'attestation'"
        )
        definition = row["sql"].replace(
            '"obligation" INTEGER UNIQUE NOT NULL', '"obligation" INTEGER NOT NULL'
        )
        if definition == row["sql"]:
            raise RuntimeError("attestation.obligation is not declared as expected; rebuild by hand")
        await engine.run_ddl(definition.replace('"attestation"', '"attestation_rebuilt"', 1))
        for sql in SQLITE_REBUILD:
            await engine.run_ddl(sql)
    else:
        for row in await engine.run_ddl(POSTGRES_UNIQUE_OBLIGATION):
            await engine.run_ddl(f'ALTER TABLE "attestation" DROP CONSTRAINT "{row["name"]}"')


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def chain():
        engine = engine_finder()
        await _drop_unique_obligation(engine)
        for sql in BOTH:
            await engine.run_ddl(sql)

    manager.add_raw(chain)
    return manager
