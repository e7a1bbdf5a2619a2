"""The vendor page shows the sub-processor chain as a tree, in words."""

import pytest

from registry.tables import PortalSubmission
from tests.conftest import make_vendor
from tests.portal_helpers import PRIVACY, confirmation_form, csrf_of, link
from tests.test_subprocessors import chain_world, engage
from tests.test_web import people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio


async def test_the_vendor_page_shows_the_chain_as_a_tree(client, auth, people):  # noqa: F811
    w = await chain_world(client, auth)
    deeper = await make_vendor(client, auth, name="Tape Vault")
    assert (
        await engage(client, auth, w["sub"]["id"], deeper["id"], authorisation="specific")
    ).status_code == 201
    await sign_in(client, name="viewer-person")
    page = await client.get(f"/ui/vendors/{w['processor']['id']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert '<h2 id="subprocessors">Sub-processors</h2>' in text
    tree = text[text.index('<div class="chain">') :]
    assert tree.index("Backup Services") < tree.index("Tape Vault")
    assert "under our general authorisation" in tree and "under our specific authorisation" in tree
    assert f'<a href="/ui/vendors/{deeper["id"]}">Tape Vault</a>' in tree
    lowest = await client.get(f"/ui/vendors/{deeper['id']}")
    assert (
        "Tape Vault is a sub-processor of Backup Services, itself a sub-processor of Cloud Hosting"
        in lowest.text
    )


async def ended_processor(client, auth) -> tuple[dict, dict]:
    """A processor with a privacy contact (so the portal asks it) and one sub-processor, whose DPA
    was terminated on 2025-06-30."""
    w = await chain_world(client, auth)
    await client.patch(
        f"/vendors/{w['processor']['id']}", json={"privacy_contact": {"email": PRIVACY}}, headers=auth()
    )
    ended = await client.post(
        f"/contracts/{w['dpa']['id']}/terminate",
        json={"terminated_on": "2025-06-30", "reason": "moved"},
        headers=auth(),
    )
    assert ended.status_code == 200, ended.text
    [deletion] = (
        await client.get("/deletions", params={"vendor_id": w["processor"]["id"]}, headers=auth())
    ).json()["items"]
    return w, deletion


async def test_the_portal_asks_for_each_subprocessor(client, auth):
    w, deletion = await ended_processor(client, auth)
    path = await link()
    page = await client.get(path)
    assert page.status_code == 200, page.text
    at = f"subprocessors.{w['sub']['id']}"
    assert "Did Backup Services delete it?" in page.text and f'name="{at}.deleted"' in page.text
    form = confirmation_form(csrf_of(page.text), backups_handling="", last_backup_expires_on="")
    missing = await client.post(f"{path}/confirmation", data=form)
    assert missing.status_code == 400, missing.text
    assert "Say whether Backup Services deleted." in missing.text
    assert await PortalSubmission.count() == 0
    kept = await client.post(f"{path}/confirmation", data={**form, f"{at}.deleted": "no"})
    assert kept.status_code == 400 and "say why, and what remains" in kept.text
    answered = {**form, f"{at}.deleted": "yes", f"{at}.completed_on": "2025-07-08"}
    sent = await client.post(f"{path}/confirmation", data=answered)
    assert sent.status_code == 303, sent.text
    [submission] = await PortalSubmission.select().output(load_json=True)
    assert submission["data"]["subprocessors"] == [
        {"vendor_id": w["sub"]["id"], "deleted": True, "completed_on": "2025-07-08"}
    ]


async def test_the_staff_confirmation_page_asks_for_each_subprocessor(client, auth, people):  # noqa: F811
    w, deletion = await ended_processor(client, auth)
    await sign_in(client, name="editor-person")
    url = f"/ui/deletions/{deletion['id']}/confirm"
    page = await client.get(url)
    assert "Did Backup Services delete it?" in page.text
    form = {
        k: v
        for k, v in confirmation_form(csrf_of(page.text)).items()
        if k not in ("retained", "name", "title", "email", "on_behalf")
    }
    form |= {"backups_handling": "", "last_backup_expires_on": ""}
    refused = await client.post(url, data=form)
    assert refused.status_code == 400
    assert "Backup Services" in refused.text
    at = f"subprocessors.{w['sub']['id']}"
    recorded = await client.post(
        url, data={**form, f"{at}.deleted": "yes", f"{at}.completed_on": "2025-07-08"}
    )
    assert recorded.status_code == 303, recorded.text
    read = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
    assert read["confirmations"][0]["subprocessors"][0]["deleted"] is True


async def test_the_engagement_and_objection_forms(client, auth, people):  # noqa: F811
    w = await chain_world(client, auth)
    other = await make_vendor(client, auth, name="Mail Relay")
    await sign_in(client, name="editor-person")
    vendor_page = await client.get(f"/ui/vendors/{w['processor']['id']}")
    assert f"/ui/vendors/{w['processor']['id']}/subprocessors/new" in vendor_page.text
    url = f"/ui/vendors/{w['processor']['id']}/subprocessors/new"
    page = await client.get(url)
    assert page.status_code == 200 and "Mail Relay" in page.text
    form = {"csrf": csrf_of(page.text), "subprocessor_id": str(other["id"]), "authorisation": "general"}
    form["valid_from"] = "2025-03-01"
    refused = await client.post(url, data=form)  # general: when were we told?
    assert refused.status_code == 400 and 'id="notified_on-error"' in refused.text
    made = await client.post(
        url, data={**form, "notified_on": "2025-02-01", "objection_deadline": "2025-02-20"}
    )
    assert made.status_code == 303, made.text
    [_, e] = (await client.get(f"/vendors/{w['processor']['id']}/subprocessors", headers=auth())).json()
    assert (e["subprocessor_name"], e["objected_on"]) == ("Mail Relay", None)
    objection = f"/ui/subprocessor-engagements/{e['id']}/objection"
    assert objection in (await client.get(f"/ui/vendors/{w['processor']['id']}")).text
    late = await client.post(
        objection, data={"csrf": form["csrf"], "objected_on": "2025-02-21", "reason": "x"}
    )
    assert late.status_code == 400 and "after the deadline" in late.text
    ok = await client.post(
        objection, data={"csrf": form["csrf"], "objected_on": "2025-02-19", "reason": "US"}
    )
    assert ok.status_code == 303, ok.text
    history = (await client.get(f"/ui/vendors/{w['processor']['id']}")).text
    assert "objected to the engagement of “Mail Relay” by “Cloud Hosting”" in history
    assert (await client.get(f"/subprocessor-engagements/{e['id']}", headers=auth())).json()[
        "objected_on"
    ] == "2025-02-19"
