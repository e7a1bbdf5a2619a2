"""Keys in words: the one place that turns a vendor kind, a taxonomy key (fideslang's names, from the
taxonomy table), a sanitization method or technique into what a reader sees. PDFs and pages print the
words, with the key in small type where a reader may need it."""

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pycountry
from markupsafe import Markup, escape

from registry.enums import TaxonomyKind
from registry.tables import TaxonomyEntry

VENDOR_KINDS = {
    "associated_business": "Associated business",
    "agent": "Agent",
    "service_provider": "Service provider",
    "contractor": "Contractor",
}
# NIST SP 800-88 Rev. 1 names its categories in lower case in running text ("purge" media).
METHODS = {"clear": "clear", "purge": "purge", "destroy": "destroy"}
TECHNIQUES = {
    "logical_deletion": "logical deletion",
    "overwrite": "overwrite",
    "cryptographic_erase": "cryptographic erase",
    "block_erase": "block erase",
    "degaussing": "degaussing",
    "physical_destruction": "physical destruction",
    "return_then_delete": "return, then delete",
    "other": "other",
}
BASES = {"contract": "Contract", "consent": "Consent", "legal_obligation": "Legal obligation"}
CONTRACT_KINDS = {
    "nda": "Non-disclosure agreement",
    "dpa": "Data processing agreement",
    "msa": "Master services agreement",
    "sow": "Statement of work",
    "other": "Other",
}
STATUSES = {  # vendors, contracts, deletions and attestations share these words
    "prospective": "Prospective",
    "active": "Active",
    "offboarding": "Offboarding",
    "former": "Former",
    "draft": "Draft",
    "expired": "Expired",
    "terminated": "Terminated",
    "open": "Open",
    "overdue": "Overdue",
    "confirmed": "Confirmed",
    "attested": "Attested",
    "valid": "Valid",
    "revoked": "Revoked",
}
END_OF_CONTRACT = {"delete": "Delete the data", "return_then_delete": "Return the data, then delete it"}
OUTCOMES = {"passed": "Passed", "partial": "Partial", "failed": "Failed"}
REPORT_KINDS = {"deletion": "Deletion", "backup_follow_up": "Backup follow-up"}
NOTE_KINDS = {"info": "Information", "warning": "Warning", "finding": "Finding", "review": "Review"}
ROLES = {
    "processor": "Processor (entrusted party)",
    "sub_processor": "Sub-processor",
    "independent_controller": "Independent controller (another handler)",
    "joint_controller": "Joint controller",
}
MECHANISMS = {
    "adequacy": "EU adequacy decision",
    "scc_2021": "Standard contractual clauses (2021)",
    "bcr": "Binding corporate rules",
    "derogation_49": "Derogation (GDPR Art. 49)",
    "cac_security_assessment": "CAC security assessment",
    "standard_contract": "PIPL standard contract",
    "certification": "Personal information protection certification",
    "other_law": "The origin country's own transfer rules",
}
SCC_MODULES = {
    "1": "Module 1: controller to controller",
    "2": "Module 2: controller to processor",
    "3": "Module 3: processor to processor",
    "4": "Module 4: processor to controller",
}
DEROGATIONS = {
    "a": "(a) explicit consent",
    "b": "(b) contract with the data subject",
    "c": "(c) contract in the data subject's interest",
    "d": "(d) important reasons of public interest",
    "e": "(e) legal claims",
    "f": "(f) vital interests",
    "g": "(g) public register",
}
FIXED = {
    "role": ROLES,
    "mechanism": MECHANISMS,
    "scc_module": SCC_MODULES,
    "derogation": DEROGATIONS,
    "vendor_kind": VENDOR_KINDS,
    "method": METHODS,
    "technique": TECHNIQUES,
    "basis": BASES,
    "contract_kind": CONTRACT_KINDS,
    "status": STATUSES,
    "end_of_contract": END_OF_CONTRACT,
    "outcome": OUTCOMES,
    "report_kind": REPORT_KINDS,
    "note_kind": NOTE_KINDS,
}
TAXONOMY = {k.value: k for k in TaxonomyKind}  # data_category, data_use, data_subject


@functools.lru_cache(maxsize=1024)
def country(code: str | None) -> str:
    """A country by its everyday name (pycountry's common name, else its ISO name): IE → "Ireland"."""
    if not code:
        return "—"
    found = pycountry.countries.get(alpha_2=code)
    return getattr(found, "common_name", None) or (found.name if found else code)


def countries() -> list[tuple[str, str]]:
    """(code, name) of every country, by name: what the country fields offer to type ahead."""
    named = ((c.alpha_2, country(c.alpha_2)) for c in pycountry.countries)
    return sorted(named, key=lambda c: unicodedata.normalize("NFKD", c[1]).casefold())


def day(value: date | datetime | None, empty: str = "—") -> str:
    """A day as people write it: "1 Dec 2026" (the ISO form stays in <time datetime>)."""
    if value is None:
        return empty
    return f"{value.day} {value:%b %Y}"


def moment(value: datetime) -> str:
    """A time of day with its day: "1 Dec 2026, 14:05"."""
    return f"{day(value)}, {value:%H:%M}"


_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


_KEY = re.compile(r"(?<![\w.])[a-z][a-z_]*(?:\.[a-z_]+)+(?![\w.])")


