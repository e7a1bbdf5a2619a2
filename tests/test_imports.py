"""Bulk import from CSV and XLSX: all or nothing, row-by-row errors, dry runs, no duplicates."""

import io

import openpyxl
import pytest

from registry.tables import Change, Contract, Disclosure, Vendor
from tests.conftest import make_vendor, run_cli

pytestmark = pytest.mark.anyio

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VENDORS_CSV = (
    "name,legal_name,kind,country,tags,public,privacy_contact_email,notes\r\n"
    'Northwind Hosting,Northwind Hosting Ltd,service_provider,ie,"hosting, critical",yes,dpo@northwind.example,\r\n'
    'Quill Translation,,contractor,FR,,no,,"=HYPERLINK(""http://evil"")"\r\n'
)


def workbook(**sheets: list[list]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        page = book.create_sheet(name)
        for row in rows:
            page.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


REGISTER = dict(
    vendors=[
        ["name", "kind", "country", "parent"],
        ["Northwind Hosting", "service_provider", "IE", None],
        ["Northwind Backup", "service_provider", "NL", "Northwind Hosting"],
    ],
    contracts=[
        [
            "vendor",
            "reference",
            "kind",
            "title",
            "signed_on",
            "effective_from",
            "confidentiality_equivalent",
            "backups_covered",
        ],
        ["Northwind Hosting", "DPA-1", "dpa", "Hosting DPA", "2025-01-01", "2025-01-01", "yes", "yes"],
    ],
    disclosures=[
        ["vendor", "contract", "basis", "purpose", "categories", "data_subjects", "valid_from"],
        [
            "Northwind Hosting",
            "DPA-1",
            "contract",
            "essential.service",
            "user.contact.email, user.name",
            "customer",
            "2025-02-01",
        ],
    ],
)


async def post_file(client, auth, content: bytes, content_type: str, role="editor", **params):
    return await client.post(
        "/imports", content=content, headers={**auth(role), "Content-Type": content_type}, params=params
    )


class TestCsv:
    async def test_vendors_then_again_changes_nothing(self, client, auth):
        response = await post_file(client, auth, VENDORS_CSV.encode(), "text/csv")
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["committed"] is True and report["dry_run"] is False
        assert report["counts"]["vendors"] == {"created": 2, "updated": 0, "unchanged": 0}
        northwind = (await client.get("/vendors", params={"q": "northwind"}, headers=auth())).json()["items"][
            0
        ]
        assert northwind["country"] == "IE" and northwind["tags"] == ["hosting", "critical"]
        assert northwind["public"] is True
        assert northwind["privacy_contact"]["email"] == "dpo@northwind.example"
        quill = (await client.get("/vendors", params={"q": "quill"}, headers=auth())).json()["items"][0]
        assert quill["notes"] == '=HYPERLINK("http://evil")'  # stored as the text it is
        changes = await Change.count()

        again = await post_file(client, auth, VENDORS_CSV.encode(), "text/csv")
        assert again.status_code == 200
        assert again.json()["counts"]["vendors"] == {"created": 0, "updated": 0, "unchanged": 2}
        assert await Vendor.count() == 2 and await Change.count() == changes

        edited = VENDORS_CSV.replace("Northwind Hosting Ltd", "Northwind Hosting Limited")
        updated = await post_file(client, auth, edited.encode(), "text/csv")
        assert updated.json()["counts"]["vendors"] == {"created": 0, "updated": 1, "unchanged": 1}
        northwind = (await client.get(f"/vendors/{northwind['id']}", headers=auth())).json()
        assert northwind["legal_name"] == "Northwind Hosting Limited" and northwind["version"] == 2

    async def test_every_bad_row_is_reported_and_nothing_is_written(self, client, auth):
        body = (
            "name;kind;country;public\n"
            "Good Vendor;agent;DE;yes\n"
            "Bad Country;agent;XX;no\n"
            ";agent;DE;\n"
            "Bad Flag;agent;DE;perhaps\n"
            "Bad Kind;spy;DE;\n"
        )
        changes = await Change.count()
        response = await post_file(client, auth, body.encode(), "text/csv")
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        rows = [(e["sheet"], e["row"], e["column"], e["rule"]) for e in problem["report"]["errors"]]
        assert rows == [
            ("vendors", 3, "country", "invalid"),
            ("vendors", 4, "name", "required"),
            ("vendors", 5, "public", "bool"),
            ("vendors", 6, "kind", "one_of"),
        ]
        assert problem["errors"][0]["field"] == "vendors row 3, country"
        assert "nothing was imported" in problem["detail"]
        assert problem["report"]["committed"] is False
        assert await Vendor.count() == 0 and await Change.count() == changes

    async def test_dry_run_reports_without_writing(self, client, auth):
        changes = await Change.count()
        response = await post_file(client, auth, VENDORS_CSV.encode(), "text/csv", dry_run="true")
        assert response.status_code == 200
        report = response.json()
        assert report["dry_run"] is True and report["committed"] is False
        assert report["counts"]["vendors"]["created"] == 2
        assert await Vendor.count() == 0 and await Change.count() == changes

    async def test_a_rule_of_the_registry_names_the_row(self, client, auth):
        await make_vendor(client, auth, name="Taken")
        body = "vendor,kind,title,reference\r\nNobody,dpa,DPA,R-1\r\nTaken,dpa,DPA,R-2\r\n"
        response = await post_file(client, auth, body.encode(), "text/csv", kind="contracts")
        assert response.status_code == 422
        [error] = response.json()["report"]["errors"]
        assert (error["row"], error["column"], error["rule"]) == (2, "vendor", "exists")
        assert await Contract.count() == 0

    async def test_header_problems(self, client, auth):
        response = await post_file(client, auth, b"name,kind,colour\r\nA,agent,red\r\n", "text/csv")
        assert response.status_code == 422
        errors = {(e["column"], e["rule"]) for e in response.json()["report"]["errors"]}
        assert errors == {("colour", "unknown_column"), ("country", "required_column")}

    @pytest.mark.parametrize(
        ("content", "content_type", "status"),
        [
            (b"\xff\xfe\x00n\x00a", "text/csv", 422),
            (b"PK\x03\x04not a zip", XLSX, 422),
            (b"%PDF-1.7", "application/pdf", 415),
            (b"name,kind\r\n", XLSX, 422),
        ],
    )
    async def test_files_that_are_not_spreadsheets(self, client, auth, content, content_type, status):
        response = await post_file(client, auth, content, content_type)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert await Vendor.count() == 0

    async def test_roles_and_size(self, client, auth, settings):
        assert (
            await post_file(client, auth, VENDORS_CSV.encode(), "text/csv", role="viewer")
        ).status_code == 403
        too_big = b"name,kind,country\r\n" + b"x" * (settings.max_upload_bytes + 1)
        assert (await post_file(client, auth, too_big, "text/csv")).status_code == 413
        assert await Vendor.count() == 0


class TestXlsx:
    async def test_a_whole_register_in_one_workbook(self, client, auth):
        response = await post_file(client, auth, workbook(**REGISTER), XLSX)
        assert response.status_code == 200, response.text
        counts = response.json()["counts"]
        assert counts == {
            "vendors": {"created": 2, "updated": 0, "unchanged": 0},
            "contracts": {"created": 1, "updated": 0, "unchanged": 0},
            "disclosures": {"created": 1, "updated": 0, "unchanged": 0},
        }
        [disclosure] = (await client.get("/disclosures", headers=auth())).json()["items"]
        assert disclosure["categories"] == ["user.contact.email", "user.name"]
        assert disclosure["contract_reference"] == "DPA-1"
        backup = (await client.get("/vendors", params={"q": "backup"}, headers=auth())).json()["items"][0]
        assert backup["parent_id"] is not None

        again = await post_file(client, auth, workbook(**REGISTER), XLSX)
        assert again.json()["counts"]["disclosures"] == {"created": 0, "updated": 0, "unchanged": 1}
        assert await Disclosure.count() == 1 and await Contract.count() == 1

    async def test_a_disclosure_the_registry_refuses_rolls_back_the_vendors_too(self, client, auth):
        sheets = {
            **REGISTER,
            "contracts": [REGISTER["contracts"][0], [*REGISTER["contracts"][1][:6], "no", "yes"]],
        }
        response = await post_file(client, auth, workbook(**sheets), XLSX)
        assert response.status_code == 422
        [error] = response.json()["report"]["errors"]
        assert error["sheet"] == "disclosures" and error["row"] == 2
        assert error["rule"] == "covering_contract"
        assert await Vendor.count() == 0 and await Contract.count() == 0

    async def test_excel_dates_and_numbers(self, client, auth):
        from datetime import datetime

        sheets = {
            "vendors": [["name", "kind", "country"], ["Acme", "agent", "DE"]],
            "contracts": [
                ["vendor", "kind", "title", "signed_on", "effective_from", "deletion_deadline_days"],
                ["Acme", "nda", "NDA", datetime(2025, 3, 1), datetime(2025, 3, 2), 45.0],
            ],
        }
        response = await post_file(client, auth, workbook(**sheets), XLSX)
        assert response.status_code == 200, response.text
        [contract] = (await client.get("/contracts", headers=auth())).json()["items"]
        assert contract["signed_on"] == "2025-03-01" and contract["deletion_deadline_days"] == 45


class TestTemplates:
    @pytest.mark.parametrize("sheet", ["vendors", "contracts", "disclosures"])
    async def test_csv_templates_import_as_nothing(self, client, auth, sheet):
        response = await client.get(f"/imports/templates/{sheet}", headers=auth("viewer"))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        header = response.text.splitlines()[0].split(",")
        assert header[0] in ("name", "vendor")
        back = await post_file(client, auth, response.content, "text/csv")
        assert back.status_code == 200 and back.json()["counts"][sheet]["created"] == 0

    async def test_xlsx_template_has_every_sheet_and_help(self, client, auth):
        response = await client.get("/imports/templates.xlsx", headers=auth("viewer"))
        assert response.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["vendors", "contracts", "disclosures", "help"]
        assert [c.value for c in book["vendors"][1]][:4] == ["name", "legal_name", "kind", "country"]
        assert (await client.get("/imports/templates/other", headers=auth())).status_code == 400


class TestCli:
    async def test_import_dry_run_and_errors(self, app, tmp_path, database_url):
        file = tmp_path / "vendors.csv"
        file.write_text(VENDORS_CSV)
        dry = run_cli(database_url, "import", str(file), "--dry-run")
        assert "dry run: nothing was written" in dry.stdout
        assert "vendors: 2 created, 0 updated, 0 unchanged" in dry.stdout
        assert await Vendor.count() == 0
        done = run_cli(database_url, "import", str(file))
        assert "vendors: 2 created" in done.stdout
        assert await Vendor.count() == 2
        book = tmp_path / "register.xlsx"
        book.write_bytes(workbook(vendors=[["name", "kind", "country"], ["Bad", "agent", "ZZ"]]))
        refused = run_cli(database_url, "import", str(book), check=False, fresh=True)
        assert refused.returncode == 1
        assert "vendors row 2, country: invalid" in refused.stderr
        assert "nothing was imported" in refused.stderr
        assert await Vendor.count() == 2


async def test_a_nested_field_is_reported_under_its_own_column(client, auth):
    body = "name,kind,country,contact_name,contact_email\r\nAcme,agent,DE,Desk,not-an-email\r\n"
    response = await post_file(client, auth, body.encode(), "text/csv")
    assert response.status_code == 422
    [error] = response.json()["report"]["errors"]
    assert (error["row"], error["column"]) == (2, "contact_email")


class TestHardening:
    async def test_the_same_key_twice_in_one_file(self, client, auth):
        body = "name,kind,country\r\nA,agent,DE\r\nB,agent,FR\r\nA,agent,FR\r\n"
        response = await post_file(client, auth, body.encode(), "text/csv")
        assert response.status_code == 422
        [error] = response.json()["report"]["errors"]
        assert (error["row"], error["column"], error["rule"]) == (4, "name", "duplicate_key")
        assert "row 2" in error["message"]
        assert await Vendor.count() == 0

    async def test_a_huge_csv_cell_is_a_clear_error(self, client, auth, settings):
        body = b'name,kind,country,notes\r\nA,agent,DE,"' + b"x" * 140_000 + b'"\r\n'
        response = await post_file(client, auth, body, "text/csv")
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["rule"] == "csv"

    async def test_a_stray_far_cell_does_not_widen_every_row(self, client, auth):
        book = openpyxl.Workbook()
        page = book.active
        page.title = "vendors"
        page.append(["name", "kind", "country"])
        for n in range(50):
            page.append([f"V{n}", "agent", "DE"])
        page["XFD1"] = "far"
        out = io.BytesIO()
        book.save(out)
        response = await post_file(client, auth, out.getvalue(), XLSX)
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "too_many_columns"
        page["XFD1"] = None
        page["XFD60"] = "far below the header"
        out = io.BytesIO()
        book.save(out)
        response = await post_file(client, auth, out.getvalue(), XLSX)
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["vendors"]["created"] == 50

    async def test_formulas_are_refused(self, client, auth):
        content = workbook(vendors=[["name", "kind", "country"], ['=CONCAT("Ac","me")', "agent", "DE"]])
        response = await post_file(client, auth, content, XLSX)
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["rule"] == "formula" and "row 2" in error["message"]
        assert await Vendor.count() == 0

    async def test_http_imports_are_bounded_the_cli_takes_more(
        self, client, auth, monkeypatch, tmp_path, database_url
    ):
        from registry.imports import service

        monkeypatch.setattr(service, "MAX_HTTP_ROWS", 2)
        body = "name,kind,country\r\nA,agent,DE\r\nB,agent,DE\r\nC,agent,DE\r\n"
        response = await post_file(client, auth, body.encode(), "text/csv")
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "too_many_rows"
        assert "registry import" in response.json()["detail"]
        file = tmp_path / "three.csv"
        file.write_text(body)
        assert "vendors: 3 created" in run_cli(database_url, "import", str(file)).stdout
