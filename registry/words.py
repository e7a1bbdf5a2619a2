"""Keys in words: the one place that turns a vendor kind, a taxonomy key (fideslang's names, from the
taxonomy table), a sanitization method or technique into what a reader sees. PDFs and pages print the
words, with the key in small type where a reader may need it."""

from collections.abc import Iterable
from typing import Any

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
FIXED = {"vendor_kind": VENDOR_KINDS, "method": METHODS, "technique": TECHNIQUES}
TAXONOMY = {k.value: k for k in TaxonomyKind}  # data_category, data_use, data_subject


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
