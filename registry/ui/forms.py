"""Form fields described once: rendered by templates/form.html.j2, parsed into the API's own Pydantic
schema, with each validation error placed beside the field that caused it and every value kept."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from registry.errors import RegistryError


@dataclass
class Field:
    name: str  # dotted for nested schema fields: performed_by.name
    label: str
    kind: str = "text"  # text, textarea, date, number, url, checkbox, select, lines, csv, choices, file
    required: bool = False
    hint: str = ""
    choices: list[tuple[str, str, int]] = field(default_factory=list)  # (value, label, depth)


def choices(values) -> list[tuple[str, str, int]]:
    return [(str(v), str(v).replace("_", " "), 0) for v in values]


def tree_choices(nodes, depth: int = 0) -> list[tuple[str, str, int]]:
    """Taxonomy nodes as indented choices: the tree a picker shows."""
    found = []
    for node in nodes:
        found.append((node.key, f"{node.name} ({node.key})", depth))
        found += tree_choices(node.children, depth + 1)
    return found


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
        empty = [f.name for f in fields if f.required and not values.get(f.name)]
        if empty:
            return None, dict.fromkeys(empty, "Field required")
    try:
        return schema.model_validate({**body_of(fields, values, clear_empty=editing), **extra}), {}
    except ValidationError as error:
        return None, errors_of(error, fields)


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
        else:
            values[f.name] = "" if value is None else str(value)
    return values


def errors_of(error: ValidationError, fields: list[Field]) -> dict[str, str]:
    names = {f.name for f in fields}
    found: dict[str, str] = {}
    for item in error.errors():
        path = [str(part) for part in item["loc"] if not isinstance(part, int)]
        name = ".".join(path)
        while name and name not in names and "." in name:
            name = name.rsplit(".", 1)[0]
        found.setdefault(name if name in names else "form", item["msg"].removeprefix("Value error, "))
    return found


def registry_errors(error: RegistryError, fields: list[Field], unplaced: str = "form") -> dict[str, str]:
    """A service's refusal by field; one that names no field of the form goes beside ``unplaced``."""
    names = {f.name for f in fields}
    found: dict[str, str] = {}
    for item in error.errors or []:
        found.setdefault(item.field if item.field in names else "form", item.message)
    return found or {unplaced: error.detail}
