"""XLSX imports are bounded before openpyxl reads them: shared strings, inflated sizes, no DTD."""

import io
import zipfile

import pytest

from registry.tables import Change, Vendor
from tests.conftest import run_cli
from tests.test_imports import XLSX, post_file
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Target="xl/workbook.xml" '
        f'Type="{REL}/officeDocument"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
        '<sheet name="vendors" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{REL}/worksheet"/>'
        f'<Relationship Id="rId2" Target="sharedStrings.xml" Type="{REL}/sharedStrings"/></Relationships>'
    ),
}
ROWS = [["name", "kind", "country"], ["Acme Hosting", "agent", "DE"]]
LIMITS = {
    "import_max_shared_strings": 100,
    "import_max_shared_strings_bytes": 16 * 1024,
    "import_max_part_bytes": 32 * 1024,
    "import_max_inflated_bytes": 64 * 1024,
}


def strings_workbook(
    extra: int = 0, text: str = "x", stated: int | None = None, pad: int = 0, doctype: str = ""
) -> bytes:
    """A vendors workbook, built part by part, whose cells are shared strings, plus ``extra`` unused
    ones; ``stated`` is what its count attributes claim, ``pad`` bytes of comment widen the sheet."""
    strings = [cell for row in ROWS for cell in row] + [f"{text}{i}" for i in range(extra)]
    count = len(strings) if stated is None else stated
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    rows = "".join(
        f'<row r="{r + 1}">'
        + "".join(f'<c r="{"ABC"[c]}{r + 1}" t="s"><v>{r * 3 + c}</v></c>' for c in range(3))
        + "</row>"
        for r in range(len(ROWS))
    )
    comment = f"<!--{' ' * pad}-->" if pad else ""
    parts = {
        **PARTS,
        "xl/sharedStrings.xml": f'{doctype}<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">{items}</sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{rows}{comment}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)
    return out.getvalue()


@pytest.fixture
def settings(settings):
    return settings.model_copy(update=LIMITS)


HOSTILE = {
    "stated_count": (
        lambda: strings_workbook(extra=1_000),
        "too_many_shared_strings",
        "REGISTRY_IMPORT_MAX_SHARED_STRINGS",
    ),
    "lying_count": (
        lambda: strings_workbook(extra=1_000, stated=3),
        "too_many_shared_strings",
        "REGISTRY_IMPORT_MAX_SHARED_STRINGS",
    ),
    "long_strings": (
        lambda: strings_workbook(extra=20, text="y" * 2000),
        "shared_strings_too_large",
        "REGISTRY_IMPORT_MAX_SHARED_STRINGS_BYTES",
    ),
    "wide_sheet": (lambda: strings_workbook(pad=40_000), "part_too_large", "REGISTRY_IMPORT_MAX_PART_BYTES"),
    "dtd": (
        lambda: strings_workbook(doctype='<!DOCTYPE sst [<!ENTITY e "<si><t>e</t></si>">]>'),
        "dtd",
        "DTD",
    ),
}


class TestHttp:
    @pytest.mark.parametrize("case", HOSTILE)
    async def test_a_hostile_workbook_is_refused_naming_the_limit(self, client, auth, case):
        build, rule, named = HOSTILE[case]
        content = build()
        assert len(content) < 32 * 1024  # a small upload: the work is in inflating it
        changes = await Change.count()  # the keys' own
        response = await post_file(client, auth, content, XLSX)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["errors"][0]["rule"] == rule and named in body["detail"], body
        assert (await Vendor.count(), await Change.count()) == (0, changes)

    async def test_the_whole_archive_is_bounded(self, client, auth):
        content = io.BytesIO(strings_workbook())
        with zipfile.ZipFile(content, "a", zipfile.ZIP_DEFLATED) as archive:
            for n in range(3):  # each part under the part limit, together past the archive's
                archive.writestr(f"xl/media/pad{n}.bin", b"\0" * 30_000)
        changes = await Change.count()
        response = await post_file(client, auth, content.getvalue(), XLSX)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["errors"][0]["rule"] == "too_large"
        assert "REGISTRY_IMPORT_MAX_INFLATED_BYTES" in body["detail"]
        assert (await Vendor.count(), await Change.count()) == (0, changes)

    async def test_a_workbook_within_the_limits_imports(self, client, auth):
        response = await post_file(client, auth, strings_workbook(extra=50, stated=3), XLSX)
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["vendors"]["created"] == 1
        assert [v["name"] for v in await Vendor.select(Vendor.name)] == ["Acme Hosting"]


async def test_the_cli_refuses_too(app, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_IMPORT_MAX_SHARED_STRINGS", "100")
    book = tmp_path / "bomb.xlsx"
    book.write_bytes(strings_workbook(extra=1_000, stated=3))
    refused = run_cli(database_url, "import", str(book), check=False)
    assert refused.returncode != 0
    assert "REGISTRY_IMPORT_MAX_SHARED_STRINGS" in refused.stderr, refused.stderr
    assert (await Vendor.count(), await Change.count()) == (0, 0)
    fine = tmp_path / "fine.xlsx"
    fine.write_bytes(strings_workbook(extra=50))
    assert "vendors: 1 created" in run_cli(database_url, "import", str(fine)).stdout


async def test_the_web_page_refuses_too(client, people):  # noqa: F811
    await sign_in(client)
    csrf = csrf_of((await client.get("/ui/data")).text)
    response = await client.post(
        "/ui/data/import",
        data={"csrf": csrf},
        files={"file": ("bomb.xlsx", strings_workbook(extra=1_000, stated=3), XLSX)},
    )
    assert response.status_code == 422
    assert "REGISTRY_IMPORT_MAX_SHARED_STRINGS" in response.text
    assert await Vendor.count() == 0