def prose(text: str, words: "Words | None" = None) -> Markup:
    """A sentence written for the API and the command line (ISO days, taxonomy keys) as people read
    it: "Disclosure for marketing.advertising ends on 2026-12-01." → "Disclosure for Advertising
    <small>(marketing.advertising)</small> ends on 1 Dec 2026."."""

    def said_day(found: re.Match) -> str:
        try:
            return day(date(*map(int, found.groups())))
        except ValueError:
            return found.group(0)

    def said_key(key: str) -> Markup:
        kinds = [kind for kind in TAXONOMY if words and key in words.names.get(kind, {})]
        return words.keyed(kinds[0], key) if words and kinds else escape(key)

    plain = _ISO_DAY.sub(said_day, text)
    parts, last = [], 0
    for found in _KEY.finditer(plain):  # each key by its name, the text between escaped
        parts += [escape(plain[last : found.start()]), said_key(found.group(0))]
        last = found.end()
    return Markup("").join([*parts, escape(plain[last:])])


def humane(key: str) -> str:
    """A key nobody named, said as plainly as it can be: ``user.contact.email`` → "user contact email"."""
    return key.replace("_", " ").replace(".", " ").strip() or key


class Words:
    """Names for keys, per kind (vendor_kind, method, technique and the taxonomy's kinds)."""

    def __init__(self, names: dict[str, dict[str, str]]):
        self.names = {**FIXED, **names}

    def __call__(self, kind: str, key: Any) -> str:
        key = getattr(key, "value", key)
        return self.names.get(kind, {}).get(key) or humane(str(key))

    def keyed(self, kind: str, key: Any) -> Markup:
        """The words with the key after them in small type (for the pages and PDFs)."""
        key = getattr(key, "value", key)
        return Markup('{} <small class="key">({})</small>').format(self(kind, key), escape(key))

    def keyed_list(self, kind: str, keys: Iterable[Any]) -> Markup:
        """Several in words, then their keys together in small type: "Name, Email (user.name, ...)"."""
        keys = [getattr(k, "value", k) for k in keys]
        if not keys:
            return Markup("—")
        return Markup('{} <small class="key">({})</small>').format(
            ", ".join(self(kind, k) for k in keys), ", ".join(keys)
        )

    def subset(self, used: dict[str, Iterable[str]]) -> dict[str, dict[str, str]]:
        """The names of just these keys: what a PDF's facts carry, so the worker needs no database."""
        return {kind: {key: self(kind, key) for key in keys} for kind, keys in used.items()}


# The change log's actions as a history line says them: "<who> <verb> <what>".
ACTIONS = {
    "create": "added",
    "update": "changed",
    "delete": "deleted",
    "terminate": "terminated",
    "upload": "attached a signed document to",
    "revoke": "revoked",
    "object": "objected to",
    "end": "ended",
    "open": "opened",
    "confirm": "recorded the vendor's report on",
    "issue": "issued",
}


def actor(name: str) -> str:
    """Who made a change, in words: a person by name, the command line with its user, an API key by
    its name, the registry itself for what follows from dates."""
    kind, _, rest = name.partition(":")
    if kind == "person" and rest:
        return rest
    if kind == "cli" and rest:
        return f"the command line ({rest})"
    if name == "system":
        return "the registry"
    return f"the API key “{name}”"


def history_line(change: dict[str, Any], names: dict[tuple[str, str], str]) -> str:
    """A change as a sentence: "dana terminated the contract “Payment processing DPA”" (the page adds
    the day). ``names``: (object type, id) → the record's name, "the contract “…”"."""
    key = (change["object_type"], str(change["object_id"]))
    what = names.get(key) or f"a {humane(change['object_type'])}"
    verb = ACTIONS.get(change["action"]) or humane(change["action"])
    who = actor(change["actor"])
    who = "T" + who[1:] if who.startswith("the ") else who  # a person's name is written as it is
    return f"{who} {verb} {what}"


def record_names(words: Words, vendor, contracts, disclosures, deletions, attestations, notes) -> dict:
    """Each record of a vendor's page by name, for history lines and journal notes, keyed by the change
    log's and the journal's (object type, id)."""
    names = {("vendor", str(vendor.id)): f"the vendor “{vendor.name}”"}
    titles = {c.id: c.title for c in contracts}
    names |= {("contract", str(c.id)): f"the contract “{c.title}”" for c in contracts}
    for d in disclosures:
        names[("disclosure", str(d.id))] = (
            f"the disclosure of {', '.join(words('data_category', k) for k in d.categories)}"
            f" from {day(d.valid_from)}"
        )
    for d in deletions:
        under = f" under the contract “{titles[d.contract_id]}”" if d.contract_id in titles else ""
        names[("deletion_obligation", str(d.id))] = names[("deletion", str(d.id))] = (
            f"the deletion due {day(d.due_on)}{under}"
        )
    for a in attestations:
        names[("attestation", a.serial)] = names[("attestation", str(a.id))] = f"the attestation {a.serial}"
    names |= {("journal_entry", str(n.id)): "a journal note" for n in notes}
    return names


async def load() -> Words:
    """Every taxonomy name (a few hundred rows at most) with the fixed ones."""
    names: dict[str, dict[str, str]] = {kind: {} for kind in TAXONOMY}
    for row in await TaxonomyEntry.select(TaxonomyEntry.kind, TaxonomyEntry.key, TaxonomyEntry.name):
        names.setdefault(row["kind"], {})[row["key"]] = row["name"]
    return Words(names)


async def for_attestation(facts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The names an attestation's facts need, by kind, for the keys it uses."""
    confirmations = facts["confirmations"]
    return (await load()).subset(
        {
            "vendor_kind": [facts["vendor"]["kind"]],
            "data_subject": facts["obligation"]["data_subjects"],
            "data_category": sorted({k for c in confirmations for k in c["categories"]}),
            "method": [c["method_category"] for c in confirmations],
            "technique": [c["technique"] for c in confirmations],
        }
    )
