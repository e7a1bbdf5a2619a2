"""Sub-processor chains (registry/subprocessors/): the engagement table, each sub-processor disclosure's
link to its engagement, and the sub-processors a deletion obligation lists. Additive only: existing
disclosures link to no engagement, existing obligations list no sub-processors ([]). Depends on 0019.

The table is created from a frozen copy of its definition (as 0017 does), so both engines get the same
columns and indexes; the two columns are plain ADD COLUMNs (a NULL foreign key is one SQLite accepts).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-01T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Sub-processor engagements; disclosure.engagement; deletion_obligation.subprocessors"


def _fk(references, null: bool = False) -> ForeignKey:
    return ForeignKey(
        references=references,
        null=null,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        index=True,
    )


def _text(length: int | None = None):
    return (
        Text(null=True, default=None) if length is None else Varchar(length=length, null=True, default=None)
    )


class Vendor(Table, tablename="vendor"):
    id = Serial(primary_key=True)


class Contract(Table, tablename="contract"):
    id = Serial(primary_key=True)


class SubprocessorEngagement(Table, tablename="subprocessor_engagement"):
    engaged_by = _fk(Vendor)
    subprocessor = _fk(Vendor)
    authorisation = Varchar(length=10)
    notified_on = Date(null=True, default=None)
    objection_deadline = Date(null=True, default=None)
    objected_on = Date(null=True, default=None)
    objection_reason = _text()
    objected_by = _text(120)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    ended_reason = _text()
    flow_down_contract = _fk(Contract, null=True)
    processor_contract = _fk(Contract, null=True)
    notes = _text()
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


_PARAMS = {
    "primary_key": False,
    "unique": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create():
        SubprocessorEngagement._meta.db = engine_finder()  # the database being migrated
        await SubprocessorEngagement.create_table()

    manager.add_raw(create)
    manager.add_column(
        table_class_name="Disclosure",
        tablename="disclosure",
        column_name="engagement",
        db_column_name="engagement",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            **_PARAMS,
            "references": SubprocessorEngagement,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.restrict,
            "null": True,
            "default": None,
            "index": True,
        },
        schema=None,
    )
    manager.add_column(
        table_class_name="DeletionObligation",
        tablename="deletion_obligation",
        column_name="subprocessors",
        db_column_name="subprocessors",
        column_class_name="JSON",
        column_class=JSON,
        params={**_PARAMS, "null": False, "default": "[]", "index": False},
        schema=None,
    )
    return manager
