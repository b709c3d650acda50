"""`kubectl prompt` and the contract, without a cluster: new-version's spec, typed --var."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.variables import declared
from prompt_release.plugin.errors import UsageError
from prompt_release.plugin.verbs.authoring import _new_spec
from prompt_release.plugin.verbs.inspect import _variables, setting_changes, settings
from tests.unit.test_contract import SUMMARY, WEATHER

SOURCE: dict[str, Any] = {
    "prompt": "p",
    "templateFormat": "mustache",
    "template": "{{ticket}} {{count}} {{tone}}",
    "variables": ["ticket", {"name": "count", "type": "integer", "default": 3}, "tone"],
    "tools": [WEATHER],
    "hash": "sha256:" + "0" * 64,
}


def _args(tmp_path: Path, **extra: Any) -> argparse.Namespace:
    values = {"file": str(tmp_path / "t.txt"), "description": None, "template_format": None}
    values |= {"source": "p-v1", "tools": None, "response_format": None, **extra}
    return argparse.Namespace(**values)


def test_typed_entries_still_used_are_kept_and_new_names_added(tmp_path: Path) -> None:
    spec = _new_spec(dict(SOURCE), "{{count}} {{ticket}} {{city}}", _args(tmp_path))
    assert spec["variables"] == ["ticket", SOURCE["variables"][1], "city"]
    assert spec["tools"] == [WEATHER] and "hash" not in spec


def test_tools_and_the_response_format_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "tools.json").write_text("[]")
    (tmp_path / "schema.yaml").write_text(json.dumps(SUMMARY["schema"]))
    (tmp_path / "format.yaml").write_text(json.dumps(SUMMARY))
    args = _args(tmp_path, tools=str(tmp_path / "tools.json"))
    args.response_format = str(tmp_path / "schema.yaml")
    spec = _new_spec(dict(SOURCE), "{{ticket}}", args)
    assert "tools" not in spec and spec["responseFormat"] == {"schema": SUMMARY["schema"]}
    args.response_format = str(tmp_path / "format.yaml")
    assert _new_spec(dict(SOURCE), "{{ticket}}", args)["responseFormat"] == SUMMARY


def test_a_tools_file_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tools.yaml").write_text("name: f\n")
    with pytest.raises(UsageError, match="give a list of function definitions"):
        _new_spec(dict(SOURCE), "{{ticket}}", _args(tmp_path, tools=str(tmp_path / "tools.yaml")))


def test_typed_var_values_are_read_as_json() -> None:
    inputs = declared(
        ["ticket", {"name": "count", "type": "integer"}, {"name": "s", "type": "string"}]
    )
    found = _variables(["ticket=3", "count=3", "s=4"], [], inputs)
    assert found == {"ticket": "3", "count": 3, "s": "4"}
    assert _variables(["count=three"], [], inputs) == {"count": "three"}  # the render names it


def test_diff_compares_tools_by_name_and_the_response_schema_field_by_field() -> None:
    before = {"prompt": "p", "template": "x", "tools": [WEATHER], "responseFormat": SUMMARY}
    renamed = {**WEATHER, "function": {**WEATHER["function"], "description": "Forecast."}}
    schema = {**SUMMARY["schema"], "required": ["bullets"]}
    after = {**before, "tools": [renamed], "responseFormat": {**SUMMARY, "schema": schema}}
    assert setting_changes(settings(before), settings(after)) == [
        '~ responseFormat.schema.required: ["bullets", "priority"] -> ["bullets"]',
        '~ tools.get_weather.description: "The weather in a city." -> "Forecast."',
    ]
