"""f-string templates: plain-name placeholders, filled here one at a time (`str.format`
never sees the template, so nothing can walk an attribute)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release.core.templates.base import TemplateError

PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
"""What an f-string placeholder may be: an identifier, as `spec.variables` declares them."""

CONVERSIONS = ("r", "s", "a")
MAX_FORMAT_WIDTH = 1000
"""The largest width and precision a format spec may ask for (`{x:>1000}`)."""

_STANDARD_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?\#?0?(?P<width>[0-9]+)?[_,]?(?:\.(?P<precision>[0-9]+))?"
    r"[bcdeEfFgGnosxX%]?",
    re.ASCII | re.DOTALL,
)
"""Python's format-spec mini-language: [[fill]align][sign][z][#][0][width][,][.prec][type]."""


# --- f-string ------------------------------------------------------------------------------


def _parse(text: str) -> list[tuple[str, str | None, str, str | None]]:
    """(literal, field, format spec, conversion) per part; field None after the last one."""
    try:
        return [
            (literal, field, spec or "", conversion)
            for literal, field, spec, conversion in string.Formatter().parse(text)
        ]
    except ValueError as error:
        raise TemplateError(f"f-string syntax: {error}") from error


def _source(field: str, spec: str, conversion: str | None) -> str:
    """The placeholder as written, to name it in a message."""
    converted = "" if conversion is None else f"!{conversion}"
    specified = f":{spec}" if spec else ""
    return f"{{{field}{converted}{specified}}}"


def _positional(field: str) -> bool:
    root = field.split(".", 1)[0].split("[", 1)[0]
    return not root or root.isdigit()


def fields(text: str) -> set[str]:
    names: set[str] = set()
    for _, field, spec, _ in _parse(text):
        if field is None:
            continue
        if _positional(field):
            raise TemplateError(
                f"f-string placeholder {{{field}}} is positional; name it, e.g. {{ticket}}"
            )
        names.add(field.split(".", 1)[0].split("[", 1)[0])
        if spec:
            names |= fields(spec)  # nested, e.g. {value:{width}}
    return names


def refusals(text: str) -> list[str]:
    """Every placeholder that is more than a plain name with a literal, bounded format spec."""
    found: list[str] = []
    for _, field, spec, conversion in _parse(text):
        if field is None:
            continue
        written = _source(field, spec, conversion)
        if _positional(field):
            found.append(f"f-string placeholder {written} is positional; name it, e.g. {{ticket}}")
        elif not PLAIN_NAME.fullmatch(field):
            found.append(
                f"f-string placeholder {written} is not a plain name: attribute and index "
                "access are refused (placeholders are plain names, e.g. {ticket})"
            )
        if conversion is not None and conversion not in CONVERSIONS:
            found.append(
                f"f-string placeholder {written} has the unknown conversion !{conversion} "
                "(!r, !s or !a)"
            )
        if "{" in spec or "}" in spec:
            found.append(
                f"f-string placeholder {written} nests a placeholder in its format spec; "
                "format specs must be literal, e.g. {price:>10.2f}"
            )
            continue
        matched = _STANDARD_SPEC.fullmatch(spec)
        if matched is None:
            found.append(
                f"f-string placeholder {written} has the format spec {spec!r}, which is not a "
                "standard format spec ([[fill]align][sign][#][0][width][,][.precision][type])"
            )
            continue
        for part in ("width", "precision"):
            if int(matched.group(part) or 0) > MAX_FORMAT_WIDTH:
                found.append(
                    f"f-string placeholder {written} asks for a {part} of "
                    f"{matched.group(part)}, over the limit of {MAX_FORMAT_WIDTH}"
                )
    return found


@dataclass(frozen=True)
class _Field:
    name: str
    conversion: str | None
    spec: str


def _parts(text: str) -> Iterator[tuple[str, _Field | None]]:
    """The literal text and the placeholder of each part, refusing any unsafe placeholder."""
    refused = refusals(text)
    if refused:
        raise TemplateError("; ".join(refused))
    for literal, field, spec, conversion in _parse(text):
        yield literal, None if field is None else _Field(field, conversion, spec)


def render(text: str, variables: Mapping[str, Any]) -> str:
    out: list[str] = []
    for literal, field in _parts(text):
        out.append(literal)
        if field is None:
            continue
        if field.name not in variables:
            raise TemplateError(f"f-string: no value for the placeholder {{{field.name}}}")
        value = variables[field.name]
        try:
            if field.conversion == "r":
                value = repr(value)
            elif field.conversion == "s":
                value = str(value)
            elif field.conversion == "a":
                value = ascii(value)
            out.append(format(value, field.spec))
        except Exception as error:  # a value's own __format__ may raise anything
            written = _source(field.name, field.spec, field.conversion)
            raise TemplateError(f"f-string placeholder {written}: {error}") from error
    return "".join(out)
