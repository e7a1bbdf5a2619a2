"""PAdES signatures of attestations, made and checked in the PDF worker processes.

Without a timestamp authority a signature is PAdES B-B: its signing time is the signer's own claim.
With one it is B-LT: an RFC 3161 timestamp over the signature (B-T) and, in the document security
store (DSS), the certificates and the revocation data that exist for the signer's and the TSA's chains,
so that it can be checked offline after the certificates have expired.
"""

from dataclasses import asdict, dataclass
from functools import cache
from io import BytesIO
from pathlib import Path


class SigningKeyError(Exception):
    """The configured key or certificate cannot be loaded (wrong passphrase, format or pair)."""


class TimestampUnavailable(Exception):
    """The timestamp authority gave no usable token (down, slow, refused, or not trusted)."""


@dataclass(frozen=True)
class Timestamping:
    """Where timestamps come from and which roots vouch for the authority."""

    url: str
    timeout: float
    ca_file: str | None = None


@dataclass(frozen=True)
class SignatureReport:
    """What one PDF's signature says: who signed, when they say, and when a TSA says."""

    valid: bool
    signer: str | None = None
    signed_at: str | None = None
    timestamped: bool = False
    timestamp_at: str | None = None
    timestamp_authority: str | None = None
    timestamp_valid: bool | None = None
    validation_data_embedded: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@cache
def signer(key_file: str, cert_file: str, passphrase: bytes | None):
    from pyhanko.sign import signers

    try:
        loaded = signers.SimpleSigner.load(key_file, cert_file, key_passphrase=passphrase)
    except Exception:  # noqa: BLE001 - the message must not carry key material
        loaded = None
    if loaded is None:
        raise SigningKeyError("the signing key or certificate could not be loaded")
    return loaded


@cache
def _timestamper(url: str, timeout: float):
    # One per worker: pyHanko asks the TSA once for a sample token (to size the signature) and keeps it.
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(url, timeout=timeout)


def _roots(cert_file: str, ca_file: str | None) -> dict:
    """The trust roots: the registry's own certificate, and the TSA's roots (or the system's list)."""
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder

    own = [load_cert_from_pemder(cert_file)]
    if ca_file:
        return {"trust_roots": own + list(load_certs_from_pemder([ca_file]))}
    return {"extra_trust_roots": own}


@cache
def _pdfa_classes():
    """pyHanko's writer and signer, kept from breaking PDF/A-3: the writer leaves /Info alone (pyHanko
    would append itself to /Producer and set /ModDate to now, out of step with the XMP), and the signer
    does not raise /Version to 2.0 for ISO 32002 (ECDSA), which PDF/A-3, built on PDF 1.7, forbids."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.signers.pdf_signer import _ensure_esic_ext

    class Writer(IncrementalPdfFileWriter):
        def _update_meta(self):
            pass  # the signature carries the signing time; the document's own metadata stays as rendered

    class Signer(signers.PdfSigner):
        def register_extensions(self, pdf_out, *, md_algorithm):
            _ensure_esic_ext(pdf_out)  # PAdES on PDF 1.7 (ETSI's extension), nothing that needs 2.0

    return Writer, Signer


def sign(pdf: bytes, metadata: dict, key: tuple[str, str, bytes | None], tsa: Timestamping | None) -> bytes:
    """Sign ``pdf`` (B-B; with ``tsa``, B-LT); ``metadata`` is field_name, reason and name."""
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.signers import pdf_signer
    from pyhanko_certvalidator import ValidationContext

    Writer, Signer = _pdfa_classes()  # noqa: N806 - classes
    options = dict(metadata, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256")
    timestamper = None
    if tsa is not None:
        context = ValidationContext(**_roots(key[1], tsa.ca_file), allow_fetching=True)
        # In the signature's own revision: the signature covers the whole file, as without a TSA, and
        # validators that do not analyse incremental updates (pdfsig) see one revision.
        dss = pdf_signer.DSSContentSettings(
            placement=pdf_signer.SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False
        )
        options.update(embed_validation_info=True, validation_context=context, dss_settings=dss)
        timestamper = _timestamper(tsa.url, tsa.timeout)
    pdf_signer = Signer(signers.PdfSignatureMetadata(**options), signer=signer(*key), timestamper=timestamper)
    try:
        return pdf_signer.sign_pdf(Writer(BytesIO(pdf))).getvalue()
    except SigningKeyError:
        raise
    except Exception as exc:  # noqa: BLE001 - with a TSA: its answer, its chain; without: re-raised
        if tsa is None:
            raise
        raise TimestampUnavailable(type(exc).__name__) from None


def check(pdf: bytes, cert_file: str, tsa_ca_file: str | None) -> SignatureReport:
    """One intact PAdES signature by the registry's certificate over the whole file, offline."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        if len(signatures) != 1:
            return SignatureReport(valid=False)
        roots = _roots(cert_file, tsa_ca_file)
        status = validate_pdf_signature(
            signatures[0],
            ValidationContext(**roots, allow_fetching=False),
            ts_validation_context=ValidationContext(**roots, allow_fetching=False),
        )
        stamp = status.timestamp_validity
        return SignatureReport(
            valid=bool(status.intact and status.valid and status.trusted)
            and status.coverage.name == "ENTIRE_FILE",
            signer=status.signing_cert.subject.human_friendly,
            signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
            timestamped=stamp is not None,
            timestamp_at=stamp.timestamp.isoformat() if stamp else None,
            timestamp_authority=stamp.signing_cert.subject.human_friendly if stamp else None,
            timestamp_valid=bool(stamp.intact and stamp.valid and stamp.trusted) if stamp else None,
            validation_data_embedded="/DSS" in reader.root,
        )
    except Exception:  # noqa: BLE001 - any failure to parse or validate means "not valid"
        return SignatureReport(valid=False)


def trusted_file(path: str | None) -> str | None:
    """The TSA roots file as an absolute path (workers may run elsewhere), or None."""
    return str(Path(path).resolve()) if path else None
