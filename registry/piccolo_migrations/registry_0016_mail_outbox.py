"""The mail outbox (registry/mail/): messages written in the transaction that causes them, and each
try at sending one with the SMTP server's answer. Depends on no other new table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, BigInt, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-01T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Mail outbox: messages and their sending attempts"


class MailMessage(Table, tablename="mail_message", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


_NULL_TEXT = {"default": None, "null": True}
# table -> [(name, column class, its own params)]; written out as Piccolo's auto migrations would.
_COLUMNS = {
    ("MailMessage", "mail_message"): [
        ("kind", Varchar, {"length": 40, "default": ""}),
        ("recipients", JSON, {"default": "[]"}),
        ("cc", JSON, {"default": "[]"}),
        ("subject", Varchar, {"length": 998, "default": ""}),
        ("text", Text, {"default": ""}),
        ("html", Text, _NULL_TEXT),
        ("headers", JSON, {"default": "[]"}),
        ("about_type", Varchar, {"length": 40, "index": True, **_NULL_TEXT}),
        ("about_id", BigInt, {"index": True, **_NULL_TEXT}),
        ("minter", Varchar, {"length": 60, **_NULL_TEXT}),
        ("message_id", Varchar, {"length": 250, "default": ""}),
        ("status", Varchar, {"length": 20, "default": "waiting", "index": True}),
        ("attempts", Integer, {"default": 0}),
        ("next_attempt_ms", BigInt, {"default": 0, "index": True}),
        ("lease_until_ms", BigInt, {"default": 0}),
        ("last_answer", Varchar, {"length": 1000, **_NULL_TEXT}),
        ("created_at", Timestamptz, {"default": TimestamptzNow()}),
        ("sent_at", Timestamptz, _NULL_TEXT),
    ],
    ("MailAttempt", "mail_attempt"): [
        (
            "message",
            ForeignKey,
            {
                "references": MailMessage,
                "on_delete": OnDelete.restrict,
                "on_update": OnUpdate.restrict,
                "target_column": None,
                "default": None,
                "index": True,
            },
        ),
        ("attempted_at", Timestamptz, {"default": TimestamptzNow()}),
        ("duration_ms", Integer, {"default": 0}),
        ("code", Integer, _NULL_TEXT),
        ("answer", Varchar, {"length": 1000, **_NULL_TEXT}),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)
    for class_name, tablename in _COLUMNS:
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for (class_name, tablename), columns in _COLUMNS.items():
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
