"""Signed checkpoints of the change log: its head (id, hash, rows up to it) at a moment, signed with the
registry's key and kept twice, in the database and as a file in a directory outside it.

A checkpoint is about the log, not in it: making one writes no change row, so it moves no head and
empties no cache (registry/head.py). Rewriting the log after a checkpoint (removing its tail, or editing
a row and hashing every later row again) changes the row a checkpoint names; forging the checkpoint too
takes the signing key, and deleting it from the database leaves its file.
"""

import base64
import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from registry import db, timestamps
from registry.changes.schemas import CheckpointRead
from registry.changes.service import GENESIS, canonical
from registry.errors import RegistryError, unavailable
from registry.settings import Settings
from registry.tables import Change, Checkpoint

FORMAT = 1
# Held while a checkpoint is made, so that two servers due at once make one (SQLite's IMMEDIATE
# transaction already serialises them).
_CHECKPOINT_LOCK = 724_050_102


class SigningUnavailable(RegistryError):
    """Checkpoints cannot be made: the signing key, its certificate or the directory is unusable."""


def _unavailable(what: str) -> RegistryError:
    return unavailable(f"checkpoints: {what}", SigningUnavailable)


@cache
def _private_key(key_file: str, passphrase: bytes | None) -> Any:
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), passphrase)
    except Exception:  # noqa: BLE001 - the message must not carry key material
        raise _unavailable("the signing key could not be loaded (file, format or passphrase)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise _unavailable("the signing key is neither ECDSA nor RSA")
    return key


def parse(text: str) -> dict | None:
    """A checkpoint's JSON object, or None for anything else (its text is not trusted: a database
    administrator or anyone with the directory can write it, nested past Python's recursion limit too)."""
    try:
        fields = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return fields if isinstance(fields, dict) else None


def certificate(cert_file: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    except (OSError, ValueError):
        raise _unavailable(f"the certificate {cert_file} could not be read") from None


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _algorithm(key: Any) -> str:
    return (
        "ecdsa-sha256"
        if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
        else "rsa-pkcs1v15-sha256"
    )


def _sign(key: Any, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def signature_problem(content: str, signature: str, cert: x509.Certificate) -> str | None:
    """Why ``signature`` is not the certificate's signature over ``content`` (None when it is)."""
    fields = parse(content)
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        fields = None
    if fields is None:
        return "cannot be read (not a JSON object, or the signature is not base64)"
    if fields.get("certificate_sha256") != fingerprint(cert):
        return "names another certificate than the registry's"
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, content.encode(), ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, content.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            return "the certificate's key is neither ECDSA nor RSA"
    except InvalidSignature:
        return "its signature does not verify (forged or altered)"
    return None


def _signer(settings: Settings) -> tuple[Any, str]:
    secret = settings.signing_key_passphrase
    key = _private_key(settings.signing_key_file, secret.get_secret_value().encode() if secret else None)
    cert = certificate(settings.signing_cert_file)
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise _unavailable("the signing key and certificate do not belong together")
    return key, fingerprint(cert)


async def make_checkpoint(settings: Settings, made_by: str, interval: float | None = None) -> dict | None:
    """Sign the log's head now, keep it in the database, then write its file; returns the record.

    With ``interval`` (the background job), nothing is made when a checkpoint is younger than that or
    the head has not moved since the newest one: the lock and the re-check make one per interval."""
    key, cert_sha256 = _signer(settings)
    directory = Path(settings.checkpoint_dir)
    _writable(directory)  # before the database row: a checkpoint is never kept once only
    async with db.write_transaction():
        if not db.is_sqlite():
            await Change.raw("SELECT pg_advisory_xact_lock({})", _CHECKPOINT_LOCK)
        head = await Change.select(Change.id, Change.hash).order_by(Change.id, ascending=False).first()
        head = head or {"id": 0, "hash": GENESIS}
        if interval is not None and not await _due(interval, head["id"]):
            return None
        rows = await Change.count().where(Change.id <= head["id"])
        now = datetime.now(UTC)
        content = _content(head, rows, now, key, cert_sha256, made_by)
        signature = base64.b64encode(_sign(key, content.encode())).decode()
        inserted = await Checkpoint.insert(
            Checkpoint(change_id=head["id"], created_at=now, content=content, signature=signature)
        ).returning(Checkpoint.id)
    record = {"id": inserted[0]["id"], "content": content, "signature": signature, "timestamp_token": None}
    try:
        record["timestamp_token"] = await _timestamp(settings, record["id"], signature)
    finally:
        # After the commit: a file is never left for a checkpoint the database does not hold. A TSA that
        # fails leaves the checkpoint signed but untimestamped (and the error raised): it still counts.
        _write_or_refuse(directory, record)
    return record


def _write_or_refuse(directory: Path, record: dict) -> None:
    try:
        write_file(directory, record["content"], record["signature"], record["timestamp_token"])
    except OSError as exc:
        raise _unavailable(
            f"checkpoint {record['id']} is in the database, but its file could not be written to "
            f"{directory} ({exc.strerror or exc})"
        ) from None


async def _timestamp(settings: Settings, checkpoint_id: int, signature: str) -> str | None:
    """A token over the signature's bytes, outside any transaction (a TSA round trip), then stored."""
    if not settings.tsa_url:
        return None
    outcome = f"checkpoint {checkpoint_id} is kept, signed but not timestamped"
    token = await timestamps.request_token(settings, base64.b64decode(signature), outcome)
    async with db.write_transaction():
        await Checkpoint.update({Checkpoint.timestamp_token: token}).where(Checkpoint.id == checkpoint_id)
    return token


def _content(head: dict, rows: int, now: datetime, key: Any, cert_sha256: str, made_by: str) -> str:
    """What a checkpoint signs, as canonical JSON."""
    return canonical(
        {
            "format": FORMAT,
            "change_id": head["id"],
            "change_hash": head["hash"],
            "rows": rows,
            "created_at": now.isoformat(),
            "certificate_sha256": cert_sha256,
            "algorithm": _algorithm(key),
            "made_by": made_by,
        }
    )


def _writable(directory: Path) -> None:
    """Refuse (503) a checkpoint directory that cannot be made or written to."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise _unavailable(
            f"the directory {directory} cannot be written to ({exc.strerror or exc})"
        ) from None


async def _due(interval: float, head_id: int) -> bool:
    newest = (
        await Checkpoint.select(Checkpoint.created_at, Checkpoint.change_id)
        .order_by(Checkpoint.id, ascending=False)
        .first()
    )
    if newest is None:
        return True
    fresh = newest["created_at"] > datetime.now(UTC) - timedelta(seconds=interval)
    return not fresh and newest["change_id"] != head_id


def file_name(content: str) -> str:
    fields = json.loads(content)
    stamp = datetime.fromisoformat(fields["created_at"]).strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    return f"checkpoint-{stamp}-{fields['change_id']}-{digest}.json"


def write_file(directory: Path, content: str, signature: str, timestamp_token: str | None = None) -> Path:
    """Write the checkpoint's file atomically (a temporary file, fsync, rename, fsync the directory)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file_name(content)
    fields = {"content": content, "signature": signature}
    if timestamp_token:
        fields["timestamp_token"] = timestamp_token
    body = json.dumps(fields, indent=2) + "\n"
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return target


def read_files(directory: Path) -> list[tuple[str, dict | None]]:
    """Every checkpoint file in ``directory`` as (name, {"content", "signature"[, "timestamp_token"]}),
    None if unreadable."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("checkpoint-*.json")):
        try:
            body = parse(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            body = None
        ok = body is not None and all(isinstance(body.get(k), str) for k in ("content", "signature"))
        ok = ok and isinstance(body.get("timestamp_token"), str | None)
        found.append((path.name, body if ok else None))
    return found


async def list_checkpoints(limit: int, offset: int) -> tuple[list[CheckpointRead], int]:
    """A page of the stored checkpoints, newest first, and how many there are."""
    rows = await Checkpoint.select().order_by(Checkpoint.id, ascending=False).limit(limit).offset(offset)
    return [_read(r) for r in rows], await Checkpoint.count()


def _read(row: dict[str, Any]) -> CheckpointRead:
    """A stored checkpoint as read; one whose content no longer parses is shown as stored (verify names it)."""
    fields = parse(row["content"]) or {}
    return CheckpointRead(
        id=row["id"],
        change_id=row["change_id"],
        change_hash=str(fields.get("change_hash", "")),
        rows=fields.get("rows") if isinstance(fields.get("rows"), int) else 0,
        created_at=row["created_at"],
        certificate_sha256=str(fields.get("certificate_sha256", "")),
        algorithm=str(fields.get("algorithm", "")),
        content=row["content"],
        signature=row["signature"],
        timestamp_token=row["timestamp_token"],
        timestamped_at=timestamps.token_time(row["timestamp_token"]) if row["timestamp_token"] else None,
    )
