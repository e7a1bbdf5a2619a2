"""Rendering (WeasyPrint), signing (pyHanko, PAdES: registry/attestations/pades.py) and signature checks,
run in worker processes.

Nothing here touches the database; the network only to reach a configured timestamp authority.
"""

import json
from datetime import datetime
from functools import cache

import jinja2
import markupsafe
import segno
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from registry.attestations import pades


class DataOnlyFetcher(URLFetcher):
    """Refuses every URL but ``data:`` (the inlined QR code): rendering never reads a file or the network."""

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise ValueError(f"fetching {url[:40]!r} is disabled")
        return super().fetch(url, headers)


# Every server-made PDF prints in these, first to last per character: DejaVu for Latin, Greek and
# Cyrillic, Noto Sans CJK (Debian fonts-noto-cjk) for Chinese, Japanese and Korean names. Both are local
# files; WeasyPrint embeds the glyphs used (PDF/A). Without the CJK font, Chinese printed as empty boxes.
FONT_STACK = '"DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK KR", sans-serif'


@cache
def environment(package: str = "registry.attestations") -> jinja2.Environment:
    """The templates of ``package``, autoescaped for every name (select_autoescape() would miss ".j2")."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["fonts"] = markupsafe.Markup(FONT_STACK)  # noqa: S704 - a constant; CSS keeps its quotes
    return env


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


SigningKeyError = pades.SigningKeyError


def render_and_sign(
    facts: dict,
    key_file: str,
    cert_file: str,
    passphrase: bytes | None,
    tsa: pades.Timestamping | None = None,
) -> bytes:
    metadata = {
        "field_name": "Attestation",
        "reason": f"Deletion attestation {facts['serial']}",
        "name": facts["controller"],
    }
    return pades.sign(render(facts), metadata, (key_file, cert_file, passphrase), tsa)


def check_signature(pdf: bytes, cert_file: str, tsa_ca_file: str | None = None) -> dict:
    """What the PDF's one signature says (pades.SignatureReport as a dict); valid only when it is intact,
    by the registry's certificate, and covers the whole file."""
    return pades.check(pdf, cert_file, tsa_ca_file).as_dict()
