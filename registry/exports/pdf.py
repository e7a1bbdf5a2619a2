"""The recipients register as a PDF report, rendered in the PDF worker processes.

Like the attestation, rendering fetches nothing (``data:`` URLs only) and escapes every value.
"""

from functools import cache

import jinja2
from weasyprint import HTML

from registry.attestations.pdf import DataOnlyFetcher, _fonts


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("registry.exports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_recipients(context: dict) -> bytes:
    """``context``: controller, generated_at, as_of, vendors: [{name, legal_name, kind, country, rows}]."""
    html = _environment().get_template("recipients.html.j2").render(**context)
    fetcher = DataOnlyFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=_fonts())
