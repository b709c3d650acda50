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

import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

F_STRING = "f-string"
JINJA2 = "jinja2"
MUSTACHE = "mustache"
FORMATS = (F_STRING, JINJA2, MUSTACHE)
PORTABLE_FORMATS = frozenset({MUSTACHE})
"""Formats every SDK renders alike (Python, TypeScript, Go): the conformance kit proves it."""

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


def template_format_of(spec_or_payload: Mapping[str, Any]) -> str:
    """The `templateFormat` of a spec or payload: f-string when unset (the one default)."""
    return str(spec_or_payload.get("templateFormat") or F_STRING)


class TemplateError(ValueError):
    """The template cannot be parsed, or the variables given don't fit it."""


# --- f-string ------------------------------------------------------------------------------


def _f_string_parse(text: str) -> list[tuple[str, str | None, str, str | None]]:
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


def _f_string_fields(text: str) -> set[str]:
    names: set[str] = set()
    for _, field, spec, _ in _f_string_parse(text):
        if field is None:
            continue
        if _positional(field):
            raise TemplateError(
                f"f-string placeholder {{{field}}} is positional; name it, e.g. {{ticket}}"
            )
        names.add(field.split(".", 1)[0].split("[", 1)[0])
        if spec:
            names |= _f_string_fields(spec)  # nested, e.g. {value:{width}}
    return names


def _f_string_refusals(text: str) -> list[str]:
    """Every placeholder that is more than a plain name with a literal, bounded format spec."""
    found: list[str] = []
    for _, field, spec, conversion in _f_string_parse(text):
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


def _f_string_parts(text: str) -> Iterator[tuple[str, _Field | None]]:
    """The literal text and the placeholder of each part, refusing any unsafe placeholder."""
    refused = _f_string_refusals(text)
    if refused:
        raise TemplateError("; ".join(refused))
    for literal, field, spec, conversion in _f_string_parse(text):
        yield literal, None if field is None else _Field(field, conversion, spec)


def _render_f_string(text: str, variables: Mapping[str, Any]) -> str:
    out: list[str] = []
    for literal, field in _f_string_parts(text):
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


# --- jinja2 --------------------------------------------------------------------------------


def _jinja_environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def _jinja_parse(text: str) -> Any:
    from jinja2 import TemplateSyntaxError

    try:
        return _jinja_environment().parse(text)
    except TemplateSyntaxError as error:
        raise TemplateError(f"jinja2 syntax, line {error.lineno}: {error.message}") from error


def _jinja_fields(text: str) -> set[str]:
    from jinja2 import meta

    return set(meta.find_undeclared_variables(_jinja_parse(text)))


def _internal_attributes() -> frozenset[str]:
    """Attribute names the sandbox refuses besides `_…`: frames, code, `mro`."""
    from jinja2 import sandbox

    names = {"mro"}
    for group in (
        "UNSAFE_FUNCTION_ATTRIBUTES",
        "UNSAFE_METHOD_ATTRIBUTES",
        "UNSAFE_GENERATOR_ATTRIBUTES",
        "UNSAFE_COROUTINE_ATTRIBUTES",
        "UNSAFE_ASYNC_GENERATOR_ATTRIBUTES",
    ):
        names |= set(getattr(sandbox, group, ()))
    return frozenset(names)


def _jinja_describe(node: Any) -> str:
    """A short source-like form of an expression, to name it in a message."""
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Getattr):
        return f"{_jinja_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_jinja_describe(node.node)}[{_jinja_describe(node.arg)}]"
    if isinstance(node, nodes.Filter):
        args = ", ".join(_jinja_describe(arg) for arg in node.args)
        return f"{_jinja_describe(node.node)}|{node.name}({args})"
    if isinstance(node, nodes.Call):
        return f"{_jinja_describe(node.node)}(…)"
    return "…"


