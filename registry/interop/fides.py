"""Vendors and their disclosures as fideslang ``system`` resources (YAML), and back.

Export: one System per vendor, one PrivacyDeclaration per disclosure; what fideslang has no field for
goes in ``System.meta["registry"]``. Import: the systems become the rows of the spreadsheet import, so
the same rules, natural keys, dry run and all-or-nothing apply; its row errors are translated back to
paths in the YAML (``system[2].privacy_declarations[0].data_use``). See docs/fides.md.
The mapping only: service.py does the reads and the import around it.
"""

import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import yaml
from fideslang.models import PrivacyDeclaration, System
from pydantic import ValidationError

from registry.disclosures.schemas import DisclosureRead
from registry.enums import LegalBasis, RecipientRole, TransferMechanism, VendorKind
from registry.imports import service as imports
from registry.imports.service import RowError
from registry.interop.schemas import ContactMeta, DeclarationMeta, VendorMeta
from registry.transfers.rules import is_transfer

MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
SYSTEM_TYPE = "Third Party"
# Without aliases a YAML document is as large as its text; the depth bound keeps parsers off the stack.
MAX_DEPTH = 50
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# The registry's three bases are three of fideslang's six (GDPR Art. 6(1)(a)-(c)).
TO_FIDES = {
    LegalBasis.contract: "Contract",
    LegalBasis.consent: "Consent",
    LegalBasis.legal_obligation: "Legal obligations",
}
FROM_FIDES = {fides: basis for basis, fides in TO_FIDES.items()}
# fideslang's System.responsibility: the role over the data (Controller, Processor, Sub-Processor).
RESPONSIBILITY = {
    RecipientRole.processor: "Processor",
    RecipientRole.sub_processor: "Sub-Processor",
    RecipientRole.independent_controller: "Controller",
    RecipientRole.joint_controller: "Controller",
}
# fideslang's LegalBasisForTransfersEnum has no PIPL or Art. 49 values: those are "Other" (the
# mechanism itself is in meta.registry).
TRANSFER_BASIS = {
    TransferMechanism.adequacy: "Adequacy Decision",
    TransferMechanism.scc_2021: "SCCs",
    TransferMechanism.bcr: "BCRs",
}
_BASIS_WORDS = {
    LegalBasis.contract: "contract",
    LegalBasis.consent: "consent",
    LegalBasis.legal_obligation: "legal obligation",
}


# --- what fideslang has no field for: System.meta["registry"] -------------------------------------------


def _compact(value: Any) -> Any:
    """Without empty values: the YAML says only what is known."""
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {}}
    return value


# --- export -------------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")[:100] or "vendor"


def fides_keys(names: list[str]) -> dict[str, str]:
    """A unique FidesKey per vendor name: its slug; on a clash the names sorting later get a suffix
    hashed from the name, so keys depend on names only, never on ids or the order of creation."""
    keys: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(names):
        key, digest, length = _slug(name), hashlib.sha256(name.encode()).hexdigest(), 8
        while key in used:
            key, length = f"{_slug(name)}_{digest[:length]}", length + 8
        keys[name] = key
        used.add(key)
    return keys


def _named(disclosures: list[DisclosureRead]) -> list[tuple[str, DisclosureRead]]:
    """Each disclosure with a declaration name unique within its vendor, stable across registries."""

    def base(d: DisclosureRead) -> str:
        basis = _BASIS_WORDS[d.basis] + (f" {d.contract_reference}" if d.contract_reference else "")
        return f"{d.purpose} ({basis}, from {d.valid_from.isoformat()})"

    ordered = sorted(
        disclosures,
        key=lambda d: (base(d), sorted(d.categories), sorted(d.data_subjects), str(d.valid_to), d.id),
    )
    seen: dict[str, int] = defaultdict(int)
    named = []
    for d in ordered:
        seen[base(d)] += 1
        named.append((base(d) if seen[base(d)] == 1 else f"{base(d)} #{seen[base(d)]}", d))
    return named


