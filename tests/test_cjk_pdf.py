"""Chinese legal names print in every server-made PDF (attestations, the recipients report): the text is
extractable, the CJK font is embedded, and a rendered page is kept to look at."""

import shutil
from pathlib import Path

import anyio
import pytest

from tests.conftest import CONFIRMATION, ended_contract

pytestmark = pytest.mark.anyio

LEGAL_NAME = "北京数据科技有限公司"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: the set-up (.ci/setup) installs poppler-utils")
    return found


async def run(*command: str) -> str:
    with anyio.fail_after(60):
        result = await anyio.run_process(list(command), check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


async def printed(pdf: bytes, path: Path) -> tuple[str, str]:
    """What pdftotext reads in the file, and pdffonts' table of its fonts."""
    path.write_bytes(pdf)
    return await run(tool("pdftotext"), str(path), "-"), await run(tool("pdffonts"), str(path))


def embeds_cjk_font(fonts: str) -> bool:
    """pdffonts' columns: name, type, encoding, emb, sub, uni, object id."""
    rows = [line.split() for line in fonts.splitlines()[2:]]
    return any("Noto-Sans-CJK" in row[0] and row[-5] == "yes" for row in rows)


@pytest.fixture
async def chinese_vendor(client, auth) -> tuple[dict, dict]:
    vendor, _ = await ended_contract(client, auth)
    response = await client.patch(f"/vendors/{vendor['id']}", json={"legal_name": LEGAL_NAME}, headers=auth())
    assert response.status_code == 200, response.text
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    return vendor, deletion


async def test_an_attestation_prints_a_chinese_legal_name(
    client, auth, chinese_vendor, tmp_path, engine_name
):
    _, deletion = chinese_vendor
    confirmed = await client.post(
        f"/deletions/{deletion['id']}/confirmations", json=CONFIRMATION, headers=auth()
    )
    assert confirmed.status_code == 201, confirmed.text
    issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
    assert issued.status_code == 201, issued.text
    pdf = (await client.get(f"/attestations/{issued.json()['serial']}/pdf", headers=auth())).content
    text, fonts = await printed(pdf, tmp_path / "attestation.pdf")
    assert LEGAL_NAME in text
    assert embeds_cjk_font(fonts), fonts
    # Kept for a person to look at: the name drawn, not boxes.
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / f"attestation-cjk-{engine_name}"
    await run(
        tool("pdftoppm"),
        "-png",
        "-r",
        "100",
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        str(tmp_path / "attestation.pdf"),
        str(stem),
    )
    assert stem.with_suffix(".png").stat().st_size > 10_000


async def test_the_recipients_report_prints_a_chinese_legal_name(client, auth, chinese_vendor, tmp_path):
    response = await client.get("/exports/recipients.pdf", params={"as_of": "2025-03-01"}, headers=auth())
    assert response.status_code == 200, response.text
    text, fonts = await printed(response.content, tmp_path / "recipients.pdf")
    assert LEGAL_NAME in text
    assert embeds_cjk_font(fonts), fonts
