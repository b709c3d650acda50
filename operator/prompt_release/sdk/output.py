"""A model's output checked against the released `responseFormat`, and the shapes APIs take.

`jsonschema` is imported only when an output is validated, so a workload that never calls
`validate_output` needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from prompt_release.core.payload import PromptError

_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class OutputError(PromptError, ValueError):
    """A model's output is not JSON, or doesn't satisfy the prompt's response schema."""


def _path(parts: Any) -> str:
    """`$.items[0].title`: where in the output the error is."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part and set(part) <= _IDENTIFIER_CHARS and not part[0].isdigit():
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def validate(response_format: Mapping[str, Any] | None, output: Any, where: str) -> Any:
    """The output as JSON data, checked against the response schema: text is parsed first.
    OutputError names the JSON path and the rule an output breaks; `where` names the prompt."""
    if response_format is None:
        raise OutputError(f"{where} declares no responseFormat to validate against")
    if isinstance(output, str | bytes):
        try:
            output = json.loads(output)
        except json.JSONDecodeError as error:
            raise OutputError(f"{where}: the output is not valid JSON: {error}") from error
    try:
        import jsonschema
    except ImportError as error:
        raise OutputError(
            "validating an output needs the jsonschema package (pip install jsonschema)"
        ) from error
    schema = response_format.get("schema", {})
    dialect = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    found = jsonschema.exceptions.best_match(dialect(schema).iter_errors(output))
    if found is not None:
        raise OutputError(
            f"{where}: the output does not satisfy responseFormat at "
            f"{_path(found.absolute_path)}: {found.message}"
        )
    return output


def openai_response_format(response_format: Mapping[str, Any], default_name: str) -> dict[str, Any]:
    """`{type: json_schema, json_schema: {name, schema, ...}}`: the shape OpenAI-compatible
    chat APIs take as `response_format`."""
    inner: dict[str, Any] = {
        "name": response_format.get("name") or default_name,
        "schema": response_format.get("schema", {}),
    }
    for key in ("description", "strict"):
        if response_format.get(key) is not None:
            inner[key] = response_format[key]
    return {"type": "json_schema", "json_schema": inner}
