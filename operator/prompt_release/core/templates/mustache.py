"""mustache templates: logic-less, the one portable format (pystache here, mustache.js and
cbroglie/mustache in the other SDKs), over JSON data only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prompt_release.core.templates.base import TemplateError

MUSTACHE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", re.ASCII)
"""What a mustache tag may name: a dotted path of identifiers (or `.` inside a section)."""
MAX_SECTION_DEPTH = 32
"""How deeply mustache sections may nest."""
_SIGILS = "#^/>&!="


@dataclass(frozen=True)
class MustacheTag:
    """One tag of a mustache template (comments and delimiter changes left out)."""

    kind: str
    """`name` ({{x}}), `&` ({{{x}}} or {{&x}}), `#` or `^` (a section), `>` (a partial)."""
    name: str
    depth: int
    """How many sections are open around it."""
    offset: int

    @property
    def written(self) -> str:
        sigil = {"name": "", "&": "&"}.get(self.kind, self.kind)
        return f"{{{{{sigil}{self.name}}}}}"


def mustache_tags(text: str) -> list[MustacheTag]:
    """The tags of a mustache template, as mustache.js reads them (a sigil right after the
    opening delimiter; `{{=<% %>=}}` changes the delimiters); TemplateError on a syntax error."""
    opening, closing = "{{", "}}"
    tags: list[MustacheTag] = []
    open_sections: list[str] = []
    position = 0
    while (start := text.find(opening, position)) >= 0:
        inner = start + len(opening)
        if text.startswith("{", inner):
            end = text.find("}" + closing, inner + 1)
            kind, body, position = "&", text[inner + 1 : end], end + 1 + len(closing)
        else:
            end = text.find(closing, inner)
            body, position = text[inner:end], end + len(closing)
            kind = body[:1] if body[:1] and body[:1] in _SIGILS else "name"
            body = body[1:] if kind != "name" else body
        if end < 0:
            raise TemplateError(f"mustache: the tag at offset {start} is never closed")
        if kind == "!":
            continue
        if kind == "=":
            delimiters = body.strip()[:-1].split() if body.strip().endswith("=") else []
            if len(delimiters) != 2 or any("=" in part for part in delimiters):
                raise TemplateError(
                    f"mustache: the delimiter change at offset {start} must name two "
                    "delimiters, e.g. {{=<% %>=}}"
                )
            opening, closing = delimiters
            continue
        name = body.strip()
        if kind == "/":
            if not open_sections or open_sections[-1] != name:
                opened = f"the section {open_sections[-1]}" if open_sections else "no section"
                raise TemplateError(
                    f"mustache: {{{{/{name}}}}} at offset {start} closes {name}, but "
                    f"{opened} is open"
                )
            open_sections.pop()
            continue
        tags.append(MustacheTag(kind, name, len(open_sections), start))
        if kind in "#^":
            open_sections.append(name)
            if len(open_sections) > MAX_SECTION_DEPTH:
                raise TemplateError(
                    f"mustache: sections nest more than {MAX_SECTION_DEPTH} deep at offset {start}"
                )
    if open_sections:
        raise TemplateError(f"mustache: the section {open_sections[-1]} is never closed")
    return tags


def _root(tag: MustacheTag) -> str | None:
    return tag.name.split(".", 1)[0] if MUSTACHE_NAME.fullmatch(tag.name) else None


def fields(text: str) -> set[str]:
    """The variables a template uses: the roots of the names outside any section."""
    return {
        root for tag in mustache_tags(text) if tag.depth == 0 and (root := _root(tag)) is not None
    }


def inner_fields(text: str) -> set[str]:
    """The roots of the names inside sections: a variable, or a field of the section's item."""
    return {
        root for tag in mustache_tags(text) if tag.depth > 0 and (root := _root(tag)) is not None
    }


def refusals(text: str) -> list[str]:
    found: list[str] = []
    for tag in mustache_tags(text):
        where = f"mustache, offset {tag.offset}"
        if tag.kind == ">":
            found.append(
                f"{where}: the partial {tag.written} is refused: a prompt is one "
                "self-contained template"
            )
        elif tag.name == "." and tag.depth == 0:
            found.append(
                f"{where}: {tag.written} outside a section would print every variable; name one"
            )
        elif tag.name != "." and not MUSTACHE_NAME.fullmatch(tag.name):
            found.append(
                f"{where}: {tag.written} is not a name: tags name a variable or a dotted path "
                "of identifiers, e.g. {{ticket}} or {{user.name}}"
            )
    return found


def mustache_data(value: Any, where: str = "") -> Any:
    """Variables as plain JSON data (tuples become lists); TemplateError for anything else, so
    no lambda, object attribute or method is reachable from a template."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        if where and not value:
            return None  # an empty object counts as null, in every SDK
        if not all(isinstance(key, str) for key in value):
            raise TemplateError(f"mustache: {where or 'a variable'} has a key that is not text")
        return {
            key: mustache_data(item, f"{where}.{key}" if where else key)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mustache_data(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise TemplateError(
        f"mustache: {where or 'a variable'} is a {type(value).__name__}; mustache values are "
        "JSON data (text, numbers, booleans, null, lists, objects)"
    )


def mustache_text(value: Any) -> str:
    """How a value prints in a mustache tag, the same in every SDK."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        from prompt_release.core.canonical import CanonicalizationError, number_text

        try:
            return number_text(value)
        except CanonicalizationError as error:
            raise TemplateError(f"mustache: {error}") from error
    if isinstance(value, str):
        return value
    kind = "a list" if isinstance(value, list) else "an object"
    raise TemplateError(f"mustache: a tag names {kind}; iterate it with a section instead")


def render(text: str, variables: Mapping[str, Any]) -> str:
    import pystache

    refused = refusals(text)
    if refused:
        raise TemplateError("; ".join(refused))
    data = mustache_data(dict(variables))

    class Renderer(pystache.Renderer):  # type: ignore[misc]
        def str_coerce(self, value: Any) -> str:
            return mustache_text(value)

    # No escaping (a prompt is not HTML) and no partials: nothing is read from files.
    renderer = Renderer(escape=lambda text: text, partials={}, missing_tags="ignore")
    try:
        return str(renderer.render(text, data))
    except TemplateError:
        raise
    except Exception as error:  # pystache's own parse errors
        raise TemplateError(f"mustache: {type(error).__name__}: {error}") from error
