"""What every template format shares: the format names and the one error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

F_STRING = "f-string"
JINJA2 = "jinja2"
MUSTACHE = "mustache"
FORMATS = (F_STRING, JINJA2, MUSTACHE)
PORTABLE_FORMATS = frozenset({MUSTACHE})
"""Formats every SDK renders alike (Python, TypeScript, Go): the conformance kit proves it."""


def template_format_of(spec_or_payload: Mapping[str, Any]) -> str:
    """The `templateFormat` of a spec or payload: f-string when unset (the one default)."""
    return str(spec_or_payload.get("templateFormat") or F_STRING)


class TemplateError(ValueError):
    """The template cannot be parsed, or the variables given don't fit it."""
