"""The EU adequacy decisions and the EEA members, as shipped in adequacy.json (dated and sourced)."""

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).with_name("adequacy.json")


@dataclass(frozen=True)
class AdequacyDecision:
    """A Commission decision that a country protects personal data adequately (GDPR Art. 45)."""

    country: str
    decision: str
    applies_from: date
    applies_until: date | None
    certified_only: bool  # only for certified recipients (the EU-US Data Privacy Framework)
    source: str

    def in_force(self, day: date) -> bool:
        return self.applies_from <= day and (self.applies_until is None or day <= self.applies_until)


@dataclass(frozen=True)
class CountryData:
    checked_on: date
    adequacy: dict[str, AdequacyDecision]
    eea: frozenset[str]


@cache
def load() -> CountryData:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    decisions = {
        item["country"]: AdequacyDecision(
            country=item["country"],
            decision=item["decision"],
            applies_from=date.fromisoformat(item["applies_from"]),
            applies_until=date.fromisoformat(item["applies_until"]) if item.get("applies_until") else None,
            certified_only=bool(item.get("certified_only")),
            source=item["source"],
        )
        for item in raw["adequacy"]
    }
    return CountryData(date.fromisoformat(raw["checked_on"]), decisions, frozenset(raw["eea"]))


def in_eea(country: str) -> bool:
    return country in load().eea


def adequacy(country: str) -> AdequacyDecision | None:
    return load().adequacy.get(country)
