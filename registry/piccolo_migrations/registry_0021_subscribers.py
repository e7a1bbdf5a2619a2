"""Change notices to customers (registry/notices/): subscribers of the public sub-processor list, the
notices sent to each, their links (hashes only) and their objections. Only new tables; depends on 0017.

The tables are created from frozen copies of their definitions here (not from registry/tables.py, which
will change again), through Piccolo's own CREATE TABLE, so both engines get the same columns and indexes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Boolean, Date, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-01T23:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Sub-processor list subscribers, change notices, their links and objections"


def _fk(references, null: bool = False, unique: bool = False) -> ForeignKey:
    return ForeignKey(
        references=references,
        null=null,
        default=None,
        on_delete=OnDelete.restrict,
        on_update=OnUpdate.restrict,
        index=not unique,
        unique=unique,
    )


class Subscriber(Table, tablename="subscriber"):
    email = Varchar(length=320, null=True, default=None, unique=True)
    state = Varchar(length=20, default="pending", index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    confirmed_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)


class SubprocessorNotice(Table, tablename="subprocessor_notice"):
    subscriber = _fk(Subscriber)
    change_key = Varchar(length=200)
    notice_key = Varchar(length=250, unique=True)
    change = Varchar(length=20)
    vendor_name = Varchar(length=200)
    summary = Text(default="")
    effective_on = Date()
    short_notice = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class SubscriberToken(Table, tablename="subscriber_token"):
    subscriber = _fk(Subscriber)
    purpose = Varchar(length=20)
    notice = _fk(SubprocessorNotice, null=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class NoticeObjection(Table, tablename="notice_objection"):
    notice = _fk(SubprocessorNotice, unique=True)
    subscriber = _fk(Subscriber)
    reason = Text(null=True, default=None)
    late = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


NEW_TABLES = (Subscriber, SubprocessorNotice, SubscriberToken, NoticeObjection)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def create():
        engine = engine_finder()  # the database being migrated, not the one of this module's import
        for table in NEW_TABLES:
            table._meta.db = engine
            await table.create_table()

    manager.add_raw(create)
    return manager
