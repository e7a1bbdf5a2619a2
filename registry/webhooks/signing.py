"""Webhook secrets and signatures (the Standard Webhooks scheme).

A webhook's secret is never stored: it is the HMAC of the webhook's random salt under the server's
webhook key, a file outside the database. A copy of the database alone cannot sign a delivery.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook as StandardWebhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
KEY_BYTES = 32
_keys: dict[str, bytes] = {}


def server_key(path: str | Path) -> bytes:
    """The server's webhook key, made on first use (32 random bytes, mode 0600)."""
    name = str(path)
    if name not in _keys:
        _keys[name] = _read_or_create(Path(name))
    return _keys[name]


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written whole under a temporary name, then linked: a process that loses the race to create
        # the key reads the winner's, never a half-written file.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise RuntimeError(f"webhook key {path} holds {len(key)} bytes; it needs at least {KEY_BYTES}")
    return key


def new_salt() -> str:
    return secrets.token_hex(32)


def secret_for(key: bytes, salt: str) -> str:
    """The signing secret of the webhook with this salt, as shown to its owner."""
    digest = hmac.new(key, salt.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode()


def event_body(event_id: int, payload: dict[str, Any]) -> str:
    """What is sent: the event's payload (type, created_at, data) with its id first."""
    return json.dumps({"id": message_id(event_id), **payload}, separators=(",", ":"), ensure_ascii=False)


def message_id(event_id: int) -> str:
    return f"evt_{event_id}"


def signed_headers(secret: str, msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for one send of ``body``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": StandardWebhook(secret).sign(msg_id, timestamp, body),
    }
