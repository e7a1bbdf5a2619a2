"""`registry mail`: a test message straight through SMTP, one pass over the outbox (cron), its list."""

import asyncio
import getpass
import secrets
import sys

import click

from registry.mail.schemas import MailState


@click.group()
def mail() -> None:
    """The mail outbox and the SMTP server it is sent through (REGISTRY_SMTP_*)."""


def _settings():
    from registry.cli import load_settings

    return load_settings()


@mail.command("test")
@click.argument("address")
def mail_test(address: str) -> None:
    """Send a test message to ADDRESS now, straight through SMTP (not the outbox); print the answer."""
    from registry.errors import RegistryError
    from registry.mail import smtp
    from registry.mail.outbox import check_address
    from registry.mail.service import test_message

    settings = _settings()
    if not smtp.configured(settings):
        raise click.ClickException("SMTP is not configured: set REGISTRY_SMTP_HOST (docs/configuration.md)")
    try:
        to = check_address("ADDRESS", address)
    except RegistryError as exc:
        raise click.BadParameter(exc.errors[0].message, param_hint="ADDRESS") from None
    mail_ = test_message(settings, to, f"cli:{getpass.getuser()}")
    message = smtp.build(
        settings,
        to=[to],
        cc=[],
        subject=mail_.subject,
        text=mail_.text,
        html=mail_.html,
        headers=[],
        token=secrets.token_hex(16),
    )
    answer = asyncio.run(smtp.send(settings, message, [to]))
    port = settings.smtp_port or smtp.DEFAULT_PORTS[settings.smtp_security]
    where = f"{settings.smtp_host}:{port} ({settings.smtp_security})"
    if not answer.ok:
        click.echo(f"refused by {where}: {answer.summary()}", err=True)
        sys.exit(1)
    click.echo(f"sent through {where}: {answer.summary()}")


@mail.command("send")
def mail_send() -> None:
    """Send what is due in the outbox, retries that fall due meanwhile included, then exit (for cron)."""
    import registry.app  # noqa: F401 - registers the link minters of the modules that send mail
    from registry.cli import _run
    from registry.mail import smtp
    from registry.mail.service import outbox_health
    from registry.mail.worker import MailWorker

    settings = _settings()
    if not smtp.configured(settings):
        waiting = _run(lambda: outbox_health(settings))["waiting"]
        raise click.ClickException(f"SMTP is not configured (REGISTRY_SMTP_HOST); {waiting} message(s) wait")
    tried = _run(MailWorker(settings).drain)
    health = _run(lambda: outbox_health(settings))
    click.echo(f"{tried} send attempt(s) made; {health['waiting']} waiting, {health['failed']} failed")


@mail.command("list")
@click.option("--state", type=click.Choice([s.value for s in MailState]), help="Only messages in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def mail_list(state: str | None, limit: int) -> None:
    """Messages, newest first: id, state, kind, attempts, created, recipients' domains, last answer."""
    from registry.cli import _run
    from registry.mail.service import list_messages
    from registry.mail.worker import domains

    chosen = MailState(state) if state else None
    items, total = _run(lambda: list_messages(chosen, limit=limit, with_attempts=False))
    for m in items:
        created = f"{m.created_at:%Y-%m-%d %H:%M}"
        click.echo(
            f"{m.id}\t{m.state}\t{m.kind}\t{m.attempts}\t{created}\t{domains(m.to + m.cc)}\t{m.last_answer or ''}"
        )
    click.echo(f"{len(items)} of {total} message(s)", err=True)
