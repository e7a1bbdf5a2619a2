"""Roles and international transfers (issue 20): the role in which a vendor receives each disclosure,
where its data leaves from, the transfer record of a disclosure that crosses a border, and a contract's
joint-controller arrangement (GDPR Art. 26; existing contracts: none, FALSE).

Additive only. Existing disclosures get the role ``processor``: what every contract was judged as
before roles were recorded, so nothing is silently exempted from the Art. 28(3) checks. They get the
origin configured when the migration runs (REGISTRY_ORIGIN_COUNTRY, default CN), as a new disclosure
that does not name one would. Depends on no other new table.
"""

import os

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-01T23:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Recipient role and origin of disclosures; transfer records; joint arrangements"


class Disclosure(Table, tablename="disclosure", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree)


class StoredFile(Table, tablename="stored_file", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree)


def _origin() -> str:
    origin = os.environ.get("REGISTRY_ORIGIN_COUNTRY", "CN").strip().upper()
    return origin if len(origin) == 2 and origin.isalpha() else "CN"


def _fk(references, **own) -> tuple:
    return (
        ForeignKey,
        {
            "references": references,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.restrict,
            "target_column": None,
            "default": None,
            **own,
        },
    )


_NULL = {"default": None, "null": True}
# table -> [(name, column class, its own params)]; written out as Piccolo's auto migrations would.
_NEW_COLUMNS = {
    ("Disclosure", "disclosure"): [
        ("role", Varchar, {"length": 30, "default": "processor"}),
        ("origin", Varchar, {"length": 2, "default": _origin()}),
    ],
    ("Contract", "contract"): [
        ("joint_arrangement", Boolean, {"default": False}),
        ("joint_arrangement_essence", Varchar, {"length": 2000, **_NULL}),
    ],
    ("Transfer", "transfer"): [
        ("disclosure", *_fk(Disclosure, unique=True)),
        ("mechanism", Varchar, {"length": 30, "default": ""}),
        ("scc_module", Integer, _NULL),
        ("derogation", Varchar, {"length": 1, **_NULL}),
        ("dpf_certified", Boolean, {"default": False}),
        ("mechanism_reference", Varchar, {"length": 300, **_NULL}),
        ("filing_date", Date, _NULL),
        ("filing_number", Varchar, {"length": 100, **_NULL}),
        ("separate_consent_reference", Varchar, {"length": 300, **_NULL}),
        ("tia_date", Date, _NULL),
        ("tia_reference", Varchar, {"length": 300, **_NULL}),
        ("tia_review_by", Date, _NULL),
        ("document", *_fk(StoredFile, null=True, index=True)),
        ("notes", Text, _NULL),
        ("version", Integer, {"default": 1}),
        ("updated_by", Varchar, {"length": 100, "default": ""}),
        ("created_at", Timestamptz, {"default": TimestamptzNow()}),
        ("updated_at", Timestamptz, {"default": TimestamptzNow()}),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    manager.add_table(class_name="Transfer", tablename="transfer", schema=None, columns=None)
    for (class_name, tablename), columns in _NEW_COLUMNS.items():
        for name, column_class, own in columns:
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
                    **own,
                },
                schema=None,
            )
    return manager
