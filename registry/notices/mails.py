"""The subscribers' e-mails, plain text and HTML: the confirmation of a subscription, and the notice
of a change to the sub-processor list with how to object. Links are markers (tokens.py)."""

from html import escape

from registry.mail.outbox import Mail
from registry.notices.tokens import CONFIRM_MINTER, NOTICE_MINTER
from registry.portal.mails import typed

CONFIRM = "[[confirm_url]]"
OBJECT = "[[objection_url]]"
UNSUBSCRIBE = "[[unsubscribe_url]]"
LINKS = (CONFIRM, OBJECT, UNSUBSCRIBE)


def _html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{_html_paragraph(p)}</p>" for p in paragraphs)
    return f"<!DOCTYPE html><html><body>{body}</body></html>"


def _html_paragraph(paragraph: str) -> str:
    text = escape(paragraph)
    for marker in LINKS:  # the markers stay markers (the sender fills them); the rest is text
        text = text.replace(marker, f'<a href="{marker}">{marker}</a>')
    return text.replace("\n", "<br>")


def confirmation_mail(organisation: str, to: str, subscriber_id: int, days: int) -> Mail:
    who = typed(organisation)
    paragraphs = [
        f"Someone, probably you, asked to be told by e-mail of changes to the sub-processors of {who}.",
        f"To confirm, open this link and press the button within {days} days:\n{CONFIRM}",
        "If it was not you, ignore this message: nothing more is sent, and the address is erased "
        f"after {days} days.",
        f"-- \n{who}",
    ]
    return Mail(
        kind="subscription_confirm",
        to=(to,),
        subject=f"{who}: confirm your subscription to sub-processor changes",
        text="\n\n".join(paragraphs),
        html=_html(paragraphs),
        about_type="subscriber",
        about_id=subscriber_id,
        minter=CONFIRM_MINTER,
    )


WHAT = {
    "added": "{vendor} will become a sub-processor of {org}",
    "removed": "{vendor} will no longer be a sub-processor of {org}",
    "changed": "what {vendor} does as a sub-processor of {org} changes",
}


def notice_mail(organisation: str, to: str, notice: dict, short_notice: bool) -> Mail:
    """A notice of one change: what changes, from when, how to object, how to unsubscribe."""
    who, vendor, on = typed(organisation), typed(notice["vendor_name"]), notice["effective_on"].isoformat()
    what = WHAT[notice["change"]].format(vendor=vendor, org=who)
    paragraphs = [
        f"{what[0].upper()}{what[1:]} from {on}.",
        typed(notice["summary"]),
        *(
            [f"This notice is shorter than our usual {notice['notice_days']} days: we are sorry for it."]
            if short_notice
            else []
        ),
        f"If you object to this change, tell us before {on} here (the link is personal to you):\n{OBJECT}",
        f"To stop these notices: {UNSUBSCRIBE}",
        f"-- \n{who}",
    ]
    return Mail(
        kind="subprocessor_notice",
        to=(to,),
        subject=f"{who}: {what} from {on}" + (" (short notice)" if short_notice else ""),
        text="\n\n".join(paragraphs),
        html=_html(paragraphs),
        # RFC 8058: a POST of "List-Unsubscribe=One-Click" to that address unsubscribes, nothing else.
        headers=(
            ("List-Unsubscribe", f"<{UNSUBSCRIBE}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ),
        about_type="subprocessor_notice",
        about_id=notice["id"],
        minter=NOTICE_MINTER,
    )


def objection_mail(organisation: str, to: str, notice: dict, late: bool, page: str) -> Mail:
    """To the legal team: a subscriber objects to a notified change (the reason is on the page only)."""
    when = "after it took effect" if late else "before it takes effect"
    paragraphs = [
        f"Subscriber {notice['subscriber']} objects to a change of the sub-processors of {typed(organisation)}, "
        f"{when} ({notice['effective_on'].isoformat()}):",
        typed(notice["summary"]),
        f"Every objection: {page}",
    ]
    return Mail(
        kind="subprocessor_objection",
        to=(to,),
        subject=f"Objection to a sub-processor change: {typed(notice['vendor_name'])}",
        text="\n\n".join(paragraphs),
        html=_html(paragraphs),
        about_type="notice_objection",
        about_id=notice["id"],
    )
