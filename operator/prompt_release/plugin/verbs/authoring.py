"""Verbs that write prompts: new-version."""

from __future__ import annotations

import argparse
import re
from typing import Any

import yaml

from prompt_release import VERSION_PLURAL
from prompt_release.core import includes
from prompt_release.core.hashing import content_hash
from prompt_release.core.manifests import load_all
from prompt_release.core.templates import TemplateError
from prompt_release.core.validation import problems, used_placeholders
from prompt_release.core.variables import entry_name, names
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import OK, UsageError
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import cluster, printed_for_git, read


def _next_version_name(on: Cluster, prompt: str) -> str:
    pattern = re.compile(rf"^{re.escape(prompt)}-v(\d+)$")
    numbers = [
        int(m.group(1))
        for v in on.list(VERSION_PLURAL)
        if (m := pattern.match(v["metadata"]["name"]))
    ]
    return f"{prompt}-v{max(numbers, default=0) + 1}"


def _new_spec(source: dict[str, Any], text: str, args: argparse.Namespace) -> dict[str, Any]:
    """The source's spec with the new text, its variables fitted to the new placeholders."""
    spec = {k: v for k, v in source.items() if k not in ("hash", "description")}
    if "messages" in spec:
        loaded = next(iter(load_all(text)), None)
        messages = loaded.get("messages") if isinstance(loaded, dict) else loaded
        if not isinstance(messages, list):
            raise UsageError(
                f"{args.file}: {args.source} is a chat prompt; give a YAML list of "
                "messages ({role, content})"
            )
        spec["messages"] = messages
    else:
        spec["template"] = text
    if args.description:
        spec["description"] = args.description
    if getattr(args, "template_format", None):
        spec["templateFormat"] = args.template_format
    _fit_includes(spec)
    composed = bool(spec.get("includes"))
    try:
        used = used_placeholders(_unmarked(spec))
    except TemplateError as error:
        raise UsageError(f"{args.file}: {error}") from error
    declared = spec.get("variables") or []
    kept = [v for v in declared if composed or entry_name(v) in used]
    spec["variables"] = kept + sorted(used - set(names(kept)))
    if not spec["variables"]:
        spec.pop("variables")
    _contract_files(spec, args)
    return spec


def _fit_includes(spec: dict[str, Any]) -> None:
    """Keep the pins the new text still marks with `{{> name}}` (the operator composes them)."""
    if not spec.get("includes"):
        return
    marked = {name for _, text in includes.texts(spec) for name in includes.marked(text)}
    pins = [pin for pin in spec.get("includes") or [] if pin.get("name") in marked]
    if pins:
        spec["includes"] = pins
    else:
        spec.pop("includes", None)


def _unmarked(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its include markers blanked: what its own placeholders are. The variables
    of a version with includes are kept as they were (they may be the included versions'), and
    the operator judges the composed text."""
    if spec.get("template") is not None:
        return {**spec, "template": includes.MARKER.sub("", str(spec["template"]))}
    messages = [
        {**m, "content": includes.MARKER.sub("", str(m.get("content", "")))}
        for m in spec.get("messages") or []
    ]
    return {**spec, "messages": messages}


def _document(name: str) -> Any:
    """The one YAML or JSON document in a file (JSON is YAML)."""
    try:
        return next(iter(load_all(read(name))), None)
    except yaml.YAMLError as error:
        raise UsageError(f"{name}: not valid YAML or JSON: {error}") from error


def _contract_files(spec: dict[str, Any], args: argparse.Namespace) -> None:
    """--tools and --response-format replace the source's (the core validates them next)."""
    if getattr(args, "tools", None):
        tools = _document(args.tools)
        if tools is None or tools == []:
            spec.pop("tools", None)
        elif not isinstance(tools, list):
            raise UsageError(f"{args.tools}: give a list of function definitions")
        else:
            spec["tools"] = tools
    if getattr(args, "response_format", None):
        found = _document(args.response_format)
        if not isinstance(found, dict):
            raise UsageError(f"{args.response_format}: give {{name, schema}} or a JSON Schema")
        spec["responseFormat"] = found if "schema" in found else {"schema": found}


def cmd_new_version(args: argparse.Namespace) -> int:
    on = cluster(args)
    source = on.version(args.source)
    mismatch = source.mismatch(args.prompt)
    if mismatch:
        raise UsageError(mismatch)
    spec = _new_spec(dict(source.spec), read(args.file), args)
    found = problems(spec)
    if found:
        raise UsageError(f"{args.file}: " + "; ".join(found))
    name = args.name or _next_version_name(on, args.prompt)
    manifest = on.manifest("PromptVersion", name, spec)
    if printed_for_git(args, manifest):
        return OK
    created = on.create(VERSION_PLURAL, manifest)
    if args.output != "table":
        emit(args.output, [], [], created)
    else:
        print(f"promptversion/{name} created ({content_hash(spec)})")
    return OK
