"""Tools and the response format of a PromptVersion: JSON Schemas checked against their
metaschema by the `jsonschema` library, each error named by its place in the spec.

`tools` are function definitions in the shape OpenAI-compatible APIs take
(`{type: function, function: {name, description, parameters, strict}}`), `parameters` a JSON
Schema of the arguments object. `responseFormat` is `{name, description, strict, schema}`,
`schema` the JSON Schema a model's output must satisfy. A schema declares its dialect with
`$schema`; without one it is read as draft 2020-12.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, exceptions, validators

DEFAULT_DIALECT = Draft202012Validator
FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def json_path(root: str, parts: Iterable[str | int]) -> str:
    """`root` followed by the path in the spec's own notation: `.key`, `['odd key']`, `[3]`."""
    out = [root]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def dialect_of(schema: Mapping[str, Any]) -> type[Any]:
    """The validator class of the schema's `$schema` (draft 2020-12 when it names none)."""
    found: type[Any] = validators.validator_for(schema, default=DEFAULT_DIALECT)
    return found


def schema_problem(where: str, schema: Any) -> str | None:
    """Why `schema` is not a valid JSON Schema, naming the path of the error; None if valid."""
    if isinstance(schema, bool):
        return None
    if not isinstance(schema, Mapping):
        return f"{where}: a JSON Schema must be an object (or true/false)"
    dialect = dialect_of(schema)
    try:
        error = exceptions.best_match(dialect(dialect.META_SCHEMA).iter_errors(schema))
    except RecursionError:
        return f"{where}: nests too deeply to check"
    if error is None:
        return None
    return f"{json_path(where, error.absolute_path)}: {error.message} (not a valid JSON Schema)"


def _tool_problems(index: int, tool: Any) -> list[str]:
    where = f"tools[{index}]"
    if not isinstance(tool, Mapping) or not isinstance(tool.get("function"), Mapping):
        return [f"{where}: must be {{type: function, function: {{name, parameters, ...}}}}"]
    function = tool["function"]
    name = function.get("name")
    found: list[str] = []
    if tool.get("type", "function") != "function":
        found.append(f"{where}.type: must be function")
    if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
        found.append(f"{where}.function.name: must be 1-64 letters, digits, _ or -")
    parameters = function.get("parameters")
    if parameters is not None:
        problem = schema_problem(f"{where}.function.parameters", parameters)
        if problem is not None:
            found.append(problem)
        elif isinstance(parameters, Mapping) and parameters.get("type", "object") != "object":
            found.append(
                f"{where}.function.parameters.type: must be object (a function's arguments are "
                "an object)"
            )
    return found


def problems(spec: Mapping[str, Any]) -> list[str]:
    """Every problem of `tools` and `responseFormat`, each named by its path in the spec."""
    found: list[str] = []
    tools = spec.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return ["tools: must be a list of function definitions"]
        for index, tool in enumerate(tools):
            found.extend(_tool_problems(index, tool))
        listed = [
            tool["function"].get("name")
            for tool in tools
            if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping)
        ]
        repeated = sorted({str(n) for n in listed if n is not None and listed.count(n) > 1})
        if repeated:
            found.append("tools: more than one function named " + ", ".join(repeated))
    response = spec.get("responseFormat")
    if response is not None:
        if not isinstance(response, Mapping) or "schema" not in response:
            found.append("responseFormat: must be {name, schema, ...} with a JSON Schema")
        else:
            problem = schema_problem("responseFormat.schema", response["schema"])
            if problem is not None:
                found.append(problem)
            name = response.get("name")
            if name is not None and (
                not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name)
            ):
                found.append("responseFormat.name: must be 1-64 letters, digits, _ or -")
    return found
