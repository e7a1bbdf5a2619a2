"""Rendering (WeasyPrint), signing (pyHanko, PAdES) and signature checks, run in worker processes.

Nothing here touches the database or the network: facts in, bytes out.
"""

import json
import re
from datetime import datetime
from functools import cache
from io import BytesIO

import jinja2
import segno
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

# In PDF literal strings a hyphen may be written as the octal escape \055.
# A re-issue adds "-<n>" (PRA-2026-000012-2); a digit right after would make it another serial.
SERIAL = re.compile(rb"PRA(?:-|\\055)(\d{4})(?:-|\\055)(\d{6})(?:(?:-|\\055)([1-9]\d{0,5}))?(?!\d)")


class DataOnlyFetcher(URLFetcher):
    """Refuses every URL but ``data:`` (the inlined QR code): rendering never reads a file or the network."""

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise ValueError(f"fetching {url[:40]!r} is disabled")
        return super().fetch(url, headers)


@cache
def environment(package: str = "registry.attestations") -> jinja2.Environment:
    """The templates of ``package``, autoescaped for every name (select_autoescape() would miss ".j2")."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def fonts() -> FontConfiguration:
    return FontConfiguration()


def render(facts: dict) -> bytes:
    """The attestation as PDF/A-3b with its facts attached as JSON; reproducible for the same facts."""
    # A fixed mask: any mask scans, and choosing the best of eight costs a tenth of the render.
    qr = segno.make(facts["verification_url"], error="m", mask=0, micro=False).png_data_uri(scale=3, border=2)
    html = environment().get_template("attestation.html.j2").render(f=facts, qr=qr)
    fetcher = DataOnlyFetcher(allowed_protocols={"data"})
    attachment = Attachment(
        string=json.dumps(facts, indent=2, sort_keys=True, ensure_ascii=False),
        name="attestation.json",
        description=f"The facts of attestation {facts['serial']}",
        relationship="Data",
        url_fetcher=fetcher,
        created=datetime.fromisoformat(facts["issued_at"]),
        modified=datetime.fromisoformat(facts["issued_at"]),
    )
    return HTML(string=html, url_fetcher=fetcher).write_pdf(
        pdf_variant="pdf/a-3b",
        pdf_version="1.7",  # PDF/A-3 is built on ISO 32000-1
        attachments=[attachment],
        font_config=fonts(),
        finisher=_attach_once,
    )


def _attach_once(_document, pdf) -> None:
    """WeasyPrint lists each attachment in the catalog's /AF twice (from /EmbeddedFiles and from its
    file specification); PDF/A-3 wants each associated file once."""
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = type(pdf.catalog["AF"])(dict.fromkeys(pdf.catalog["AF"]))


class SigningKeyError(Exception):
    """The configured key or certificate cannot be loaded (wrong passphrase, format or pair)."""


@cache
def _signer(key_file: str, cert_file: str, passphrase: bytes | None):
    from pyhanko.sign import signers

    try:
        signer = signers.SimpleSigner.load(key_file, cert_file, key_passphrase=passphrase)
    except Exception:  # noqa: BLE001 - the message must not carry key material
        signer = None
    if signer is None:
        raise SigningKeyError("the signing key or certificate could not be loaded")
    return signer


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


def sign(
    pdf: bytes, serial: str, organisation: str, key_file: str, cert_file: str, passphrase: bytes | None
) -> bytes:
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    Writer, Signer = _pdfa_classes()  # noqa: N806 - classes

    metadata = signers.PdfSignatureMetadata(
        field_name="Attestation",
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=f"Deletion attestation {serial}",
        name=organisation,
    )
    writer = Writer(BytesIO(pdf))
    signed = Signer(metadata, signer=_signer(key_file, cert_file, passphrase)).sign_pdf(writer)
    return signed.getvalue()


def render_and_sign(facts: dict, key_file: str, cert_file: str, passphrase: bytes | None) -> bytes:
    return sign(render(facts), facts["serial"], facts["controller"], key_file, cert_file, passphrase)


def signature_valid(pdf: bytes, cert_file: str) -> bool:
    """True when the PDF carries one intact PAdES signature by the registry's certificate over the whole file."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        root = load_cert_from_pemder(cert_file)
        signatures = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures
        if len(signatures) != 1:
            return False
        status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[root]))
        return bool(
            status.intact and status.valid and status.trusted and status.coverage.name == "ENTIRE_FILE"
        )
    except Exception:  # noqa: BLE001 - any failure to parse or validate means "not valid"
        return False


def serials_in(pdf: bytes, limit: int) -> list[str]:
    """The first ``limit`` distinct serial numbers readable in the file's uncompressed parts (metadata,
    signature reason), in the order they appear: a file stuffed with serials costs no more than ``limit``."""
    found: dict[str, None] = {}
    for match in SERIAL.finditer(pdf):
        serial = f"PRA-{match[1].decode()}-{match[2].decode()}"
        found.setdefault(f"{serial}-{match[3].decode()}" if match[3] else serial, None)
        if len(found) >= limit:
            break
    return list(found)
