"""RFC 3161 timestamp tokens from the configured authority (REGISTRY_TSA_URL), and their checks.

Attestation signatures are timestamped by pyHanko in the PDF workers (registry/attestations/pades.py);
this module serves the change log's checkpoints: a token over the SHA-256 of the signature bytes.
"""

import base64
import hashlib
import secrets
from urllib.parse import urlsplit

import httpx
from asn1crypto import cms, tsp

from registry.errors import RegistryError
from registry.settings import Settings


class TimestampUnavailable(RegistryError):
    """The timestamp authority gave no usable token (down, slow, refused, or not trusted)."""


def tsa_unavailable(url: str, why: str, outcome: str = "nothing was issued") -> TimestampUnavailable:
    # The host only: a TSA URL may carry credentials in its user part or query.
    host = urlsplit(url).hostname or "the configured host"
    return TimestampUnavailable(
        status=503,
        title="Timestamp authority unavailable",
        detail=f"The timestamp authority at {host} (REGISTRY_TSA_URL) gave no usable timestamp ({why}); "
        f"{outcome}. Try again later, or check REGISTRY_TSA_URL and REGISTRY_TSA_CA_FILE.",
    )


def _request(digest: bytes, nonce: int) -> bytes:
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


async def request_token(settings: Settings, data: bytes, outcome: str) -> str:
    """A token (base64 DER ContentInfo) over SHA-256 of ``data``; TimestampUnavailable (saying ``outcome``)
    otherwise."""
    url, nonce = settings.tsa_url, secrets.randbits(63)
    headers = {"Content-Type": "application/timestamp-query"}
    try:
        async with httpx.AsyncClient(timeout=settings.tsa_timeout_seconds) as http:
            answer = await http.post(
                url, content=_request(hashlib.sha256(data).digest(), nonce), headers=headers
            )
        answer.raise_for_status()
        response = tsp.TimeStampResp.load(answer.content)
        status = response["status"]["status"].native
        token = response["time_stamp_token"]
        info = token["content"]["encap_content_info"]["content"].parsed
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise tsa_unavailable(url, type(exc).__name__, outcome) from None
    if status not in ("granted", "granted_with_mods"):
        raise tsa_unavailable(url, f"status {status}", outcome)
    if (
        info["nonce"].native != nonce
        or info["message_imprint"]["hashed_message"].native != hashlib.sha256(data).digest()
    ):
        raise tsa_unavailable(url, "the token is not for this request", outcome)
    return base64.b64encode(token.dump()).decode()


def token_info(token: str) -> tuple[tsp.TSTInfo, cms.SignedData]:
    """The token's TSTInfo and SignedData; ValueError when it is not a timestamp token."""
    try:
        content = cms.ContentInfo.load(base64.b64decode(token, validate=True))
        signed = content["content"]
        info = signed["encap_content_info"]["content"].parsed
        if not isinstance(info, tsp.TSTInfo):
            raise ValueError("not a TSTInfo")
        info.native  # noqa: B018 - parse it all now: a malformed token fails here, not later
        return info, signed
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("not a timestamp token") from exc


async def token_problem(token: str, data: bytes, settings: Settings) -> str | None:
    """Why ``token`` is not a trusted authority's timestamp over SHA-256 of ``data`` (None when it is)."""
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    try:
        info, signed = token_info(token)
    except ValueError:
        return "its timestamp token cannot be read"
    imprint = info["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in hashlib.algorithms_available:
        return f"its timestamp token uses an unknown digest ({algorithm})"
    if imprint["hashed_message"].native != hashlib.new(algorithm, data).digest():
        return "its timestamp token is over other bytes than its signature"
    ca_file = settings.tsa_ca_file
    roots = {"trust_roots": list(load_certs_from_pemder([ca_file]))} if ca_file else {}
    context = ValidationContext(**roots, allow_fetching=False)
    try:
        found = await validate_tst_signed_data(signed, context, lambda name: hashlib.new(name, data).digest())
        status = TimestampSignatureStatus(**found)
    except Exception:  # noqa: BLE001 - a token that cannot be validated is a problem, named below
        return "its timestamp token's signature does not verify"
    if not (status.intact and status.valid):
        return "its timestamp token's signature does not verify"
    if not status.trusted:
        return "its timestamp token is signed by an authority not trusted here (REGISTRY_TSA_CA_FILE)"
    return None


def token_time(token: str) -> str | None:
    """The time the authority attests, ISO 8601, or None for an unreadable token."""
    try:
        return token_info(token)[0]["gen_time"].native.isoformat()
    except ValueError:
        return None
