"""Placeholders and rendering for f-string, jinja2 and mustache prompts.

f-string needs the standard library; jinja2 and mustache (pystache) are imported only for
prompts of their format.

Shared by the operator (validation), the CLI (`render`) and the workload SDK, so a template the
operator accepts renders the same way everywhere.

Safety rules (see docs/bad-input.md):

- f-string placeholders are plain names (`{ticket}`), as `spec.variables` declares them: no
  attribute or index access (`{ticket.__class__}`, `{items[0]}`), in the placeholder or nested
  in its format spec. A conversion (`!r`, `!s`, `!a`) and a literal standard format spec
  (`{price:>10.2f}`) are allowed, with width and precision at most `MAX_FORMAT_WIDTH`; a
  placeholder nested in a format spec (`{value:{width}}`) is refused, since its width would come
  from the caller at render time. Rendering fills the fields itself: `str.format` never sees
  the template, so nothing can walk an attribute even if validation were bypassed.
- jinja2 renders only in jinja2's immutable sandbox. Validation also refuses, before anything
  renders, what the sandbox would refuse later: attributes and items named `_…` (and the
  sandbox's internal attributes), and `include`, `import`, `extends` (a prompt is one template).
- mustache is logic-less and the one portable format: the TypeScript and Go SDKs render it
  too, and the conformance kit (`conformance/`) proves the three agree. Tag names are `.` (in a
  section) or dotted identifiers (`{{ticket}}`, `{{user.name}}`); partials (`{{> name}}`) are
  refused, as they would read files; values are JSON data only (strings, numbers, booleans,
  null, lists, objects), so no lambda and no attribute of a language object is ever reached.
  Nothing is HTML-escaped: `{{x}}` and `{{{x}}}` both insert the value as it is (a prompt is
  not HTML). Numbers print in their shortest ECMAScript form, booleans as `true`/`false`, null
  as nothing, an empty object as null; interpolating a list or an object is an error (iterate
  it with a section).
  Names inside a section may be fields of the section's items: they need not be declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from prompt_release.core.templates import fstring, jinja, mustache
from prompt_release.core.templates.base import (
    F_STRING,
    FORMATS,
    JINJA2,
    MUSTACHE,
    PORTABLE_FORMATS,
    TemplateError,
    template_format_of,
)
from prompt_release.core.templates.fstring import MAX_FORMAT_WIDTH, PLAIN_NAME
from prompt_release.core.templates.mustache import (
    MustacheTag,
    mustache_data,
    mustache_tags,
    mustache_text,
)

__all__ = [
    "FORMATS",
    "F_STRING",
    "JINJA2",
    "MAX_FORMAT_WIDTH",
    "MUSTACHE",
    "PLAIN_NAME",
    "PORTABLE_FORMATS",
    "MustacheTag",
    "TemplateError",
    "checked_placeholders",
    "is_portable",
    "mustache_data",
    "mustache_tags",
    "mustache_text",
    "optional_placeholders",
    "placeholders",
    "refusals",
    "render_text",
    "template_format_of",
]


class _Format(Protocol):
    """What each format's module provides."""

    def fields(self, text: str) -> set[str]: ...
    def refusals(self, text: str) -> list[str]: ...
    def render(self, text: str, variables: Mapping[str, Any]) -> str: ...


_MODULES: dict[str, _Format] = {F_STRING: fstring, JINJA2: jinja, MUSTACHE: mustache}


def _module(template_format: str) -> _Format:
    try:
        return _MODULES[template_format]
    except KeyError:
        raise TemplateError(
            f"unknown templateFormat {template_format!r} ({', '.join(FORMATS)})"
        ) from None


def placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """The variable names a template uses (the roots of any placeholder, safe or not)."""
    return _module(template_format).fields(text)


def optional_placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """Names a template may use as variables without needing them declared: in mustache, the
    names inside sections (they may be fields of the section's items)."""
    if template_format == MUSTACHE:
        return mustache.inner_fields(text)
    return set()


def is_portable(template_format: str) -> bool:
    """Whether every SDK (Python, TypeScript, Go) renders this format alike."""
    return template_format in PORTABLE_FORMATS


def refusals(text: str, template_format: str = F_STRING) -> list[str]:
    """Every unsafe construct in a template, each named; TemplateError for a syntax error."""
    return _module(template_format).refusals(text)


def checked_placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """The variable names a template uses; TemplateError naming every unsafe construct."""
    names = placeholders(text, template_format)
    refused = refusals(text, template_format)
    if refused:
        raise TemplateError("; ".join(refused))
    return names


def render_text(text: str, template_format: str, variables: Mapping[str, Any]) -> str:
    """Fill a template's placeholders; the caller checks the variable set first.

    f-string fields are filled one plain name at a time (an unsafe placeholder raises
    TemplateError); jinja2 renders in the immutable sandbox, whose refusals raise TemplateError.
    """
    return _module(template_format).render(text, variables)
