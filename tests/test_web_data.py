"""The import and export page: downloads through a session, an upload with a dry run and a report."""

import asyncio
import io
import re
import socket
import time

import httpx
import openpyxl
import pytest

from registry.tables import Vendor
from tests.conftest import Server, make_vendor
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio
GOOD = b"name,kind,country\r\nNorthwind,service_provider,IE\r\nQuill,contractor,FR\r\n"


async def upload(client, csrf, content: bytes, filename="vendors.csv", dry_run=False):
    data = {"csrf": csrf, **({"dry_run": "on"} if dry_run else {})}
    return await client.post("/ui/data/import", data=data, files={"file": (filename, content, "text/csv")})


async def test_downloads_through_the_session(client, auth, people):  # noqa: F811
    await make_vendor(client, auth, name="=cmd|' /C calc'!A0")
    await sign_in(client, name="viewer-person")
    page = await client.get("/ui/data")
    assert page.status_code == 200
    links = re.findall(r'href="/ui/data/([^"]+)"', page.text)
    assert {"register.xlsx", "register.zip", "register.json", "recipients.csv", "recipients.pdf"} <= set(
        links
    )
    assert "Import a spreadsheet" not in page.text  # a viewer does not import
    book = await client.get("/ui/data/register.xlsx")
    assert book.status_code == 200 and 'filename="register-' in book.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(book.content))["vendors"]
    assert sheet.cell(row=2, column=2).value == "=cmd|' /C calc'!A0"
    assert sheet.cell(row=2, column=2).data_type == "s"
    pdf = await client.get("/ui/data/recipients.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert (await client.get("/ui/data/nothing.txt")).status_code == 404
    for name in ("register.json", "register.zip", "recipients.csv"):
        assert (await client.get(f"/ui/data/{name}")).status_code == 200


async def test_no_session_no_download(client):
    response = await client.get("/ui/data/register.json")
    assert response.status_code == 303


async def test_dry_run_then_import_then_a_refused_file(client, people):  # noqa: F811
    await sign_in(client)
    page = await client.get("/ui/data")
    assert "Import a spreadsheet" in page.text
    csrf = csrf_of(page.text)
    template = await client.get("/ui/data/import-vendors.csv")
    assert template.text.startswith("name,legal_name,kind,country")

    dry = await upload(client, csrf, GOOD, dry_run=True)
    assert dry.status_code == 200
    assert "Dry run: nothing was written" in dry.text
    assert re.search(r"<td>vendors</td><td>2</td><td>0</td><td>0</td>", dry.text)
    assert await Vendor.count() == 0

    done = await upload(client, csrf, GOOD)
    assert done.status_code == 200 and "<h2>Imported</h2>" in done.text
    assert await Vendor.count() == 2
    again = await upload(client, csrf, GOOD)
    assert re.search(r"<td>vendors</td><td>0</td><td>0</td><td>2</td>", again.text)

    bad = await upload(client, csrf, b"name,kind,country\r\nZed,agent,<b\r\n<script>,spy,DE\r\n")
    assert bad.status_code == 422
    assert "Refused: nothing was imported" in bad.text
    assert "<td>vendors</td><td>2</td><td>country</td>" in bad.text
    # The refused value is quoted back in the report: as text, never as markup.
    assert "&#39;&lt;b&#39; is not an ISO 3166-1 alpha-2 country code" in bad.text
    assert "'<b'" not in bad.text
    assert "<td>3</td><td>kind</td><td>one_of</td>" in bad.text
    assert await Vendor.count() == 2


async def test_upload_needs_the_token_and_the_role(client, people):  # noqa: F811
    await sign_in(client)
    forged = await upload(client, "guess", GOOD)
    assert forged.status_code == 403
    not_a_sheet = await upload(client, csrf_of((await client.get("/ui/data")).text), b"%PDF-1.7", "x.xlsx")
    assert not_a_sheet.status_code == 422 and "not an XLSX workbook" in not_a_sheet.text
    await client.post("/ui/logout", data={"csrf": csrf_of((await client.get("/ui/data")).text)})
    await sign_in(client, name="viewer-person")
    viewer = await upload(client, csrf_of((await client.get("/ui/data")).text), GOOD)
    assert viewer.status_code == 403 and "This page needs the editor role" in viewer.text
    assert await Vendor.count() == 0


async def test_an_upload_whose_browser_leaves_before_the_commit_imports_nothing(
    settings,
    people,  # noqa: F811
    tmp_path,
):
    """As the API's import: the page's client gone before the commit leaves nothing imported."""
    log = tmp_path / "server.log"
    server = Server(settings, log=log)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base) as browser:
            await sign_in(browser)
            csrf = csrf_of((await browser.get("/ui/data")).text)
            cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        rows = "".join(f"Vendor {n:04},contractor,DE\r\n" for n in range(1500))
        body = (
            f'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            '--x\r\nContent-Disposition: form-data; name="file"; filename="v.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\nname,kind,country\r\n{rows}\r\n--x--\r\n"
        ).encode()
        head = (
            f"POST /ui/data/import HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            raw.sendall(head.encode() + body)
            await asyncio.sleep(0.5)  # the browser closed: the server has the file and is importing it
        deadline = time.monotonic() + 60
        while "import rolled back: client disconnected" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert await Vendor.count() == 0
