"""The e-mails of a request, plain text and HTML: the request itself, reminders, a returned
submission, and notices to the internal owner. Links are the marker ``[[portal_url]]`` (tokens.py)."""

from dataclasses import dataclass
from html import escape
from typing import Any

from registry import words
from registry.mail.outbox import Mail

LINK = "[[portal_url]]"
ABOUT = "vendor_request"
LINKED = ("vendor_request", "vendor_reminder", "vendor_returned")  # the only kinds that carry a link


def typed(text: str) -> str:
    """Text someone typed (a question, reasons, a name) as it may go into a body: never a marker, so
    the sender only ever fills the markers a template placed."""
    return text.replace("[[", "[ [")


@dataclass(frozen=True)
class Asked:
    """What one request asks, in words: everything a message to the vendor says."""

    request_id: int
    organisation: str
    vendor: str
    contract: str
    ended: str
    categories: list[str]
    data_subjects: list[str]
    backups_in_scope: bool
    due_on: str

    def facts(self) -> list[tuple[str, str]]:
        return [
            ("Asked by", self.organisation),
            ("Contract", self.contract),
            ("Ended", self.ended),
            ("Data categories", ", ".join(self.categories)),
            ("Data subjects", ", ".join(self.data_subjects)),
            (
                "Backups",
                "in scope: backup copies must be deleted too" if self.backups_in_scope else "not named",
            ),
            ("Due", self.due_on),
        ]


async def asked(deletion, contract: dict[str, Any], organisation: str, request_id: int) -> Asked:
    names = await words.load()
    title = contract["title"] + (f" ({contract['reference']})" if contract.get("reference") else "")
    return Asked(
        request_id=request_id,
        organisation=typed(organisation),
        vendor=typed(deletion.vendor_name),
        contract=typed(title),
        # The reason for ending it stays internal: it is the legal team's note, not the vendor's.
        ended=f"{deletion.end_kind} on {deletion.ended_on}",
        categories=[typed(names("data_category", k)) for k in deletion.categories],
        data_subjects=[typed(names("data_subject", k)) for k in deletion.data_subjects],
        backups_in_scope=deletion.backups_in_scope,
        due_on=deletion.due_on.isoformat(),
    )


def _mail(kind: str, to: tuple[str, ...], subject: str, paragraphs: list[str], a: Asked, **kw) -> Mail:
    rows = a.facts()
    text = "\n\n".join(
        [*paragraphs[:1], "\n".join(f"{k}: {v}" for k, v in rows), *paragraphs[1:], f"-- \n{a.organisation}"]
    )
    table = "".join(f"<tr><th align=left>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    html = "".join(
        [
            f"<p>{_html_paragraph(paragraphs[0])}</p>",
            f"<table>{table}</table>",
            *(f"<p>{_html_paragraph(p)}</p>" for p in paragraphs[1:]),
            f"<p>{escape(a.organisation)}</p>",
        ]
    )
    return Mail(
        kind=kind,
        to=to,
        subject=subject,
        text=text,
        html=f"<!DOCTYPE html><html><body>{html}</body></html>",
        about_type=ABOUT,
        about_id=a.request_id,
        # By kind, never by what the body happens to contain.
        minter="portal" if kind in LINKED else None,
        **kw,
    )


def _html_paragraph(paragraph: str) -> str:
    # The link stays a marker (the sender substitutes it in both parts); everything else is text.
    parts = escape(paragraph).split(LINK)
    return f'<a href="{LINK}">{LINK}</a>'.join(parts).replace("\n", "<br>")


def _answer() -> str:
    return (
        f"Please confirm the deletion, ask for more time or ask us a question here:\n{LINK}\n"
        "The link is personal to this request; do not forward it."
    )


def request_mail(a: Asked, to: str) -> Mail:
    return _mail(
        "vendor_request",
        (to,),
        f"{a.organisation}: please delete our data ({a.contract}) by {a.due_on}",
        [
            f"Dear {a.vendor},\n\nour contract with you has ended. Under it, you must delete the personal "
            f"data we disclosed to you by {a.due_on}, and confirm it to us.",
            _answer(),
        ],
        a,
    )


def reminder_mail(a: Asked, to: tuple[str, ...], cc: tuple[str, ...], step: str, late_days: int) -> Mail:
    when = (
        f"is {late_days} days overdue"
        if late_days > 0
        else ("is due today" if late_days == 0 else f"is due in {-late_days} days")
    )
    return _mail(
        "vendor_reminder",
        to,
        f"Reminder: the deletion for {a.organisation} {when} ({a.contract})",
        [f"Dear {a.vendor},\n\nthe deletion we asked you to confirm {when}.", _answer()],
        a,
        cc=cc,
        headers=(("X-Registry-Reminder", step),),
    )


RETURNED = {
    "confirmation": (
        "your deletion confirmation needs another look",
        "we could not accept the confirmation you sent. Our reasons:",
        "Please correct it and submit it again:",
    ),
    "extension": (
        "more time for the deletion not granted",
        "we cannot grant the extension you asked for. Our reasons:",
        "The deletion stays due by {due}. Please confirm it, or ask us a question, here:",
    ),
    "question": (
        "our answer to your question",
        "our answer to the question you asked:",
        "Please confirm the deletion, ask for more time or ask us another question here:",
    ),
}


def returned_mail(a: Asked, to: str, reasons: str, kind: str) -> Mail:
    """A submission returned with reasons, worded for what was returned, with a fresh link."""
    what, opening, ask = RETURNED[kind]
    return _mail(
        "vendor_returned",
        (to,),
        f"{a.organisation}: {what} ({a.contract})",
        [
            f"Dear {a.vendor},\n\n{opening}\n\n{typed(reasons)}",
            f"{ask.format(due=a.due_on)}\n{LINK}",
        ],
        a,
    )


def accepted_mail(a: Asked, to: str) -> Mail:
    return _mail(
        "vendor_accepted",
        (to,),
        f"{a.organisation}: deletion confirmation accepted ({a.contract})",
        [f"Dear {a.vendor},\n\nwe accepted your confirmation of the deletion. Thank you."],
        a,
    )


def owner_notice(a: Asked, to: str, what: str, body: str, page: str) -> Mail:
    return _mail(
        "vendor_notice",
        (to,),
        f"{a.vendor} {what} (deletion request {a.request_id})",
        [
            f"{a.vendor} {what} through the vendor portal:\n\n{typed(body)}",
            f"Answer it on the deletion's page: {page}",
        ],
        a,
    )
