"""Confirmations that a rule can read; contract clauses on the minimum sanitization and evidence.

Additive only. Existing confirmations get kind ``deletion`` and a NULL outcome: "not stated", which
the registry never attests until someone records a confirmation that states it. Existing contracts
get no minimum (NULL) and no evidence clause (FALSE): nothing they did not agree.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Verification outcome and kind of confirmations; minimum sanitization and evidence clauses"

_COLUMNS = (
    ("DeletionConfirmation", "deletion_confirmation", "kind", Varchar, {"length": 20, "default": "deletion"}),
    (
        "DeletionConfirmation",
        "deletion_confirmation",
        "verification_outcome",
        Varchar,
        {"length": 10, "default": None, "null": True},
    ),
    ("Contract", "contract", "minimum_sanitization", Varchar, {"length": 10, "default": None, "null": True}),
    ("Contract", "contract", "evidence_required", Boolean, {"default": False}),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    for class_name, tablename, name, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
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
