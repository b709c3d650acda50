"""Declared variables: plain names, or typed entries `{name, type, required, default,
description}`. What the operator checks when a version is created, and what every render binds.

Standard library only: the workload SDK binds variables with it.

- A plain name (`ticket`) is a required variable of any type: exactly what `variables` meant
  before typed entries, and hashed exactly as before (the spec is hashed as written).
- A typed entry names a JSON type (`string`, `number`, `integer`, `boolean`, `object`,
  `array`); without `type` any value fits. `required` is true unless the entry has a
  `default`. A variable that isn't given takes its `default`; one that is neither required nor
  defaulted takes the zero value of its type (`""`, `0`, `false`, `{}`, `[]`; `""` untyped), so
  every template format sees a value.
- `integer` takes whole numbers, `3.0` too (JSON Schema's rule); `number` takes integers;
  booleans are neither numbers nor integers.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TYPES = ("string", "number", "integer", "boolean", "object", "array")
FIELDS = ("name", "type", "required", "default", "description")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
MAX_NAME = 128
MAX_DESCRIPTION = 1024
_ZERO: dict[str | None, Any] = {
    None: "",
    "string": "",
    "number": 0,
    "integer": 0,
    "boolean": False,
    "object": {},
    "array": [],
}


class VariableError(ValueError):
    """The values given don't fit the declared variables (missing, unexpected, wrong type)."""


@dataclass(frozen=True)
class Variable:
    """One declared variable, a plain name or a typed entry alike."""

    name: str
    type: str | None = None
    required: bool = True
    default: Any = None
    has_default: bool = False
    description: str | None = None

    @property
    def typed(self) -> bool:
        return self.type is not None

    def value_when_missing(self) -> Any:
        """What a render uses when the caller gives nothing: the default, else the zero value."""
        return copy.deepcopy(self.default if self.has_default else _ZERO.get(self.type, ""))

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON (what `kubectl prompt` and the SDK show)."""
        found: dict[str, Any] = {"name": self.name, "required": self.required}
        if self.type is not None:
            found["type"] = self.type
        if self.has_default:
            found["default"] = self.default
        if self.description is not None:
            found["description"] = self.description
        return found


def json_type(value: Any) -> str:
    """The JSON type of a value, as JSON Schema names it (`null` for None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def fits(value: Any, type_name: str | None) -> bool:
    """Whether a value is of the declared JSON type (anything fits no type)."""
    if type_name is None:
        return True
    found = json_type(value)
    if type_name == "number":
        return found in ("number", "integer")
    if type_name == "integer":
        return found == "integer" or (
            found == "number" and math.isfinite(value) and float(value).is_integer()
        )
    return found == type_name


def is_typed_entry(entry: Any) -> bool:
    return isinstance(entry, Mapping)


def has_typed_entries(entries: Iterable[Any] | None) -> bool:
    """Whether any entry of `variables` is an object (what a format-2 payload marks)."""
    return any(is_typed_entry(entry) for entry in entries or ())


def entry_name(entry: Any) -> str | None:
    """The name an entry declares, or None when it has none a template could use."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
        return str(entry["name"])
    return None


def names(entries: Iterable[Any] | None) -> list[str]:
    """The declared names, in order (entries without a name left out)."""
    return [name for entry in entries or () if (name := entry_name(entry)) is not None]


def declared(entries: Iterable[Any] | None) -> tuple[Variable, ...]:
    """The entries as Variables. Lenient: the operator refused bad entries already (`problems`);
    a field of the wrong type reads as unset."""
    found: list[Variable] = []
    for entry in entries or ():
        name = entry_name(entry)
        if name is None:
            continue
        if not isinstance(entry, Mapping):
            found.append(Variable(name))
            continue
        kind = entry.get("type") if entry.get("type") in TYPES else None
        has_default = "default" in entry and entry["default"] is not None
        required = entry.get("required")
        description = entry.get("description")
        found.append(
            Variable(
                name=name,
                type=kind,
                required=required if isinstance(required, bool) else not has_default,
                default=entry.get("default") if has_default else None,
                has_default=has_default,
                description=description if isinstance(description, str) else None,
            )
        )
    return tuple(found)


def _entry_problems(where: str, entry: Mapping[str, Any]) -> list[str]:
    """Each problem of one typed entry, named by its place (`variables[2] (count)`)."""
    name = entry.get("name")
    if isinstance(name, str):
        where = f"{where} ({name})"
    found: list[str] = []
    unknown = sorted(str(key) for key in entry if key not in FIELDS)
    if unknown:
        found.append(
            f"{where}: unknown field(s) {', '.join(unknown)} (an entry has {', '.join(FIELDS)})"
        )
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > MAX_NAME:
        found.append(f"{where}: name must be an identifier of at most {MAX_NAME} characters")
    kind = entry.get("type")
    if kind is not None and kind not in TYPES:
        found.append(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
    required = entry.get("required")
    if required is not None and not isinstance(required, bool):
        found.append(f"{where}: required must be true or false")
    description = entry.get("description")
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION
    ):
        found.append(f"{where}: description must be text of at most {MAX_DESCRIPTION} characters")
    default = entry.get("default")
    if default is not None:
        if required is True:
            found.append(f"{where}: a variable with a default is not required; drop one of them")
        if kind in TYPES and not fits(default, kind):
            found.append(f"{where}: default is {json_type(default)}, not {kind}")
    return found


def problems(entries: Sequence[Any] | None) -> list[str]:
    """Every problem of the `variables` list: bad entries and repeated names, each named."""
    found: list[str] = []
    for index, entry in enumerate(entries or ()):
        where = f"variables[{index}]"
        if isinstance(entry, Mapping):
            found.extend(_entry_problems(where, entry))
        elif not isinstance(entry, str):
            found.append(f"{where}: must be a name or an object {{name, type, ...}}")
        elif not NAME.fullmatch(entry) or len(entry) > MAX_NAME:
            found.append(f"{where}: {entry!r} is not an identifier of at most {MAX_NAME} chars")
    listed = names(entries)
    repeated = sorted({name for name in listed if listed.count(name) > 1})
    if repeated:
        found.append("variables lists a name more than once: " + ", ".join(repeated))
    return found


def bind(variables: Sequence[Variable], given: Mapping[str, Any]) -> dict[str, Any]:
    """The values a render uses: those given, checked against their types, and for the rest
    their defaults. VariableError names every missing, unexpected and wrongly typed one."""
    wanted = {variable.name: variable for variable in variables}
    missing = sorted(
        name for name, variable in wanted.items() if name not in given and variable.required
    )
    unexpected = sorted(set(given) - set(wanted))
    wrong = [
        f"{name} must be {wanted[name].type}, not {json_type(value)}"
        for name, value in sorted(given.items())
        if name in wanted and not fits(value, wanted[name].type)
    ]
    problems: list[str] = []
    if missing:
        problems.append("missing variable(s): " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected variable(s): " + ", ".join(unexpected))
    if wrong:
        problems.append("variable(s) of the wrong type: " + "; ".join(wrong))
    if problems:
        raise VariableError(f"{'; '.join(problems)} (declared: {', '.join(sorted(wanted))})")
    bound = dict(given)
    for name, variable in wanted.items():
        if name not in bound:
            bound[name] = variable.value_when_missing()
    return bound
