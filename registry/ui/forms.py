"""Form fields described once: rendered by templates/form.html.j2, parsed into the API's own Pydantic
schema, with each validation error placed beside the field that caused it and every value kept."""

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from registry import words
from registry.errors import RegistryError


@dataclass
class Field:
    name: str  # dotted for nested schema fields: performed_by.name
    label: str
    # text, textarea, date, number, url, checkbox, select, lines, csv, choices, file, country
    kind: str = "text"
    required: bool = False
    hint: str = ""
    choices: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, depth)
    codes: bool = False  # the choices are taxonomy keys: shown in small type after their names


def choices(values, kind: str) -> list[tuple[str, str, int]]:
    """An enum's values as choices, each by its words (registry/words.py)."""
    said = words.Words({})
    return [(str(v), said(kind, v), 0) for v in values]


def tree_choices(nodes, depth: int = 0) -> list[tuple[str, str, int]]:
    """Taxonomy nodes as indented choices: the tree a picker shows (names; the template adds keys)."""
    found = []
    for node in nodes:
        found.append((node.key, node.name, depth))
        found += tree_choices(node.children, depth + 1)
    return found


def country_code(typed: str) -> str:
    """A country as typed: its name (any case, as the list offers it) or its two-letter code."""
    typed = typed.strip()
    by_name = {name.casefold(): code for code, name in words.countries()}
    return by_name.get(typed.casefold(), typed)


def values_of(fields: list[Field], form) -> dict[str, Any]:
    """What was typed, per field, for showing the form again (lists for multi-value fields)."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.kind == "choices":
            values[f.name] = [v for v in form.getall(f.name, []) if isinstance(v, str)]
        else:
            value = form.get(f.name, "")
            values[f.name] = value if isinstance(value, str) else ""
    return values


def body_of(fields: list[Field], values: dict[str, Any], clear_empty: bool = False) -> dict[str, Any]:
    """The request body the schema expects: empty optional fields left out (or, when editing, sent as
    null, which clears them), nested names nested."""
    body: dict[str, Any] = {}
    for f in fields:
        if f.kind == "file":
            continue
        value = values.get(f.name)
        if f.kind == "checkbox":
            converted: Any = value == "on"
        elif f.kind == "choices":
            converted = value or None
        elif f.kind == "lines":
            converted = [line.strip() for line in (value or "").splitlines() if line.strip()] or None
        elif f.kind == "csv":
            converted = [item.strip() for item in (value or "").split(",") if item.strip()]
        elif f.kind == "country":
            converted = country_code(value or "") or None
        else:
            converted = (value or "").strip() or None
        if converted is None and not (clear_empty and not f.required):
            continue
        target = body
        *parents, leaf = f.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = converted
    return body


def validate(
    schema: type[BaseModel], fields: list[Field], values: dict[str, Any], editing: bool = False, **extra: Any
):
    """(model, {}) or (None, {field name: message}). Editing: a required field left empty is an error
    (not "unchanged"), and empty optional fields clear what was there."""
    if editing:
        empty = {
            f.name: said({"type": "missing"}, f, fields)
            for f in fields
            if f.required and not values.get(f.name)
        }
    else:
        empty = {}
    try:
        model = schema.model_validate({**body_of(fields, values, clear_empty=editing), **extra})
    except ValidationError as error:
        return None, {**errors_of(error, fields), **empty}
    return (None, empty) if empty else (model, {})


def form_values(fields: list[Field], record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the form shows it (for editing)."""
    values: dict[str, Any] = {}
    for f in fields:
        value: Any = record
        for part in f.name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if f.kind == "checkbox":
            values[f.name] = "on" if value else ""
        elif f.kind == "choices":
            values[f.name] = [str(v) for v in value or []]
        elif f.kind == "lines":
            values[f.name] = "\n".join(value or [])
        elif isinstance(value, list):
            values[f.name] = ", ".join(map(str, value))
        elif f.kind == "country" and value:
            values[f.name] = words.country(value)
        else:
            values[f.name] = "" if value is None else str(value)
    return values


def errors_of(error: ValidationError, fields: list[Field]) -> dict[str, str]:
    """Every schema error, each beside its field, in words naming the field's label and the rule."""
    by_name = {f.name: f for f in fields}
    found: dict[str, str] = {}
    for item in error.errors():
        path = [str(part) for part in item["loc"] if not isinstance(part, int)]
        name = ".".join(path)
        while name and name not in by_name and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in by_name:
            found.setdefault(name, said(item, by_name[name], fields))
        else:
            found.setdefault("form", labelled(item["msg"].removeprefix("Value error, "), fields))
    return found


def registry_errors(error: RegistryError, fields: list[Field], unplaced: str = "form") -> dict[str, str]:
    """A service's refusal by field, in words; one that names no field of the form goes beside
    ``unplaced``."""
    by_name = {f.name: f for f in fields}
    found: dict[str, str] = {}
    for item in error.errors or []:
        target = by_name.get(item.field)
        message = labelled(item.message, fields)
        found.setdefault(
            item.field if target else "form", f"{target.label}: {message}" if target else message
        )
    return found or {unplaced: labelled(error.detail, fields)}


def labelled(message: str, fields: list[Field]) -> str:
    """A rule's message with the fields it names by their labels: "must not be before valid_from" →
    "must not be before “Start date”"."""
    for f in sorted(fields, key=lambda f: -len(f.name)):
        message = re.sub(rf"(?<![\w.]){re.escape(f.name)}(?![\w.])", f"“{f.label}”", message)
    return message


def said(item: dict[str, Any], f: Field, fields: list[Field]) -> str:
    """One schema error as a person reads it: the field's label, then the rule in plain words."""
    kind, ctx = item["type"], item.get("ctx") or {}
    if f.kind == "country":
        rule = "choose a country from the list, or type its two-letter code, such as IE."
    elif kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        rule = {"select": "choose one of the options.", "choices": "choose at least one."}.get(
            f.kind, "required."
        )
    elif kind == "too_short":
        rule = "choose at least one." if f.kind == "choices" else f"at least {ctx.get('min_length')} needed."
    else:
        rule = RULES.get(kind, "").format(**ctx) or labelled(
            item["msg"].removeprefix("Value error, "), fields
        )
        if kind == "value_error" and f.kind == "date":
            rule = RULES["date_parsing"]
        elif kind == "string_pattern_mismatch" and f.kind == "csv":
            rule = "each one lower-case letters, digits, '.', '_' or '-', at most 40 characters."
    return f"{f.label}: {rule}"


RULES = {
    "string_too_long": "at most {max_length} characters.",
    "string_too_short": "at least {min_length} characters.",
    "too_long": "at most {max_length}.",
    "int_parsing": "a whole number, such as 30.",
    "int_type": "a whole number, such as 30.",
    "greater_than_equal": "at least {ge}.",
    "less_than_equal": "at most {le}.",
    "enum": "choose one of the options.",
    "literal_error": "choose one of the options.",
    "bool_parsing": "tick the box or leave it empty.",
    "date_parsing": "a date written YYYY-MM-DD, such as 2026-12-01.",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD, such as 2026-12-01.",
    "date_type": "a date written YYYY-MM-DD, such as 2026-12-01.",
    "url_parsing": "a full web address, such as https://example.com.",
    "url_scheme": "a web address starting https:// or http://.",
    "url_too_long": "at most {max_length} characters.",
    "string_pattern_mismatch": "not in the form expected here.",
}