def _jinja_refusals(text: str) -> list[str]:
    """What the sandbox would refuse at render time, found before anything renders."""
    from jinja2 import nodes

    internal = _internal_attributes()

    def private(name: object) -> bool:
        return isinstance(name, str) and (name.startswith("_") or name in internal)

    found: list[str] = []
    tree = _jinja_parse(text)
    for node in tree.find_all(
        (
            nodes.Getattr,
            nodes.Getitem,
            nodes.Filter,
            nodes.Include,
            nodes.Import,
            nodes.FromImport,
            nodes.Extends,
        )
    ):
        where = f"jinja2, line {node.lineno}"
        if isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
            tag = type(node).__name__.lower().replace("fromimport", "from … import")
            found.append(
                f"{where}: {{% {tag} %}} is refused: a prompt is one self-contained template"
            )
            continue
        if isinstance(node, nodes.Getattr):
            name: object = node.attr
        elif isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        elif node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const):
            name = node.args[0].value
        else:
            continue
        if private(name):
            found.append(
                f"{where}: {{{{ {_jinja_describe(node)} }}}} reaches the internal attribute "
                f"{name}, which the sandbox refuses"
            )
    return found


# --- mustache ------------------------------------------------------------------------------

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


def _mustache_root(tag: MustacheTag) -> str | None:
    return tag.name.split(".", 1)[0] if MUSTACHE_NAME.fullmatch(tag.name) else None


def _mustache_fields(text: str) -> set[str]:
    """The variables a template uses: the roots of the names outside any section."""
    return {
        root
        for tag in mustache_tags(text)
        if tag.depth == 0 and (root := _mustache_root(tag)) is not None
    }


def _mustache_inner_fields(text: str) -> set[str]:
    """The roots of the names inside sections: a variable, or a field of the section's item."""
    return {
        root
        for tag in mustache_tags(text)
        if tag.depth > 0 and (root := _mustache_root(tag)) is not None
    }


def _mustache_refusals(text: str) -> list[str]:
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


def _render_mustache(text: str, variables: Mapping[str, Any]) -> str:
    import pystache

    refused = _mustache_refusals(text)
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


# --- every format --------------------------------------------------------------------------


def placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """The variable names a template uses (the roots of any placeholder, safe or not)."""
    if template_format == JINJA2:
        return _jinja_fields(text)
    if template_format == F_STRING:
        return _f_string_fields(text)
    if template_format == MUSTACHE:
        return _mustache_fields(text)
    raise TemplateError(_unknown(template_format))


def _unknown(template_format: str) -> str:
    return f"unknown templateFormat {template_format!r} ({', '.join(FORMATS)})"


def optional_placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """Names a template may use as variables without needing them declared: in mustache, the
    names inside sections (they may be fields of the section's items)."""
    if template_format == MUSTACHE:
        return _mustache_inner_fields(text)
    return set()


def is_portable(template_format: str) -> bool:
    """Whether every SDK (Python, TypeScript, Go) renders this format alike."""
    return template_format in PORTABLE_FORMATS


def refusals(text: str, template_format: str = F_STRING) -> list[str]:
    """Every unsafe construct in a template, each named; TemplateError for a syntax error."""
    if template_format == JINJA2:
        return _jinja_refusals(text)
    if template_format == F_STRING:
        return _f_string_refusals(text)
    if template_format == MUSTACHE:
        return _mustache_refusals(text)
    raise TemplateError(_unknown(template_format))


def checked_placeholders(text: str, template_format: str = F_STRING) -> set[str]:
    """The variable names a template uses; TemplateError naming every unsafe construct."""
    names = placeholders(text, template_format)
    refused = refusals(text, template_format)
    if refused:
        raise TemplateError("; ".join(refused))
    return names


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
    """Fill a template's placeholders; the caller checks the variable set first.

    f-string fields are filled here, one plain name at a time (an unsafe placeholder raises
    TemplateError); jinja2 renders in the immutable sandbox, whose refusals raise TemplateError.
    """
    if template_format == JINJA2:
        from jinja2 import TemplateError as JinjaError

        try:
            return str(_jinja_environment().from_string(text).render(**variables))
        except JinjaError as error:  # the sandbox's refusals are SecurityErrors, among these
            raise TemplateError(f"jinja2: {error}") from error
        except Exception as error:  # a template's own failure: 1/0, a bad index, range(10**9)
            raise TemplateError(f"jinja2: {type(error).__name__}: {error}") from error
    if template_format == F_STRING:
        return _render_f_string(text, variables)
    if template_format == MUSTACHE:
        return _render_mustache(text, variables)
    raise TemplateError(_unknown(template_format))
