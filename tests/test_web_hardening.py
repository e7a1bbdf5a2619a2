"""What a review of the merged web pages found (2026-12-01), each a test that failed before its fix."""

import pytest

from tests.conftest import ended_contract
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 - people is a fixture
from tests.test_web_answers import MARCH, march  # noqa: F401 - march is a fixture

pytestmark = pytest.mark.anyio

TOO_LARGE = [2**31, 2**63, 2**70]  # past SQLite's and PostgreSQL's integers: a 404, never a 500


@pytest.mark.parametrize("obligation_id", TOO_LARGE)
@pytest.mark.parametrize("action", ["resend", "no-such-action"])
async def test_a_request_action_on_an_id_out_of_range_is_not_found(
    client,
    auth,
    people,  # noqa: F811
    obligation_id,
    action,
):
    """Before: the 404 of the id check was caught and the page re-rendered with the raw id: a 500."""
    await ended_contract(client, auth)
    await sign_in(client)
    page = await client.get("/ui/deletions/1")
    assert page.status_code == 200
    answer = await client.post(
        f"/ui/deletions/{obligation_id}/request/{action}", data={"csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 404, answer.text[:300]
    assert "Traceback" not in answer.text


async def test_lookup_exports_are_not_kept_by_browsers_or_proxies(client, people, march):  # noqa: F811
    await sign_in(client, name="lookup-person")
    for fmt in ("csv", "xlsx", "pdf"):
        export = await client.get(f"/ui/lookup/export/{fmt}", params=MARCH)
        assert export.status_code == 200
        assert export.headers["cache-control"] == "no-store", fmt
