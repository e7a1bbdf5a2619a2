"""The ``registry`` command: serve, migrate, keys, demo data and change-log verification."""

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click
from pydantic import ValidationError

from registry import db
from registry.auth import WriteContext
from registry.enums import Role
from registry.errors import RegistryError
from registry.faults import classify
from registry.settings import Settings


def _run(work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` against the configured database, turning registry errors into one line."""
    settings = load_settings()
    db.use_engine(db.build_engine(settings))
    try:
        return asyncio.run(work())
    except RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    except Exception as exc:
        fault = classify(exc)
        if fault is None:
            raise
        # One line instead of a traceback: the operator has a database to start, not a bug to report.
        click.echo(f"registry: cannot use the database: {fault.detail} ({fault.cause})", err=True)
        sys.exit(1)


def load_settings() -> Settings:
    """Settings from the environment, or one line per bad variable and exit status 2."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"REGISTRY_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        raise click.UsageError("invalid configuration: " + "; ".join(lines)) from None


def _cli_context() -> WriteContext:
    return WriteContext(actor=f"cli:{getpass.getuser()}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Processor Registry: vendors, contracts, disclosures and verified deletion.

    Configuration comes from REGISTRY_* environment variables (see docs/configuration.md).
    """


@main.command()
def migrate() -> None:
    """Apply the database migrations that have not run yet."""
    applied = _run(db.migrate)
    click.echo(f"applied {len(applied)} migration(s)" if applied else "database is up to date")


def _refuse_if_behind() -> None:
    pending = _run(db.pending_migrations)
    if pending:
        click.echo(
            f"registry: the database is {len(pending)} migration(s) behind; run `registry migrate` first.",
            err=True,
        )
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (refuses to start on a database whose migrations are behind)."""
    _refuse_if_behind()
    _serve(host, port, workers)


def _serve(host: str, port: int, workers: int) -> None:
    from registry.server import serve

    serve(host, port, workers)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
def create_key(name: str, role: str) -> None:
    """Create a key; its secret is printed once and never stored."""
    from registry.keys.schemas import KeyCreate
    from registry.keys.service import create_key as create

    try:
        data = KeyCreate(name=name, role=Role(role))
    except ValueError:
        raise click.BadParameter("letters, digits and . _ @ - only, at most 100", param_hint="NAME") from None
    created = _run(lambda: create(_cli_context(), data.name, data.role))
    click.echo(created.secret)
    click.echo(
        f"key {created.name!r} ({created.role.value}) created; the secret above is shown only once", err=True
    )


@keys.command("list")
def list_keys() -> None:
    """List keys (never their secrets)."""
    from registry.keys.service import list_keys as list_all

    for key in _run(list_all):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.name}\t{key.role.value}\t{key.prefix}…\t{key.created_at:%Y-%m-%d}\t{state}")


@keys.command("revoke")
@click.argument("name")
def revoke_key(name: str) -> None:
    """Revoke a key: it stops working at once; the record stays."""
    from registry.keys.service import revoke_key as revoke

    _run(lambda: revoke(_cli_context(), name))
    click.echo(f"key {name!r} revoked")


@main.group()
def people() -> None:
    """People who sign in to the web interface (/ui)."""


@people.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def create_user(name: str, role: str, password_stdin: bool) -> None:
    """Create a person; the password is asked for twice (at least 12 characters) and stored as an Argon2id hash."""
    from registry.people.service import create_person

    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    created = _run(lambda: create_person(_cli_context(), name, Role(role), password))
    click.echo(f"person {created['name']!r} ({created['role']}) created; sign in at /ui/login")


# The group's first name, kept so that scripts written against it go on working.
main.add_command(click.Group("users", commands=people.commands, hidden=True, help="Former name of `people`."))


@main.group()
def changes() -> None:
    """The tamper-evident change log."""


@changes.command("verify")
@click.option("--records", is_flag=True, help="Also compare every record with what its last change left.")
def verify_changes(records: bool) -> None:
    """Check the hash chain and every signed checkpoint; exit status 1 names what is wrong.

    With --records, also replay the change log's after-images against the current rows and name each
    record whose state no change explains (an edit made in SQL).
    """
    from registry.changes.verify import verify_chain

    settings = load_settings()
    report = _run(lambda: verify_chain(settings))
    if not report.chain_ok:
        click.echo(
            f"FAILED: change row {report.first_bad_id} {report.problem} "
            f"({report.rows} rows before it are intact)",
            err=True,
        )
    for problem in report.checkpoint_problems:
        click.echo(f"FAILED: {problem.checkpoint} {problem.problem}", err=True)
    if report.ok:
        click.echo(
            f"ok: {report.rows} change rows, chain head {report.head}, "
            f"{report.checkpoints} checkpoint(s) agree, {report.checkpoints_timestamped} timestamped "
            f"({report.checkpoint_files} file(s) read)"
        )
    failed = not report.ok
    if records:
        failed = _verify_records() or failed
    sys.exit(1 if failed else 0)


def _verify_records() -> bool:
    """Print one line per record no change explains; True when there is any."""
    from registry.changes.records import verify_records

    mismatches = _run(verify_records)
    for m in mismatches:
        click.echo(f"RECORD {m.object_type} {m.object_id}: {m.problem}", err=True)
    click.echo(f"records: {len(mismatches)} not explained by the change log" if mismatches else "records: ok")
    return bool(mismatches)


@changes.command("checkpoint")
def checkpoint_changes() -> None:
    """Sign a checkpoint of the change log's head now (database and REGISTRY_CHECKPOINT_DIR)."""
    from registry.changes.checkpoints import file_name, make_checkpoint

    settings = load_settings()
    made = _run(lambda: make_checkpoint(settings, _cli_context().actor))
    click.echo(f"checkpoint {made['id']}: {made['content']}")
    click.echo(f"file: {settings.checkpoint_dir.rstrip('/')}/{file_name(made['content'])}")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file: str) -> None:
    """Copy the SQLite database to FILE while the server runs (records, files and change log)."""
    from pathlib import Path

    from registry.backup import BackupError, backup

    try:
        size = backup(load_settings(), Path(file))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up to {file} ({size} bytes)")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def restore_command(file: str) -> None:
    """Replace the SQLite database with the backup FILE (stop the server first)."""
    from pathlib import Path

    from registry.backup import BackupError, restore

    try:
        restore(load_settings(), Path(file))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored from {file}; run `registry changes verify` to check the history")


@main.group()
def signing() -> None:
    """The key that signs attestations."""


@signing.command("init")
def signing_init() -> None:
    """Make a self-signed ECDSA P-256 key and certificate for a trial (production configures its own)."""
    from pathlib import Path

    from registry.attestations.signing import init_signing

    settings = load_settings()
    secret = settings.signing_key_passphrase
    try:
        fingerprint = init_signing(
            Path(settings.signing_key_file),
            Path(settings.signing_cert_file),
            settings.organisation_name,
            secret.get_secret_value().encode() if secret else None,
        )
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key: {settings.signing_key_file} (mode 0600)\ncertificate: {settings.signing_cert_file}")
    click.echo(f"certificate SHA-256 fingerprint: {fingerprint}")


@main.group()
def deletions() -> None:
    """Deletion obligations after contracts end."""


@deletions.command("sync")
def deletions_sync() -> None:
    """Open the obligations of contracts whose expiry date has passed (run daily from cron)."""
    from registry.deletions.service import open_expired

    opened = _run(open_expired)
    click.echo(f"opened {opened} deletion obligation(s)")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--kind",
    type=click.Choice(["vendors", "contracts", "disclosures"]),
    help="What a CSV file holds (default: guessed from its header).",
)
def import_command(file: str, dry_run: bool, kind: str | None) -> None:
    """Import vendors, contracts and disclosures from a CSV or XLSX file, all or nothing.

    Exit status 1 when any row is refused (each is printed; nothing is written).
    """
    from pathlib import Path

    from registry.imports import service
    from registry.imports.workbook import WorkbookLimits

    path = Path(file)
    settings = load_settings()
    content = path.read_bytes()
    if len(content) > settings.max_upload_bytes:
        raise click.ClickException(
            f"{file} is larger than REGISTRY_MAX_UPLOAD_BYTES ({settings.max_upload_bytes})"
        )
    content_type = service.XLSX if path.suffix.lower() == ".xlsx" else "text/csv"
    ctx = WriteContext(actor=f"cli:{getpass.getuser()}", message=f"import {path.name}")

    async def work():
        limits = WorkbookLimits.of(settings)
        sheets = await asyncio.to_thread(service.sheets_of, content, content_type, kind, limits=limits)
        with click.progressbar(
            length=service.row_count(sheets), label=f"Importing {path.name}", file=sys.stderr
        ) as bar:
            return await service.import_sheets(ctx, sheets, dry_run, bar.update)

    result = _run(work)
    for name, counts in result.counts.items():
        click.echo(
            f"{name}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
        )
    if not result.ok:
        for e in result.errors:
            where = f"{e.sheet} row {e.row}, {e.column}" if e.row else e.column
            click.echo(f"{where}: {e.rule}: {e.message}", err=True)
        click.echo(f"{len(result.errors)} problem(s); nothing was imported.", err=True)
        sys.exit(1)
    click.echo("dry run: nothing was written" if dry_run else "imported")


_SEVERITY_LABEL = {"overdue": "OVERDUE", "gap": "GAP", "due_soon": "DUE SOON"}


@main.command("remind")
@click.option("--within", default=30, show_default=True, type=click.IntRange(0, 3650), help="Days ahead.")
@click.option(
    "--review-months", default=12, show_default=True, type=click.IntRange(1, 120), help="Review interval."
)
@click.option("--emit", is_flag=True, help="Also send deletion.overdue and contract.expiring webhook events.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def remind(within: int, review_months: int, emit: bool, as_json: bool) -> None:
    """Run the scheduled jobs and print what needs attention (for a daily cron job).

    The jobs are the ones each server runs (registry/portal/scheduler.py): obligations of expired
    contracts are opened (and their vendors asked), due reminders to vendors and notices of
    sub-processor changes to subscribers are queued, each once.
    Exit status: 0 when nothing is overdue, 1 when a deletion or a backup follow-up is late.
    """
    from registry.portal import tokens
    from registry.portal.scheduler import run_jobs
    from registry.supervision.service import emit_due_events, supervision_report

    settings = load_settings()
    tokens.configure(settings)

    async def work():
        ran = await run_jobs(settings)
        report = await supervision_report(within, review_months, None, settings.first_review_grace_days)
        return report, (await emit_due_events(report) if emit else None), ran

    report, emitted, ran = _run(work)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(f"Supervision report for {report.as_of} (due within {within} days)")
        if not report.items:
            click.echo("Nothing needs attention.")
        for item in report.items:
            when = f" [{item.date}]" if item.date else ""
            click.echo(
                f"{_SEVERITY_LABEL[item.severity.value]:9} {item.kind.value:30} {item.vendor_name}: "
                f"{item.summary}{when}  {item.href}"
            )
        if emitted is not None:
            click.echo(f"{emitted} new event(s) emitted")
        click.echo(f"{ran.opened} obligation(s) opened, {ran.reminders} reminder(s) to vendors queued")
        click.echo(f"{ran.notices} notice(s) of sub-processor changes to subscribers queued")
    sys.exit(1 if report.overdue else 0)


async def _demo_person() -> tuple[str, str] | None:
    """A person 'demo' (admin) with a fresh random password, the first time only."""
    import secrets

    from registry.people.service import create_person
    from registry.tables import Person

    if await Person.exists().where(Person.name == "demo"):
        return None
    password = secrets.token_urlsafe(12)
    await create_person(_cli_context(), "demo", Role.admin, password)
    return "demo", password


@main.command()
@click.option("--serve", "then_serve", is_flag=True, help="Serve the API afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(then_serve: bool, host: str, port: int) -> None:
    """Migrate, load realistic demo data (once) and print a fresh admin key for trying the API."""
    from registry.demo import load_demo

    async def work() -> tuple[int, str, str]:
        await db.migrate()
        return await load_demo(_cli_context())

    loaded, name, secret = _run(work)
    settings = load_settings()
    from pathlib import Path

    if not Path(settings.signing_key_file).exists():
        from registry.attestations.signing import init_signing

        init_signing(
            Path(settings.signing_key_file), Path(settings.signing_cert_file), settings.organisation_name
        )
        click.echo(f"trial signing key created in {Path(settings.signing_key_file).parent}/")
    click.echo(f"demo data: {loaded} vendors added" if loaded else "demo data already present")
    click.echo(f"admin key {name!r}: {secret}")
    person = _run(_demo_person)
    if person:
        click.echo(f"web interface: http://{host}:{port}/ui/ - sign in as {person[0]!r} with {person[1]}")
    else:
        click.echo(
            f"web interface: http://{host}:{port}/ui/ - sign in as 'demo' (password shown the first time)"
        )
    if then_serve:
        click.echo(f"try: curl -H 'Authorization: Bearer {secret}' http://{host}:{port}/vendors")
        _serve(host, port, 1)


@main.group()
def webhooks() -> None:
    """Webhook endpoints and the worker that delivers their events."""


@webhooks.command("list")
def list_webhooks() -> None:
    """List webhooks (never their secrets)."""
    from registry.webhooks.service import list_webhooks as list_all

    for hook in _run(list_all):
        state = f"disabled {hook.disabled_at:%Y-%m-%d}" if hook.disabled_at else "enabled"
        click.echo(f"{hook.id}\t{state}\t{hook.url}\t{','.join(hook.events)}")


@webhooks.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then exit; otherwise run until stopped.")
def deliver_webhooks(once: bool) -> None:
    """Send due deliveries, beside or instead of the servers' own workers (REGISTRY_WEBHOOK_WORKER)."""
    import signal

    from piccolo.engine.postgres import PostgresEngine

    from registry.webhooks.worker import DeliveryWorker

    worker = DeliveryWorker(load_settings())

    async def forever() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        engine = db.current_engine()
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(max_size=2)
        try:
            await worker.run(stop)
        finally:
            if isinstance(engine, PostgresEngine):
                await engine.close_connection_pool()

    if once:
        click.echo(f"{_run(worker.drain)} delivery attempt(s) made")
    else:
        _run(forever)


@main.group()
def fides() -> None:
    """Vendors and their disclosures as Fides (fideslang) system resources, in YAML."""


@fides.command("export")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only disclosures valid that day.")
def fides_export(as_of) -> None:
    """Print the manifest: one system per vendor, one privacy declaration per disclosure."""
    from registry.interop.service import export_manifest

    click.echo(_run(lambda: export_manifest(as_of.date() if as_of else None)), nl=False)


@fides.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every system and report; write nothing.")
def fides_import(file: str, dry_run: bool) -> None:
    """Import a manifest's systems as vendors and disclosures, all or nothing (exit status 1 if refused)."""
    from pathlib import Path

    from registry.interop.service import import_manifest

    path = Path(file)
    limit = load_settings().max_upload_bytes
    if path.stat().st_size > limit:
        raise click.ClickException(f"{file} is larger than REGISTRY_MAX_UPLOAD_BYTES ({limit})")
    ctx = WriteContext(actor=f"cli:{getpass.getuser()}", message=f"import {path.name}")
    result = _run(lambda: import_manifest(ctx, path.read_bytes(), dry_run))
    for name in ("vendors", "disclosures"):
        c = result.counts[name]
        click.echo(f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged")
    for e in result.errors:
        click.echo(f"{e.column}: {e.rule}: {e.message}", err=True)
    if not result.ok:
        click.echo(f"{len(result.errors)} problem(s); nothing was imported.", err=True)
        sys.exit(1)
    click.echo("dry run: nothing was written" if dry_run else "imported")


# The mail group lives with the outbox (registry/mail/cli.py); imported last, as it imports this module.
from registry.mail.cli import mail  # noqa: E402

main.add_command(mail)
