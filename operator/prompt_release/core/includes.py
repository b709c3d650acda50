"""How a template marks an include, and the checks of `spec.includes` on a spec alone.

`{{> name}}` marks where the template of the included PromptVersion `name` goes, in every
template format: mustache reads it as a partial, and it is no valid jinja2 or f-string
placeholder, so the marker never collides with a variable. Standard library only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

MARKER = re.compile(r"\{\{>\s*([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)\s*\}\}")


def pins(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, hash) of each entry of spec.includes, as written."""
    found = spec.get("includes") or []
    return [
        (str(entry.get("name", "")), str(entry.get("hash", "")))
        for entry in found
        if isinstance(entry, Mapping)
    ]


def texts(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for every text that may hold include markers."""
    if spec.get("template") is not None:
        return [("template", str(spec["template"]))]
    return [
        (f"messages[{index}].content", str(message.get("content", "")))
        for index, message in enumerate(spec.get("messages") or [])
        if isinstance(message, Mapping)
    ]


def marked(text: str) -> list[str]:
    """The names a text includes, in order of appearance."""
    return [match.group(1) for match in MARKER.finditer(text)]


def problems(spec: Mapping[str, Any]) -> list[str]:
    """What is wrong with spec.includes and its markers, judged on the spec alone."""
    named = [name for name, _ in pins(spec)]
    found: list[str] = []
    repeated = sorted(name for name, count in Counter(named).items() if count > 1)
    if repeated:
        found.append("spec.includes pins these more than once: " + ", ".join(repeated))
    used: set[str] = set()
    for where, text in texts(spec):
        for name in marked(text):
            used.add(name)
            if name not in named:
                found.append(f"{where} marks {{{{> {name}}}}}, but spec.includes pins no {name}")
    unused = sorted(set(named) - used)
    if unused:
        found.append(
            "spec.includes pins version(s) no text marks with {{> name}}: " + ", ".join(unused)
        )
    return found


def substitute(text: str, templates: Mapping[str, str]) -> str:
    """The text with each marker replaced by the template of the version it names (markers of
    names not given are left as they are)."""
    return MARKER.sub(lambda match: templates.get(match.group(1), match.group(0)), text)
