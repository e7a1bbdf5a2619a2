"""One message as MIME, and one SMTP conversation that sends it (aiosmtplib), with the server's answer."""

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

import aiosmtplib

from registry import clock
from registry.settings import Settings

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
MAX_ANSWER = 1000


@dataclass
class Answer:
    """What the SMTP server said to one attempt (its reply code and text), or why there was no reply."""

    code: int | None
    text: str
    duration_ms: int = 0
    # A 5xx to the sender, a recipient or the data: sending it again would get the same answer.
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    def summary(self) -> str:
        return (f"{self.code} {self.text}" if self.code is not None else self.text)[:MAX_ANSWER]


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def sender_address(settings: Settings) -> str:
    """The bare address of REGISTRY_SMTP_FROM (the envelope's MAIL FROM); settings checked it is one."""
    return getaddresses([settings.smtp_from])[0][1]


def build(
    settings: Settings,
    *,
    to: list[str],
    cc: list[str],
    subject: str,
    text: str,
    html: str | None,
    headers: list[list[str]] | list[tuple[str, str]],
    token: str,
) -> EmailMessage:
    """multipart/alternative (text, then HTML) when there is HTML, else text/plain; UTF-8 throughout."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    domain = sender_address(settings).rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{token}@{domain}>"
    for name, value in headers:
        message[name] = value
    message.set_content(text, cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


@functools.cache
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The default context (certificates and host names checked), trusting ``ca_file`` if given."""
    return ssl.create_default_context(cafile=ca_file)


def _client(settings: Settings) -> aiosmtplib.SMTP:
    security = settings.smtp_security
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port or DEFAULT_PORTS[security],
        timeout=settings.smtp_timeout_seconds,
        use_tls=security == "tls",
        start_tls=True if security == "starttls" else False,
        tls_context=_tls_context(settings.smtp_ca_file) if security != "none" else None,
        username=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )


def attempt_limit(settings: Settings) -> float:
    """The longest one conversation may last: connect, STARTTLS, AUTH, MAIL, RCPT…, DATA, QUIT."""
    return 6 * settings.smtp_timeout_seconds


async def send(settings: Settings, message: EmailMessage, recipients: list[str]) -> Answer:
    """Send ``message`` to ``recipients`` (To and Cc); the answer to DATA, or the error on the way."""
    started = time.monotonic()
    answer = await _converse(settings, message, recipients)
    answer.duration_ms = int((time.monotonic() - started) * 1000)
    return answer


async def _converse(settings: Settings, message: EmailMessage, recipients: list[str]) -> Answer:
    if not configured(settings):
        return Answer(None, "SMTP is not configured (REGISTRY_SMTP_HOST)")
    smtp = _client(settings)
    try:
        async with asyncio.timeout(attempt_limit(settings)):
            await smtp.connect()
            try:
                return await _transaction(smtp, sender_address(settings), message, recipients)
            finally:
                await _quit(smtp)
    except aiosmtplib.SMTPResponseException as exc:  # AUTH refused, HELO refused, a 4xx/5xx reply
        return Answer(exc.code, _text(exc.message))
    except (TimeoutError, aiosmtplib.SMTPTimeoutError):
        return Answer(None, f"timed out (REGISTRY_SMTP_TIMEOUT_SECONDS={settings.smtp_timeout_seconds:g})")
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return Answer(None, f"{type(exc).__name__}: {_text(str(exc))}")


async def _transaction(
    smtp: aiosmtplib.SMTP, sender: str, message: EmailMessage, recipients: list[str]
) -> Answer:
    """MAIL FROM, RCPT TO for each recipient, DATA: the reply to DATA, or the first refusal."""
    utf8 = not all(address.isascii() for address in recipients)
    if utf8:
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        if not smtp.supports_extension("smtputf8"):
            return Answer(
                None,
                "the SMTP server does not offer SMTPUTF8, which a non-ASCII address needs",
                permanent=True,
            )
    try:
        encoding = "utf-8" if utf8 else "ascii"
        await smtp.mail(sender, options=["SMTPUTF8"] if utf8 else None, encoding=encoding)
        refused = []
        for recipient in recipients:
            try:
                await smtp.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(exc)
        if len(refused) == len(recipients):
            first = refused[0]
            return Answer(first.code, _text(first.message), permanent=first.code >= 500)
        reply = await smtp.data(message.as_bytes(policy=message.policy.clone(utf8=utf8)))
    except aiosmtplib.SMTPResponseException as exc:
        return Answer(exc.code, _text(exc.message), permanent=exc.code >= 500)
    text = _text(reply.message)
    if refused:  # sent to the others: a retry would send it to them again
        text += f"; refused {len(refused)} recipient(s): {refused[0].code} {_text(refused[0].message)}"
    return Answer(reply.code, text)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()  # the message is sent or not by now; a rude goodbye changes nothing


def _text(message: str) -> str:
    return " ".join(message.split())[:MAX_ANSWER]
