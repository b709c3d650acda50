"""How `kubectl prompt` prints: kubectl-style tables, or the objects as YAML or JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml


def emit(output: str, rows: list[dict[str, Any]], columns: Sequence[str], raw: Any) -> None:
    """Print a table, or the raw objects as YAML or JSON."""
    if output == "json":
        print(json.dumps(raw, indent=2, ensure_ascii=False))
    elif output == "yaml":
        print(
            manifest_text(raw)
            if isinstance(raw, Mapping)
            else yaml.dump(raw, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True),
            end="",
        )
    else:
        table(rows, columns)


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [
        [str(row.get(column, "") if row.get(column) is not None else "") for column in columns]
        for row in rows
    ]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("   ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def age(timestamp: str | None) -> str:
    if not timestamp:
        return ""
    then = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int((dt.datetime.now(dt.UTC) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so a template in Git reads like the template."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_presenter)


def manifest_text(body: Mapping[str, Any]) -> str:
    return yaml.dump(dict(body), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True)


def painter(color: bool) -> Callable[[str], str]:
    """Colour a diff line the way git does, or leave it be."""
    codes = {"+": "\033[32m", "-": "\033[31m", "@": "\033[36m", "~": "\033[33m"}

    def paint(line: str) -> str:
        if not color:
            return line
        code = "\033[1m" if line.startswith(("+++ ", "--- ")) else codes.get(line[:1])
        return f"{code}{line.rstrip(chr(10))}\033[0m\n" if code else line

    return paint
