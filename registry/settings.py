"""Settings read from the environment (prefix ``REGISTRY_``)."""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_request_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    max_upload_bytes: int = Field(default=20 * 1_048_576, ge=1024, le=1024 * 1_048_576)
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
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
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$",
        description="Where the public verification page is reached; printed in the attestation QR code.",
    )
    signing_key_file: str = Field(default="signing/key.pem", description="PEM private key (ECDSA or RSA).")
    signing_cert_file: str = Field(default="signing/cert.pem", description="PEM certificate of that key.")
    signing_key_passphrase: SecretStr | None = Field(default=None, description="If the key is encrypted.")
    pdf_workers: int = Field(default=2, ge=1, le=32, description="Processes rendering and signing PDFs.")
    lookup_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        le=4 * 1024**3,
        description="Lookup answers each worker keeps, valid until the next write; 0 disables.",
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
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    access_log: bool = Field(
        default=False,
        description="A line per request on stdout (uvicorn's access log). Off by default, as in gunicorn: "
        "the reverse proxy in front usually keeps that log, and here it costs about a fifth of a cached "
        "lookup's throughput.",
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

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")


@lru_cache
def get_settings() -> Settings:
    return Settings()
