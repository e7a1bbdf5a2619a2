"""Settings read from the environment (prefix ``REGISTRY_``)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_URL = "http://127.0.0.1:8000"  # the public address outside `registry serve` when none is set


class Settings(BaseSettings):
    """Everything an operator can configure; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///registry.sqlite3",
        description="sqlite:///path/to/file.sqlite3 or postgresql://user:pass@host:port/db",
    )
    organisation_name: str = Field(
        default="Example Controller Ltd",
        min_length=1,
        max_length=200,
        description="The controller named on documents the registry issues.",
    )
    origin_country: str = Field(
        default="CN",
        pattern="^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 code of where personal data leaves from when a disclosure names no "
        "origin; a disclosure to another country is an international transfer.",
    )
    max_request_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=500,
        description="How deep arrays and objects may nest in a JSON body; deeper is a 400 (json_depth).",
    )
    max_upload_bytes: int = Field(default=20 * 1_048_576, ge=1024, le=1024 * 1_048_576)
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    sqlite_kept_connections: int = Field(
        default=32,
        ge=0,
        le=64,
        description="SQLite: connections a server keeps open for its next queries (0: one per query).",
    )
    postgres_pool_max_size: int = Field(default=10, ge=1, le=200)
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=600, description="PostgreSQL: how long opening one connection may take."
    )
    db_statement_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="PostgreSQL: how long one statement may run (the server's statement_timeout; the client "
        "gives up a second later, which also catches a server that does not answer at all).",
    )
    db_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="PostgreSQL: how long a request waits for a pooled connection (connecting included).",
    )
    public_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$",
        description="Where the public verification page is reached; printed in the attestation QR code. "
        "Unset: the address `registry serve` listens on (http://host:port), else " + LOCAL_URL + ".",
    )
    attestation_requires_evidence: bool = Field(
        default=False,
        description="Refuse to attest a deletion report that has no evidence file (contracts can require it too).",
    )
    signing_key_file: str = Field(default="signing/key.pem", description="PEM private key (ECDSA or RSA).")
    signing_cert_file: str = Field(default="signing/cert.pem", description="PEM certificate of that key.")
    signing_key_passphrase: SecretStr | None = Field(default=None, description="If the key is encrypted.")
    # RFC 3161 timestamps of attestation signatures and checkpoints (docs/deployment.md)
    tsa_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="A timestamp authority (RFC 3161 over HTTP): each attestation signature is timestamped "
        "and carries its validation data (PAdES B-LT), and each checkpoint gets a token. Unset: PAdES B-B.",
    )
    tsa_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long one timestamp request may take before issuing fails.",
    )
    tsa_ca_file: str | None = Field(
        default=None,
        description="PEM certificates of the timestamp authority's roots; unset, the system's trust list.",
    )
    pdf_workers: int = Field(default=2, ge=1, le=32, description="Processes rendering and signing PDFs.")
    lookup_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        le=4 * 1024**3,
        description="Lookup answers each worker keeps, valid until the next write; 0 disables.",
    )
    first_review_grace_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="A new vendor's first review falls due this many days after it was added "
        "(the supervision report, the dashboard and `registry remind`).",
    )
    lookup_index: bool = Field(
        default=True,
        description="Each worker answers lookups from disclosures kept in memory; false: from SQL queries.",
    )
    login_attempts_per_minute: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Sign-in attempts per client address, and per name, a minute.",
    )
    verify_rate_per_minute: int = Field(
        default=30, ge=1, le=100_000, description="Public verification requests per client address a minute."
    )
    # Imports (docs/imports.md): an XLSX file is a zip, checked part by part before it is parsed.
    import_max_inflated_bytes: int = Field(
        default=200 * 1_048_576, ge=1024, le=4 * 1024**3, description="An XLSX workbook, all parts inflated."
    )
    import_max_part_bytes: int = Field(
        default=64 * 1_048_576, ge=1024, le=4 * 1024**3, description="One part of it (a worksheet) inflated."
    )
    import_max_shared_strings_bytes: int = Field(
        default=32 * 1_048_576, ge=1024, le=4 * 1024**3, description="Its shared strings part inflated."
    )
    import_max_shared_strings: int = Field(
        default=500_000, ge=1, le=100_000_000, description="Shared strings (distinct texts) in a workbook."
    )
    # Signed checkpoints of the change log (docs/security.md)
    checkpoint_interval_seconds: float = Field(
        default=3600,
        ge=0,
        le=7 * 86400,
        description="How often the servers sign a checkpoint of the change log's head; 0 disables.",
    )
    checkpoint_dir: str = Field(
        default="checkpoints",
        min_length=1,
        description="Directory each checkpoint is also written to, one JSON file each: put it on other storage.",
    )
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    access_log: bool = Field(
        default=False,
        description="A line per request on stdout (uvicorn's access log). Off by default, as in gunicorn: "
        "the reverse proxy in front usually keeps that log, and here it costs about a fifth of a cached "
        "lookup's throughput.",
    )
    idempotency_ttl_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 90,
        description="How long the answer to a write made under an Idempotency-Key is kept for its retries.",
    )
    keep_alive_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="`registry serve` closes a keep-alive connection idle this long between requests.",
    )
    worker_healthcheck_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="`registry serve --workers N`: a worker that does not answer the supervisor's ping this "
        "long (starting included) is killed and replaced.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="`registry serve` closes a connection whose request head (request line and headers) "
        "is not complete this long after the connection opened or after its previous response.",
    )
    # Webhooks (docs/webhooks.md)
    webhook_key_file: str = Field(
        default="signing/webhook.key",
        description="Server key the webhook signing secrets are derived from; made (32 random bytes) if missing.",
    )
    webhook_worker: bool = Field(
        default=True,
        description="Each `registry serve` process delivers webhooks; false leaves it to the CLI.",
    )
    webhook_poll_seconds: float = Field(
        default=2.0, ge=0.05, le=300, description="How often an idle worker looks for due deliveries."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="How long one delivery may take before it counts as failed."
    )
    webhook_retry_base_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Wait before the first retry; doubles with each retry."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=30, description="Tries before a delivery is marked failed."
    )
    # The vendor portal and reminders (docs/portal.md)
    portal_token_days: int = Field(
        default=30, ge=1, le=365, description="How long a link in an e-mail to a vendor opens its request."
    )
    portal_requests_per_minute: int = Field(
        default=30,
        ge=1,
        le=10_000,
        description="Portal pages per client address a minute (bounds guessing of links).",
    )
    portal_legal_team_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="The internal owner of vendor requests: vendors' questions and requests for more time "
        "are e-mailed here, and it is copied on escalations. Unset: they show on the deletion's page only.",
    )
    reminder_days_before: int = Field(
        default=7, ge=1, le=90, description="A reminder this many days before a request's due date."
    )
    reminder_overdue_every_days: int = Field(
        default=5, ge=1, le=90, description="While a request is overdue, a reminder every this many days."
    )
    reminder_escalate_after_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="Overdue this many days: reminders also go to the vendor's other contact and the "
        "internal owner (cc).",
    )
    # Change notices to subscribers of the public sub-processor list (docs/notices.md)
    subprocessor_notice_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="Subscribers are e-mailed a change to the sub-processor list this many days before it "
        "takes effect; a change recorded with less notice is sent at once, flagged short notice.",
    )
    subscription_confirm_days: int = Field(
        default=7,
        ge=1,
        le=60,
        description="How long a subscription's confirmation link works; an unconfirmed address is erased after.",
    )
    subscriber_link_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="How long the objection and unsubscribe links in a notice work.",
    )
    scheduler_interval_seconds: float = Field(
        default=300,
        ge=0,
        le=86400,
        description="How often each server opens expired contracts' obligations and queues due reminders "
        "(leased: one server at a time); 0 leaves it to `registry remind` from cron.",
    )

    # Mail (docs/configuration.md): the outbox is sent through this SMTP server; unset, messages wait.
    smtp_host: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description="SMTP server that sends the outbox; unset, messages wait in it and the dashboard says so.",
    )
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="Unset: 587 for starttls, 465 for tls, 25 for none."
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls: plain connection upgraded with STARTTLS (required); tls: TLS from the start "
        "(SMTPS); none: no encryption (a relay on the same host only).",
    )
    smtp_user: str | None = Field(default=None, min_length=1, description="Log in as this user (AUTH).")
    smtp_password: SecretStr | None = Field(default=None, description="That user's password.")
    smtp_from: str = Field(
        default="processor-registry@localhost",
        min_length=3,
        max_length=320,
        pattern=r"^[^\r\n]+$",
        description="The From address of every message: an address, or a display name and <address>.",
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="How long connecting, and each SMTP command, may take."
    )
    smtp_ca_file: str | None = Field(
        default=None,
        description="PEM certificates the SMTP server's is checked against; unset, the system's.",
    )
    mail_worker: bool = Field(
        default=True,
        description="Each `registry serve` process sends the outbox; false leaves it to the CLI.",
    )
    mail_poll_seconds: float = Field(
        default=5.0, ge=0.05, le=300, description="How often an idle mail worker looks for due messages."
    )
    mail_retry_base_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Wait before the first retry of a message; doubles each time.",
    )
    mail_max_attempts: int = Field(default=8, ge=1, le=30, description="Tries before a message is failed.")

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _one_sender(cls, value: str) -> str:
        from email.utils import getaddresses

        found = getaddresses([value])
        local, _, domain = found[0][1].rpartition("@") if len(found) == 1 else ("", "", "")
        if not local or not domain or any(ch.isspace() for ch in found[0][1]):
            raise ValueError("must be one address: registry@example.org or Name <registry@example.org>")
        return value

    @property
    def document_base_url(self) -> str:
        """The address printed on documents and in feeds, without a trailing slash."""
        return (self.public_base_url or LOCAL_URL).rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")


@lru_cache
def get_settings() -> Settings:
    return Settings()
