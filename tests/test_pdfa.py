"""Issued attestations are PDF/A-3b in the points a validator checks, and outside tools accept them:
PDF 1.7, /Info agreeing with the XMP, each attachment once in /AF, an sRGB output intent, every font
embedded, a signature poppler calls valid, a structure qpdf finds sound."""

import io
import os
import re
import shutil
from datetime import datetime

import anyio
import pytest
from pypdf import PdfReader

from tests.conftest import confirmed_deletion

pytestmark = pytest.mark.anyio


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} not found; CI needs it (apt-get install poppler-utils qpdf)")
        pytest.skip(f"{name} not found: apt-get install poppler-utils qpdf")
    return found


async def run(*command: str) -> str:
    """The command's output; a non-zero exit fails the test with it."""
    with anyio.fail_after(60):
        result = await anyio.run_process(list(command), check=False)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    return output


@pytest.fixture
async def pdf(client, auth) -> bytes:
    deletion = await confirmed_deletion(client, auth)
    issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
    assert issued.status_code == 201, issued.text
    return (await client.get(f"/attestations/{issued.json()['serial']}/pdf", headers=auth())).content


def xmp(reader: PdfReader) -> str:
    return reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()


def xmp_value(text: str, name: str) -> str:
    """An XMP property written either as an attribute or as an element (simple or rdf:li)."""
    match = re.search(rf'{name}="([^"]*)"', text) or re.search(
        rf"<{name}>(?:\s*<rdf:\w+>\s*<rdf:li[^>]*>)?([^<]*)<", text
    )
    assert match, f"{name} missing from the XMP"
    return match[1]


def pdf_date(value: str) -> datetime:
    digits = re.fullmatch(r"D:(\d{14})(Z|[+-]\d\d'\d\d'?)?", value)
    assert digits, value
    zone = (digits[2] or "Z").replace("'", "")
    return datetime.strptime(digits[1] + ("+0000" if zone == "Z" else zone), "%Y%m%d%H%M%S%z")


async def test_header_and_catalog_say_pdf_1_7(pdf):
    assert pdf.startswith(b"%PDF-1.7\n")
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert root.get("/Version") in (None, "/1.7")
    assert all(ext.get("/BaseVersion") == "/1.7" for ext in root.get("/Extensions", {}).values())


async def test_info_and_xmp_agree(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    info, text = reader.metadata, xmp(reader)
    assert 'pdfaid:part="3"' in text and 'pdfaid:conformance="B"' in text
    assert info["/Producer"] == xmp_value(text, "pdf:Producer")
    assert info["/Title"] == xmp_value(text, "dc:title")
    assert info["/Title"].startswith("Deletion attestation PRA-")
    assert pdf_date(info["/CreationDate"]) == datetime.fromisoformat(xmp_value(text, "xmp:CreateDate"))
    assert pdf_date(info["/ModDate"]) == datetime.fromisoformat(xmp_value(text, "xmp:ModifyDate"))


async def test_each_attachment_once_in_af_with_its_relationship(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    associated = [ref.idnum for ref in reader.trailer["/Root"]["/AF"]]
    assert len(associated) == len(set(associated)) == 1
    spec = reader.get_object(associated[0])
    assert (spec["/Type"], spec["/F"], spec["/UF"], spec["/AFRelationship"]) == (
        "/Filespec",
        "attestation.json",
        "attestation.json",
        "/Data",
    )
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"


async def test_srgb_output_intent_and_embedded_fonts(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    [intent] = reader.trailer["/Root"]["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1" and "sRGB" in intent["/OutputConditionIdentifier"]
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3 and profile.get_data()[36:40] == b"acsp"  # an ICC profile, RGB
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                fonts.append(descendant.get_object())
    assert fonts
    for font in fonts:
        descriptor = font["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]


async def test_poppler_calls_the_signature_valid(pdf, tmp_path):
    path = tmp_path / "attestation.pdf"
    path.write_bytes(pdf)
    result = await run(tool("pdfsig"), str(path))
    assert "Signature Validation: Signature is Valid." in result, result
    assert "Total document signed" in result


async def test_qpdf_finds_no_errors(pdf, tmp_path):
    path = tmp_path / "attestation.pdf"
    path.write_bytes(pdf)
    result = await run(tool("qpdf"), "--check", str(path))  # exits non-zero on errors and warnings
    assert "No syntax or stream encoding errors found" in result
    assert "PDF Version: 1.7" in result


async def test_rendering_stays_reproducible(pdf):
    from registry.attestations.pdf import render

    facts = json_facts(pdf)
    assert render(facts) == render(facts)


def json_facts(pdf: bytes) -> dict:
    import json

    return json.loads(PdfReader(io.BytesIO(pdf)).attachments["attestation.json"][0])
