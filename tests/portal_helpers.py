"""What the portal tests share: a terminated contract of a vendor with a privacy contact, the outbox's
messages, and the link a message would carry (minted as the mail sender mints it)."""

import re

from registry.portal.tokens import mint_link
from registry.tables import MailMessage, VendorRequest
from tests.conftest import CONFIRMATION, make_contract, make_disclosure, make_vendor

PRIVACY = "privacy@acme.example"
CONTACT = "office@acme.example"


async def asked_vendor(
    client, auth, terminated_on: str = "2025-06-30", reference: str = "DPA-9", **vendor
) -> tuple[dict, dict]:
    """A vendor with both contacts whose DPA (backups covered, 30 days) was terminated."""
    fields = {
        "legal_name": "Acme Hosting GmbH",
        "privacy_contact": {"email": PRIVACY},
        "contact": {"email": CONTACT},
    }
    v = await make_vendor(client, auth, **{**fields, **vendor})
    contract = await make_contract(client, auth, v["id"], reference=reference, backups_covered=True)
    await make_disclosure(client, auth, v["id"], contract["id"])
    response = await client.post(
        f"/contracts/{contract['id']}/terminate",
        json={"terminated_on": terminated_on, "reason": "moved to another provider"},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    [deletion] = (await client.get(f"/deletions?vendor={v['id']}", headers=auth())).json()["items"]
    return v, deletion


async def outbox() -> list[dict]:
    return await MailMessage.select().order_by(MailMessage.id).output(load_json=True)


async def link() -> str:
    """A fresh portal path for the newest request, as the sender puts it into a message."""
    request = await VendorRequest.select(VendorRequest.id).order_by(VendorRequest.id, ascending=False).first()
    url = (await mint_link(request["id"]))["portal_url"]
    return re.sub(r"^https?://[^/]+", "", url)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def confirmation_form(csrf: str, **changes) -> dict[str, str]:
    c = CONFIRMATION
    form = {
        "csrf": csrf,
        "performed_by.name": c["performed_by"]["name"],
        "performed_by.title": c["performed_by"]["title"],
        "performed_by.organisation": c["performed_by"]["organisation"],
        "verified_by.name": c["verified_by"]["name"],
        "verified_by.title": c["verified_by"]["title"],
        "verified_by.organisation": c["verified_by"]["organisation"],
        "method_category": c["method_category"],
        "technique": c["technique"],
        "tool": c["tool"],
        "systems": "\n".join(c["systems"]),
        "environments": "\n".join(c["environments"]),
        "backups_handling": c["backups_handling"],
        "last_backup_expires_on": c["last_backup_expires_on"],
        "subprocessors_covered": "\n".join(c["subprocessors_covered"]),
        "retained": "Invoices | HGB §257 | 2035-12-31",
        "completed_on": c["completed_on"],
        "verification_method": c["verification_method"],
        "verification_result": c["verification_result"],
        "verification_outcome": c["verification_outcome"],
        "name": "Ana Ruiz",
        "title": "Head of IT",
        "email": "ana@acme.example",
        "on_behalf": "on",
    }
    return {**form, **changes}
