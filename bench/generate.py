"""Generate a synthetic registry for benchmarks: N vendors, one DPA each, and disclosures adding up
to M disclosure-category rows, on SQLite or PostgreSQL.

    .venv/bin/python bench/generate.py --url sqlite:///bench.sqlite3 --vendors 10000 --rows 1000000

Rows are bulk-loaded with the database drivers, not through the services: the change log stays empty
(this is test data, not a history). The database is migrated first; existing vendors are an error.
"""

import argparse
import asyncio
import random
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta

import asyncpg

from registry import db
from registry.settings import Settings

KINDS = ["service_provider", "agent", "contractor", "associated_business"]
COUNTRIES = ["DE", "FR", "IE", "NL", "US", "GB", "SG", "CN", "JP", "ES"]
PURPOSES = [
    "essential.service.operations",
    "essential.service.payment_processing",
    "marketing.communications.email",
    "analytics.reporting",
    "essential.service.operations.support",
]
CATEGORIES_PER_DISCLOSURE = 10


def build(vendors: int, rows: int, categories: list[str], seed: int = 7) -> dict[str, list[tuple]]:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    per_vendor = max(1, rows // (vendors * CATEGORIES_PER_DISCLOSURE))
    tables: dict[str, list[tuple]] = {
        "vendor": [],
        "contract": [],
        "disclosure": [],
        "disclosure_category": [],
    }
    start = date(2020, 1, 1)
    disclosure_id = 0
    for v in range(1, vendors + 1):
        country = COUNTRIES[v % len(COUNTRIES)]
        tables["vendor"].append((v, f"Vendor {v:06d}", KINDS[v % 4], country, "[]", "[]", 1, now, now))
        tables["contract"].append(
            (
                v,
                v,
                "dpa",
                f"DPA {v}",
                f"DPA-{v:06d}",
                start,
                start,
                True,
                "delete",
                30,
                True,
                False,
                False,
                1,
                now,
                now,
            )
        )
        for _ in range(per_vendor):
            disclosure_id += 1
            valid_from = start + timedelta(days=rnd.randrange(0, 2500))
            valid_to = None if rnd.random() < 0.5 else valid_from + timedelta(days=rnd.randrange(30, 900))
            tables["disclosure"].append(
                (
                    disclosure_id,
                    v,
                    v,
                    "contract",
                    rnd.choice(PURPOSES),
                    '["customer"]',
                    country,
                    valid_from,
                    valid_to,
                    1,
                    now,
                    now,
                )
            )
            for category in rnd.sample(categories, CATEGORIES_PER_DISCLOSURE):
                tables["disclosure_category"].append((disclosure_id, v, category, valid_from, valid_to))
    return tables


COLUMNS = {
    "vendor": (
        "id",
        "name",
        "kind",
        "country",
        "registration_ids",
        "tags",
        "version",
        "created_at",
        "updated_at",
    ),
    "contract": (
        "id",
        "vendor",
        "kind",
        "title",
        "reference",
        "signed_on",
        "effective_from",
        "confidentiality_equivalent",
        "end_of_contract",
        "deletion_deadline_days",
        "backups_covered",
        "subprocessing_requires_consent",
        "audit_right",
        "version",
        "created_at",
        "updated_at",
    ),
    "disclosure": (
        "id",
        "vendor",
        "contract",
        "basis",
        "purpose",
        "data_subjects",
        "country",
        "valid_from",
        "valid_to",
        "version",
        "created_at",
        "updated_at",
    ),
    "disclosure_category": ("disclosure", "vendor", "category", "valid_from", "valid_to"),
}


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def load_sqlite(path: str, tables: dict[str, list[tuple]]) -> None:
    connection = sqlite3.connect(path)
    with connection:
        for table, rows in tables.items():
            columns = COLUMNS[table]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            connection.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows))
    connection.execute("ANALYZE")
    connection.close()


async def load_postgres(url: str, tables: dict[str, list[tuple]]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for table, rows in tables.items():
            await connection.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))
        for table in ("vendor", "contract", "disclosure"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("VACUUM ANALYZE")  # sets the visibility map: index-only scans
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--vendors", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="disclosure-category rows")
    args = parser.parse_args()
    settings = Settings(database_url=args.url)
    db.use_engine(db.build_engine(settings))
    await db.migrate()
    from registry.tables import TaxonomyEntry, Vendor

    if await Vendor.exists():
        raise SystemExit("the database already has vendors; generate into an empty one")
    categories = [
        r["key"]
        for r in await TaxonomyEntry.select(TaxonomyEntry.key).where(
            TaxonomyEntry.kind == "data_category", TaxonomyEntry.key.like("user.%")
        )
    ]
    started = time.perf_counter()
    tables = build(args.vendors, args.rows, categories)
    if settings.is_sqlite:
        load_sqlite(args.url.removeprefix("sqlite:///"), tables)
    else:
        await load_postgres(args.url, tables)
    counts = {t: len(r) for t, r in tables.items()}
    print(f"loaded {counts} in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    asyncio.run(main())
