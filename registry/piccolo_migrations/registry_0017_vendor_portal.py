"""The vendor portal (registry/portal/): requests to vendors, portal tokens (hashes only), what vendors
submit, the reminder steps sent, and the scheduler's job leases. Only new tables; depends on 0016.

The tables are created from frozen copies of their definitions here (not from registry/tables.py, which
will change again), through Piccolo's own CREATE TABLE, so both engines get the same columns and indexes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSON, BigInt, Date, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-01T21:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Vendor portal: requests, tokens, submissions, reminders, job leases"


def _fk(references, index: bool = True) -> ForeignKey:
    return ForeignKey(
        references=references,
        null=False,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        index=index,
    )


def _text(length: int | None = None):
    return (
        Text(null=True, default=None) if length is None else Varchar(length=length, null=True, default=None)
    )


class Vendor(Table, tablename="vendor"):
    id = Serial(primary_key=True)


class DeletionObligation(Table, tablename="deletion_obligation"):
    id = Serial(primary_key=True)


class VendorRequest(Table, tablename="vendor_request"):
    obligation = _fk(DeletionObligation)
    vendor = _fk(Vendor)
    kind = Varchar(length=20, default="deletion")
    state = Varchar(length=20, index=True)
    recipient = _text(320)
    due_on = Date()
    opened_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    return_reasons = _text()
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Varchar(length=120)
    updated_at = Timestamptz(default=TimestamptzNow())


class PortalToken(Table, tablename="portal_token"):
    request = _fk(VendorRequest)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class PortalSubmission(Table, tablename="portal_submission"):
    request = _fk(VendorRequest)
    kind = Varchar(length=20)
    state = Varchar(length=20, default="submitted")
    data = JSON(default={})
    declaration = JSON(null=True, default=None)
    files = JSON(default=[])
    email = Varchar(length=320)
    client_address = _text(100)
    user_agent = _text(500)
    created_at = Timestamptz(default=TimestamptzNow())
    reviewed_at = Timestamptz(null=True, default=None)
    reviewed_by = _text(120)
    review_reasons = _text()


class RequestReminder(Table, tablename="request_reminder"):
    request = _fk(VendorRequest)
    step = Varchar(length=40)
    step_key = Varchar(length=100, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class JobLease(Table, tablename="job_lease"):
    name = Varchar(length=60, unique=True)
    holder = Varchar(length=100)
    until_ms = BigInt(default=0)


NEW_TABLES = (VendorRequest, PortalToken, PortalSubmission, RequestReminder, JobLease)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create():
        engine = engine_finder()  # the database being migrated, not the one of this module's import
        for table in NEW_TABLES:
            table._meta.db = engine
            await table.create_table()

    manager.add_raw(create)
    return manager
