"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the mail tests.

``SmtpServer`` runs aiosmtpd's ``Controller`` (its own thread and event loop) on a free port; with
``tls=True`` it offers STARTTLS with a self-signed certificate (made here with ``cryptography``) and
requires it, and with ``users`` it requires AUTH. ``Mailbox`` is one test's view of it: the settings
that point the registry at it, and ``await mailbox.wait_for(to=...)``, a wait with a deadline.
"""

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from registry.settings import Settings

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on (until someone binds it)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key (PEM files): the server's, and the CA file
    the registry trusts (REGISTRY_SMTP_CA_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test SMTP server")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class _Keeper:
    """aiosmtpd's handler: keeps every message it accepts (envelope recipients and the raw bytes)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.received.append(
                (list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content))
            )
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on a loopback port: plain, or STARTTLS required (``tls``), with AUTH (``users``)."""

    def __init__(
        self, port: int | None = None, *, tls: tuple[Path, Path] | None = None, users=None, utf8: bool = True
    ) -> None:
        self.port = port or free_port()
        self.keeper = _Keeper()
        self.users: dict[str, str] = dict(users or {})
        self.ca_file = str(tls[0]) if tls else None
        options = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            options.update(tls_context=context, require_starttls=True)
        if self.users:
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=bool(tls))
        self.controller = Controller(
            self.keeper, hostname=HOST, port=self.port, enable_SMTPUTF8=utf8, **options
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        # handled=False on failure: aiosmtpd then answers 535 itself.
        return (
            AuthResult(success=True, auth_data=auth_data) if ok else AuthResult(success=False, handled=False)
        )

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def count(self) -> int:
        with self.keeper.lock:
            return len(self.keeper.received)

    def messages(self, since: int = 0) -> list[tuple[list[str], EmailMessage]]:
        with self.keeper.lock:
            kept = self.keeper.received[since:]
        return [(to, message_from_bytes(raw, policy=policy.default)) for to, raw in kept]


class Mailbox:
    """One test's view of a server: what arrived since the test began, and settings that send there."""

    def __init__(self, server: SmtpServer, *, user: str | None = None, password: str | None = None) -> None:
        self.server = server
        self.start = server.count()
        self.user, self.password = user, password

    @property
    def settings(self) -> dict:
        """Overrides for ``Settings.model_copy(update=...)`` that point the registry at this server."""
        values = {
            "smtp_host": HOST,
            "smtp_port": self.server.port,
            "smtp_security": "starttls" if self.server.ca_file else "none",
            "smtp_ca_file": self.server.ca_file,
            "smtp_from": "Processor Registry <registry@example.org>",
            "smtp_timeout_seconds": 5.0,
            "mail_poll_seconds": 0.1,
            "mail_retry_base_seconds": 0.2,
        }
        if self.user:
            values.update(smtp_user=self.user, smtp_password=SecretStr(self.password or ""))
        return values

    def env(self) -> dict[str, str]:
        """The same as REGISTRY_* environment variables, for a `registry serve` or a CLI run."""
        shown = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in self.settings.items()}
        return {f"REGISTRY_{k.upper()}": str(v) for k, v in shown.items() if v is not None}

    def received(self, to: str | None = None) -> list[EmailMessage]:
        return [m for rcpts, m in self.server.messages(self.start) if to is None or to in rcpts]

    async def wait_for(
        self,
        to: str | None = None,
        *,
        count: int = 1,
        timeout: float = 30.0,  # noqa: ASYNC109 - a deadline, read at every poll
    ) -> list[EmailMessage]:
        """At least ``count`` messages to ``to`` (any recipient if None), or AssertionError at the deadline."""
        deadline = time.monotonic() + timeout
        while len(found := self.received(to)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} message(s) to {to} arrived in {timeout:g} s")
            await asyncio.sleep(0.05)
        return found


def settings_with_mail(settings: Settings, mailbox: Mailbox, **more) -> Settings:
    """``settings`` sending through ``mailbox``'s server (for the portal's and later tests)."""
    return settings.model_copy(update={**mailbox.settings, **more})
