"""jinja2 templates, rendered only in jinja2's immutable sandbox; validation refuses first what
the sandbox would refuse later. jinja2 is imported only for prompts of this format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release.core.templates.base import TemplateError


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def _parse(text: str) -> Any:
    from jinja2 import TemplateSyntaxError

    try:
        return _environment().parse(text)
    except TemplateSyntaxError as error:
        raise TemplateError(f"jinja2 syntax, line {error.lineno}: {error.message}") from error


def fields(text: str) -> set[str]:
    from jinja2 import meta

    return set(meta.find_undeclared_variables(_parse(text)))


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


def _describe(node: Any) -> str:
    """A short source-like form of an expression, to name it in a message."""
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_describe(node.node)}[{_describe(node.arg)}]"
    if isinstance(node, nodes.Filter):
        args = ", ".join(_describe(arg) for arg in node.args)
        return f"{_describe(node.node)}|{node.name}({args})"
    if isinstance(node, nodes.Call):
        return f"{_describe(node.node)}(…)"
    return "…"


def refusals(text: str) -> list[str]:
    """What the sandbox would refuse at render time, found before anything renders."""
    from jinja2 import nodes

    internal = _internal_attributes()

    def private(name: object) -> bool:
        return isinstance(name, str) and (name.startswith("_") or name in internal)

    found: list[str] = []
    tree = _parse(text)
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
                f"{where}: {{{{ {_describe(node)} }}}} reaches the internal attribute "
                f"{name}, which the sandbox refuses"
            )
    return found


def render(text: str, variables: Mapping[str, Any]) -> str:
    """Render in the immutable sandbox, whose refusals raise TemplateError."""
    from jinja2 import TemplateError as JinjaError

    try:
        return str(_environment().from_string(text).render(**variables))
    except JinjaError as error:  # the sandbox's refusals are SecurityErrors, among these
        raise TemplateError(f"jinja2: {error}") from error
    except Exception as error:  # a template's own failure: 1/0, a bad index, range(10**9)
        raise TemplateError(f"jinja2: {type(error).__name__}: {error}") from error
