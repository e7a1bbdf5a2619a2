"""With a timestamp authority configured (a real one on loopback: OpenSSL's `ts`, tests/tsa.py), each
attestation signature carries an RFC 3161 timestamp and its validation data (PAdES B-LT); a TSA that is
down or slow stops issuing with a 503; verification reports signer, signing time and the timestamp."""

import asyncio
import base64
import hashlib
import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import confirmed_deletion, make_vendor, run_cli
from tests.test_checkpoints import _sql
from tests.tsa import need

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings, tsa, tmp_path):
    return settings.model_copy(
        update={
            "tsa_url": tsa.url,
            "tsa_ca_file": tsa.root,
            "tsa_timeout_seconds": 5.0,
            "checkpoint_dir": str(tmp_path / "checkpoints"),
            "checkpoint_interval_seconds": 0,
        }
    )


@pytest.fixture
def cli_env(settings, monkeypatch):
    for name in ("signing_key_file", "signing_cert_file", "checkpoint_dir", "tsa_url", "tsa_ca_file"):
        monkeypatch.setenv(f"REGISTRY_{name.upper()}", getattr(settings, name))


async def issue(client, auth):
    deletion = await confirmed_deletion(client, auth)
    return await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))


async def issued_pdf(client, auth) -> tuple[dict, bytes]:
    response = await issue(client, auth)
    assert response.status_code == 201, response.text
    serial = response.json()["serial"]
    pdf = await client.get(f"/attestations/{serial}/pdf", headers=auth("viewer"))
    return response.json(), pdf.content


