"""The recipients register as a PDF report, rendered in the PDF worker processes.

Like the attestation, rendering fetches nothing (``data:`` URLs only) and escapes every value.
"""

from weasyprint import HTML

from registry.attestations.pdf import DataOnlyFetcher, environment, fonts


def render_recipients(context: dict) -> bytes:
    """``context``: controller, generated_at, as_of, vendors: [{name, legal_name, kind, country, rows}]."""
    html = environment("registry.exports").get_template("recipients.html.j2").render(**context)
    fetcher = DataOnlyFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=fonts())


def render_lookup(context: dict) -> bytes:
    """A lookup's answer (registry.exports.lookup.pdf_context) as a printable report."""
    html = environment("registry.exports").get_template("lookup.html.j2").render(**context)
    fetcher = DataOnlyFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=fonts())
