"""Placeholders and rendering for f-string and jinja2 prompts (standard library + jinja2).

Shared by the operator (validation), the CLI (`render`) and the workload SDK, so a template the
operator accepts renders the same way everywhere.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

F_STRING = "f-string"
JINJA2 = "jinja2"


def template_format_of(spec_or_payload: Mapping[str, Any]) -> str:
    """The `templateFormat` of a spec or payload: f-string when unset (the one default)."""
    return str(spec_or_payload.get("templateFormat") or F_STRING)


class TemplateError(ValueError):
    """The template cannot be parsed, or the variables given don't fit it."""


def _f_string_fields(text: str) -> set[str]:
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"f-string syntax: {error}") from error
    for _, field, spec, _ in parsed:
        if field is None:
            continue
        root = field.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise TemplateError(
                f"f-string placeholder {{{field}}} is positional; name it, e.g. {{ticket}}"
            )
        names.add(root)
        if spec:
            names |= _f_string_fields(spec)  # nested, e.g. {value:{width}}
    return names


def _jinja_environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def _jinja_fields(text: str) -> set[str]:
    from jinja2 import TemplateSyntaxError, meta

    try:
        return set(meta.find_undeclared_variables(_jinja_environment().parse(text)))
    except TemplateSyntaxError as error:
        raise TemplateError(f"jinja2 syntax, line {error.lineno}: {error.message}") from error


def placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """The variable names a template uses."""
    if template_format == JINJA2:
        return _jinja_fields(text)
    if template_format == F_STRING:
        return _f_string_fields(text)
    raise TemplateError(f"unknown templateFormat {template_format!r} (f-string or jinja2)")


def check_variables(declared: Iterable[str], given: Mapping[str, Any]) -> None:
    """Refuse missing and unexpected variables, naming them all."""
    wanted = set(declared)
    missing = sorted(wanted - set(given))
    unexpected = sorted(set(given) - wanted)
    problems = []
    if missing:
        problems.append("missing variable(s): " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected variable(s): " + ", ".join(unexpected))
    if problems:
        raise TemplateError(f"{'; '.join(problems)} (declared: {', '.join(sorted(wanted))})")


def render_text(text: str, template_format: str, variables: Mapping[str, Any]) -> str:
    """Fill a template's placeholders; the caller checks the variable set first."""
    if template_format == JINJA2:
        from jinja2 import TemplateError as JinjaError

        try:
            return str(_jinja_environment().from_string(text).render(**variables))
        except JinjaError as error:
            raise TemplateError(f"jinja2: {error}") from error
    try:
        return text.format_map(dict(variables))
    except (KeyError, IndexError, ValueError, AttributeError) as error:
        raise TemplateError(f"f-string: {error!r}") from error