def _contact(vendor: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {f: vendor[f"{prefix}_{f}"] for f in ("name", "email", "phone")}


def _transfers(disclosures: list, mechanisms: dict[int, str]) -> dict[str, Any]:
    """fideslang's transfer fields of a System, from its disclosures' transfer records."""
    crossing = [d for d in disclosures if is_transfer(d.origin, d.country)]
    bases = sorted(
        {
            TRANSFER_BASIS.get(TransferMechanism(mechanisms[d.id]), "Other")
            for d in crossing
            if d.id in mechanisms
        }
    )
    return {"does_international_transfers": bool(crossing), "legal_basis_for_transfers": bases or None}


def _system(
    key: str,
    vendor: dict[str, Any],
    parent: str | None,
    disclosures: list,
    mechanisms: dict[int, str],
    chains: dict[int, list[str]],
) -> System:
    declarations, facts = [], {}
    for name, d in _named(disclosures):
        declarations.append(
            {
                "name": name,
                "data_categories": sorted(d.categories),
                "data_use": d.purpose,
                "data_subjects": sorted(d.data_subjects),
                "legal_basis_for_processing": TO_FIDES[d.basis],
                "flexible_legal_basis_for_processing": False,
            }
        )
        facts[name] = {
            "contract": d.contract_reference,
            "valid_from": d.valid_from.isoformat(),
            "valid_to": d.valid_to.isoformat() if d.valid_to else None,
            "country": d.country,
            "consent_reference": d.consent_reference,
            "legal_reference": d.legal_reference,
            "notes": d.notes,
            "role": d.role.value,
            "origin": d.origin,
            "transfer_mechanism": mechanisms.get(d.id),
            # A sub-processor's processors, ours first: fideslang has no field for a chain.
            "processor_chain": chains.get(d.id),
        }
    privacy = _contact(vendor, "privacy_contact")
    meta = {
        "kind": vendor["kind"],
        "country": vendor["country"],
        "parent": parent,
        "website": vendor["website"],
        "public": vendor["public"],
        "contact": _contact(vendor, "contact"),
        "privacy_contact": privacy,
        "declarations": facts,
    }
    fields = {
        "fides_key": key,
        "name": vendor["name"],
        "description": vendor["notes"],
        "system_type": SYSTEM_TYPE,
        "tags": vendor["tags"] or None,
        "legal_name": vendor["legal_name"],
        "legal_address": vendor["registered_address"],
        "dpo": privacy["email"] or privacy["name"],
        "meta": {"registry": _compact(meta)},
        "privacy_declarations": declarations,
        "responsibility": sorted({RESPONSIBILITY[d.role] for d in disclosures}) or None,
        **_transfers(disclosures, mechanisms),
    }
    return System.model_validate({k: v for k, v in fields.items() if v is not None})


def manifest(
    vendors: list[dict[str, Any]],
    by_vendor: dict[int, list[DisclosureRead]],
    mechanisms: dict[int, str],
    chains: dict[int, list[str]] | None = None,
) -> str:
    """The YAML manifest: every vendor as a System, with the disclosures listed for it."""
    names = {v["id"]: v["name"] for v in vendors}
    keys = fides_keys(list(names.values()))
    systems = sorted(
        (
            _system(
                keys[v["name"]],
                v,
                names.get(v["parent"]),
                by_vendor.get(v["id"], []),
                mechanisms,
                chains or {},
            )
            for v in vendors
        ),
        key=lambda s: s.fides_key,
    )
    document = {"system": [s.model_dump(mode="json", exclude_unset=True) for s in systems]}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


# --- import: reading and validating the YAML ----------------------------------------------------------


class Invalid(Exception):
    def __init__(self, errors: list[RowError]):
        self.errors = errors


def row_error(path: str, rule: str, message: str) -> RowError:
    # Row 0: not a spreadsheet row; the column is the path in the YAML.
    return RowError("system", 0, path, rule, message)


def load(content: bytes) -> Any:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid([row_error("file", "utf8", "a YAML file must be UTF-8")]) from None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise Invalid([row_error("file", "alias", "aliases (*name) are not allowed")])
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise Invalid([row_error("file", "depth", f"nested deeper than {MAX_DEPTH} levels")])
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise Invalid([row_error("file", "yaml", f"not valid YAML: {problem}{where}")]) from None


def _path(prefix: str, loc: tuple) -> str:
    return prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _pydantic_errors(prefix: str, exc: ValidationError) -> list[RowError]:
    return [
        row_error(_path(prefix, e["loc"]), imports.PYDANTIC_RULES.get(e["type"], e["type"]), e["msg"])
        for e in exc.errors()
    ]


@dataclass
class Entry:
    """One valid system: its index in the file, the model, its meta, its declarations in file order."""

    index: int
    system: System
    meta: VendorMeta
    declarations: list[PrivacyDeclaration]


def _entry(index: int, raw: Any) -> Entry:
    where = f"system[{index}]"
    if not isinstance(raw, dict):
        raise Invalid([row_error(where, "type", "a system is a mapping")])
    try:
        system = System.model_validate(raw)
        registry = (system.meta or {}).get("registry")
        meta = VendorMeta.model_validate({} if registry is None else registry)
    except ValidationError as exc:
        prefix = where if exc.title == "System" else f"{where}.meta.registry"
        raise Invalid(_pydantic_errors(prefix, exc)) from None
    except TypeError:  # fideslang sorts the declarations by name; unnamed ones do not compare
        raise Invalid(
            [
                row_error(
                    f"{where}.privacy_declarations", "name", "with several declarations, each needs a name"
                )
            ]
        ) from None
    system.name = (system.name or "").strip()
    if not system.name:
        raise Invalid([row_error(f"{where}.name", "required", "a system needs a name: the vendor's name")])
    declarations = [PrivacyDeclaration.model_validate(d) for d in raw["privacy_declarations"]]
    names = [d.name for d in declarations]
    errors = [
        row_error(f"{where}.privacy_declarations[{j}].name", "unique", "another declaration has this name")
        for j, name in enumerate(names)
        if name is not None and name in names[:j]
    ]
    errors += [
        row_error(
            f"{where}.meta.registry.declarations", "exists", f"no privacy declaration is named {name!r}"
        )
        for name in meta.declarations
        if name not in names
    ]
    if errors:
        raise Invalid(errors)
    return Entry(index, system, meta, declarations)


def entries(document: Any) -> list[Entry]:
    if not isinstance(document, dict) or not isinstance(document.get("system"), list):
        raise Invalid([row_error("system", "required", "a Fides manifest is a mapping with a `system` list")])
    entries, errors = [], []
    for index, raw in enumerate(document["system"]):
        try:
            entries.append(_entry(index, raw))
        except Invalid as exc:
            errors += exc.errors
    for attribute in ("fides_key", "name"):
        seen: set[str] = set()
        for e in entries:
            value = getattr(e.system, attribute)
            if value in seen:
                errors.append(row_error(f"system[{e.index}].{attribute}", "unique", "another system has it"))
            seen.add(value)
    if errors:
        raise Invalid(errors)
    return entries


# --- import: systems as the rows of the spreadsheet import --------------------------------------------

# Each column of the import's sheets and where its value sits in a system (for error paths).
VENDOR_PATHS = {
    "name": "name",
    "legal_name": "legal_name",
    "kind": "meta.registry.kind",
    "country": "meta.registry.country",
    "parent": "meta.registry.parent",
    "registered_address": "legal_address",
    "website": "meta.registry.website",
    "tags": "tags",
    "public": "meta.registry.public",
    **{
        f"{prefix}_{f}": f"meta.registry.{prefix}.{f}"
        for prefix in ("contact", "privacy_contact")
        for f in ("name", "email", "phone")
    },
    "notes": "description",
}
DECLARATION_PATHS = {
    "basis": "legal_basis_for_processing",
    "purpose": "data_use",
    "categories": "data_categories",
    "data_subjects": "data_subjects",
}
# transfer_mechanism and processor_chain are exported for reading only: an import records neither a
# transfer record nor an engagement.
DISCLOSURE_COLUMNS = (
    "vendor",
    *DECLARATION_PATHS,
    *(f for f in DeclarationMeta.model_fields if f not in ("transfer_mechanism", "processor_chain")),
)
FROM_RESPONSIBILITY = {
    "Processor": RecipientRole.processor,
    "Sub-Processor": RecipientRole.sub_processor,
    "Controller": RecipientRole.independent_controller,
}


def role_of(system: System) -> str | None:
    """A system's one responsibility as a role (a joint controller is told by meta.registry only)."""
    found = {getattr(r, "value", r) for r in system.responsibility or []}
    return FROM_RESPONSIBILITY[found.pop()].value if len(found) == 1 else None


NO_COUNTRY = "fideslang has no country field: set meta.registry.country (ISO 3166-1 alpha-2)"
NO_BASIS = "the registry records disclosures under Contract, Consent or Legal obligations"


@dataclass
class Sheets:
    """The rows for the import, where each came from, and what failed before any was imported."""

    vendors: list[list[Any]] = field(default_factory=lambda: [list(VENDOR_PATHS)])
    disclosures: list[list[Any]] = field(default_factory=lambda: [list(DISCLOSURE_COLUMNS)])
    vendor_places: list[int] = field(default_factory=list)  # system index by vendor row
    disclosure_places: list[tuple[int, int, str | None]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def system_of(self, error: RowError) -> int:
        """The index of the system a sheet row came from (rows are numbered from 2)."""
        if error.sheet == "vendors":
            return self.vendor_places[error.row - 2]
        return self.disclosure_places[error.row - 2][0]


def parents_first(entries: list[Entry]) -> list[Entry]:
    """A parent vendor's row before its children's, as the import looks parents up by name."""
    pending = {e.system.name: e for e in entries}
    ordered: list[Entry] = []
    while pending:
        ready = [e for e in pending.values() if e.meta.parent not in pending] or list(pending.values())
        ordered += ready
        for e in ready:
            del pending[e.system.name]
    return ordered


def _dpo(value: str | None) -> ContactMeta:
    if not value:
        return ContactMeta()
    return ContactMeta(email=value) if "@" in value else ContactMeta(name=value)


def vendor_row(e: Entry, known: bool) -> list[Any]:
    system, meta = e.system, e.meta
    contacts = {"contact": meta.contact or ContactMeta(), "privacy_contact": meta.privacy_contact}
    contacts["privacy_contact"] = contacts["privacy_contact"] or _dpo(system.dpo)
    values = {
        "name": system.name,
        "legal_name": system.legal_name,
        # Another Fides deployment's systems carry no kind: new vendors are service providers.
        "kind": meta.kind or (None if known else VendorKind.service_provider.value),
        "country": meta.country,
        "parent": meta.parent,
        "registered_address": system.legal_address,
        "website": meta.website,
        "tags": ",".join(system.tags) if system.tags else None,
        "public": meta.public,
        **{f"{p}_{f}": getattr(c, f) for p, c in contacts.items() for f in ("name", "email", "phone")},
        "notes": system.description,
    }
    return [values[column] for column in VENDOR_PATHS]


def located(error: RowError, sheets: Sheets) -> RowError:
    """A row error of the spreadsheet import as a path in the YAML."""
    where = f"system[{sheets.system_of(error)}]"
    if error.sheet == "vendors":
        path = f"{where}.{VENDOR_PATHS.get(error.column, error.column)}".rstrip(".")
        return row_error(path, error.rule, error.message)
    _, j, name = sheets.disclosure_places[error.row - 2]
    if error.column == "vendor":
        path = f"{where}.name"
    elif error.column in DECLARATION_PATHS:
        path = f"{where}.privacy_declarations[{j}].{DECLARATION_PATHS[error.column]}"
    elif error.column and name is not None:
        path = f'{where}.meta.registry.declarations["{name}"].{error.column}'
    else:
        path = f"{where}.privacy_declarations[{j}].{error.column}".rstrip(".")
    return row_error(path, error.rule, error.message)
