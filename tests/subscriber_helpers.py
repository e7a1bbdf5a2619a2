"""What the subscription tests share: subscribing and confirming through the front door, links out of
the messages the SMTP catcher received, and a public vendor with a disclosure to come."""

import re
from datetime import date, timedelta

from registry import clock
from tests.conftest import make_contract, make_disclosure, make_vendor

CUSTOMER = "dpo@customer.example"
LINK = re.compile(r"https?://[^/\s]+(/public/(?:confirm|object|unsubscribe)/[A-Za-z0-9_-]+)")


def on_day(monkeypatch, day: date) -> None:
    monkeypatch.setattr(clock, "today", lambda: day)


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def path_of(message, kind: str) -> str:
    """The path of the message's link of this kind (confirm, object, unsubscribe)."""
    return next(p for p in LINK.findall(text_of(message)) if p.startswith(f"/public/{kind}/"))


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def subscribed(client, mailbox, address: str = CUSTOMER) -> None:
    """``address`` subscribes by the JSON route and confirms through the link it was e-mailed."""
    response = await client.post("/public/subscriptions", json={"email": address})
    assert response.status_code == 202, response.text
    [mail] = await mailbox.wait_for(to=address)
    path = path_of(mail, "confirm")
    page = await client.get(path)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    done = await client.post(path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Subscription confirmed" in done.text, done.text


async def public_vendor_from(client, auth, name: str, starts: date) -> dict:
    """A public vendor whose only disclosure starts on ``starts``: it joins the list that day."""
    vendor = await make_vendor(client, auth, name=name, public=True, legal_name=f"{name} GmbH")
    contract = await make_contract(client, auth, vendor["id"])
    await make_disclosure(client, auth, vendor["id"], contract["id"], valid_from=starts.isoformat())
    return vendor


def days_from_now(days: int) -> date:
    return clock.today() + timedelta(days=days)