async def verify(client, pdf: bytes) -> dict:
    response = await client.post(
        "/attestations/verify", content=pdf, headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def trust(settings, tsa):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko_certvalidator import ValidationContext

    roots = [load_cert_from_pemder(settings.signing_cert_file), load_cert_from_pemder(tsa.root)]
    return roots, ValidationContext(trust_roots=roots, allow_fetching=False)


def pdfsig_and_cms(pdf: bytes, folder) -> tuple[str, str]:
    """pdfsig's report on the file, and OpenSSL's print of the signature (CMS) that pdfsig extracts."""
    pdfsig, openssl = need("pdfsig"), need("openssl")
    (folder / "a.pdf").write_bytes(pdf)

    def run(*args):
        return subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=60, check=True)

    report = run(pdfsig, "-nocert", "a.pdf").stdout
    run(pdfsig, "-dump", "a.pdf")
    [dumped] = folder.glob("a.pdf.sig*")
    return report, run(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", dumped.name).stdout


class TestTimestampedSignature:
    async def test_pyhanko_sees_a_trusted_timestamp_and_the_validation_data(
        self, client, auth, settings, tsa
    ):
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import async_validate_pdf_signature

        before = tsa.requests
        attestation, pdf = await issued_pdf(client, auth)
        assert tsa.requests > before  # the authority was asked
        reader = PdfFileReader(io.BytesIO(pdf))
        [signature] = reader.embedded_signatures
        roots, context = trust(settings, tsa)
        status = await async_validate_pdf_signature(signature, context, ts_validation_context=context)
        assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"
        stamp = status.timestamp_validity
        assert stamp is not None and stamp.trusted and stamp.intact and stamp.valid
        assert "Test TSA" in stamp.signing_cert.subject.human_friendly
        assert abs((stamp.timestamp - status.signer_reported_dt).total_seconds()) < 120
        # B-LT: the DSS holds the signer's, the TSA's and the TSA root's certificates (the self-signed
        # trial certificate names no CRL or OCSP responder, so there is no revocation data to embed).
        embedded = {stream.get_object().data for stream in reader.root["/DSS"]["/Certs"]}
        tsa_cert = stamp.signing_cert.dump()
        assert {roots[0].dump(), roots[1].dump(), tsa_cert} <= embedded
        assert attestation["sha256"] and len(pdf) > 0

    async def test_pdfsig_sees_the_timestamp(self, client, auth, tmp_path):
        _, pdf = await issued_pdf(client, auth)
        report, cms = pdfsig_and_cms(pdf, tmp_path)
        assert "Signature is Valid." in report, report
        assert "Total document signed" in report and "ETSI.CAdES.detached" in report
        # pdfsig 22.12 prints only the signer's claimed time; the RFC 3161 token is in the CMS it extracts.
        assert "id-smime-aa-timeStampToken" in cms and "Test TSA" in cms

    async def test_verification_reports_signer_time_and_timestamp(self, client, auth):
        attestation, pdf = await issued_pdf(client, auth)
        verdict = await verify(client, pdf)
        assert verdict["status"] == "valid" and verdict["serial"] == attestation["serial"]
        assert "Example Controller Ltd" in verdict["signer"]
        assert verdict["timestamped"] is True and verdict["timestamp_valid"] is True
        assert "Test TSA" in verdict["timestamp_authority"]
        assert verdict["signed_at"] and verdict["timestamp_at"]
        assert verdict["validation_data_embedded"] is True
        page = await client.post("/ui/verify", files={"document": ("a.pdf", pdf, "application/pdf")})
        assert page.status_code == 200
        assert "Timestamped" in page.text and "Test TSA" in page.text and "PAdES B-LT" in page.text

    async def test_an_authority_not_trusted_here_is_reported(self, client, auth, app):
        _, pdf = await issued_pdf(client, auth)
        pool = app.state["pdf_pool"]
        pool.settings = pool.settings.model_copy(update={"tsa_ca_file": None})  # the system's roots only
        verdict = await verify(client, pdf)
        assert verdict["status"] == "valid" and verdict["timestamped"] is True
        assert verdict["timestamp_valid"] is False
        page = await client.post("/ui/verify", files={"document": ("a.pdf", pdf, "application/pdf")})
        assert "the timestamp does not verify here" in page.text


class TestAuthorityFails:
    async def test_an_unreachable_tsa_is_a_503_naming_it_and_nothing_is_issued(self, client, auth, app):
        pool = app.state["pdf_pool"]
        pool.settings = pool.settings.model_copy(update={"tsa_url": "http://127.0.0.1:9/tsa"})
        response = await issue(client, auth)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["title"] == "Timestamp authority unavailable" and "127.0.0.1" in body["detail"]
        assert (await client.get("/attestations", headers=auth())).json()["total"] == 0
        changes = (await client.get("/changes", params={"object_type": "attestation"}, headers=auth())).json()
        assert changes["items"] == []

    async def test_a_slow_tsa_is_a_503(self, client, auth, app, tsa):
        pool = app.state["pdf_pool"]
        pool.settings = pool.settings.model_copy(update={"tsa_timeout_seconds": 0.5})
        tsa.delay = 2.0
        try:
            response = await issue(client, auth)
        finally:
            tsa.delay = 0.0
        assert response.status_code == 503 and "REGISTRY_TSA_URL" in response.json()["detail"]
        assert (await client.get("/attestations", headers=auth())).json()["total"] == 0

    async def test_without_a_tsa_the_signature_is_reported_untimestamped(self, client, auth, app):
        pool = app.state["pdf_pool"]
        pool.settings = pool.settings.model_copy(update={"tsa_url": None, "tsa_ca_file": None})
        _, pdf = await issued_pdf(client, auth)
        verdict = await verify(client, pdf)
        assert verdict["status"] == "valid" and "Example Controller Ltd" in verdict["signer"]
        assert verdict["timestamped"] is False and verdict["timestamp_at"] is None
        assert verdict["validation_data_embedded"] is False
        page = await client.post("/ui/verify", files={"document": ("a.pdf", pdf, "application/pdf")})
        assert "Not timestamped" in page.text


async def checkpoint(database_url, check=True):
    return await asyncio.to_thread(run_cli, database_url, "changes", "checkpoint", check=check)


def openssl_verifies(token: str, signature: str, root: str, folder: Path) -> subprocess.CompletedProcess:
    """OpenSSL's own check: the token is over SHA-256 of the signature bytes and chains to the TSA root."""
    (folder / "token.der").write_bytes(base64.b64decode(token))
    digest = hashlib.sha256(base64.b64decode(signature)).hexdigest()
    command = [need("openssl"), "ts", "-verify", "-digest", digest, "-in", "token.der", "-token_in"]
    return subprocess.run([*command, "-CAfile", root], cwd=folder, capture_output=True, text=True, timeout=60)


def test_a_tsa_url_that_is_not_http_is_refused_at_start(database_url, monkeypatch):
    monkeypatch.setenv("REGISTRY_TSA_URL", "ftp://tsa.example/")
    result = run_cli(database_url, "changes", "verify", check=False)
    assert result.returncode == 2 and "REGISTRY_TSA_URL" in result.stderr


class TestTimestampedCheckpoints:
    async def test_a_checkpoint_carries_a_token_over_its_signature(
        self, client, auth, database_url, settings, cli_env, tsa, tmp_path
    ):
        await make_vendor(client, auth)
        await checkpoint(database_url)
        [item] = (await client.get("/changes/checkpoints")).json()["items"]
        assert item["timestamp_token"] and item["timestamped_at"]
        [path] = Path(settings.checkpoint_dir).glob("checkpoint-*.json")
        assert json.loads(path.read_text())["timestamp_token"] == item["timestamp_token"]
        checked = await asyncio.to_thread(
            openssl_verifies, item["timestamp_token"], item["signature"], tsa.root, tmp_path
        )
        assert "Verification: OK" in checked.stdout, checked.stdout + checked.stderr
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert report["ok"] is True and report["checkpoints_timestamped"] == 1, report
        result = await asyncio.to_thread(run_cli, database_url, "changes", "verify")
        assert "1 checkpoint(s) agree, 1 timestamped" in result.stdout

    async def test_a_token_moved_to_another_checkpoint_is_named(
        self, client, auth, database_url, settings, cli_env
    ):
        await make_vendor(client, auth)
        await checkpoint(database_url)
        await make_vendor(client, auth, name="Beta Mail")
        await checkpoint(database_url)
        rows = await _sql(database_url, "SELECT id, timestamp_token FROM change_checkpoint ORDER BY id")
        first, second = rows
        await _sql(
            database_url,
            f"UPDATE change_checkpoint SET timestamp_token = '{second['timestamp_token']}' WHERE id = {first['id']}",
        )
        report = (await client.get("/changes/verify", headers=auth())).json()
        problems = {p["checkpoint"]: p["problem"] for p in report["checkpoint_problems"]}
        assert report["ok"] is False
        assert problems == {
            f"checkpoint {first['id']}": "its timestamp token is over other bytes than its signature"
        }
        result = await asyncio.to_thread(run_cli, database_url, "changes", "verify", check=False)
        assert result.returncode == 1 and "over other bytes" in result.stderr

    async def test_an_unreachable_tsa_keeps_the_checkpoint_untimestamped_and_says_so(
        self, client, auth, database_url, settings, cli_env, monkeypatch
    ):
        monkeypatch.setenv("REGISTRY_TSA_URL", "http://127.0.0.1:9/tsa")
        await make_vendor(client, auth)
        result = await checkpoint(database_url, check=False)
        assert result.returncode != 0 and "Timestamp" not in result.stdout
        assert "127.0.0.1 (REGISTRY_TSA_URL)" in result.stderr and "not timestamped" in result.stderr
        [row] = await _sql(database_url, "SELECT timestamp_token FROM change_checkpoint")
        assert row["timestamp_token"] is None
        [path] = Path(settings.checkpoint_dir).glob("checkpoint-*.json")
        assert "timestamp_token" not in json.loads(path.read_text())
        report = (await client.get("/changes/verify", headers=auth())).json()
        assert report["ok"] is True and (report["checkpoints"], report["checkpoints_timestamped"]) == (1, 0)
