"""Verbs that only read: hash, status, history, diff, render."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from prompt_release import RELEASE_PLURAL
from prompt_release.core import chain, includes
from prompt_release.core.canonical import CanonicalizationError
from prompt_release.core.evaluation import EVALUATION_PLURAL
from prompt_release.core.hashing import content_hash, short_hash
from prompt_release.core.manifests import load_all
from prompt_release.core.payload import PAYLOAD_KEY, PayloadError
from prompt_release.core.templates import template_format_of
from prompt_release.core.variables import Variable
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import (
    FAILED,
    OK,
    NotFoundError,
    UnreachableError,
    UsageError,
)
from prompt_release.plugin.output import age, emit, painter
from prompt_release.plugin.verbs.common import cluster, read, versions_in
from prompt_release.plugin.verbs.consumers import summary as consumer_summary
from prompt_release.sdk import RenderError, parse_payload


def cmd_hash(args: argparse.Namespace) -> int:
    """Each PromptVersion's content hash; a spec.hash pin, and an includes pin naming a version
    of the same files, that differs fails the command."""
    found = [(name, doc) for name in args.files for doc in versions_in(name)]
    computed_hashes = [_hash_of(name, doc) for name, doc in found]
    hashes = {
        _name_of(doc): computed for (_, doc), computed in zip(found, computed_hashes, strict=True)
    }
    rows, failed = [], False
    for (name, doc), computed in zip(found, computed_hashes, strict=True):
        spec = doc.get("spec") or {}
        row = {"HASH": computed, "NAME": _name_of(doc), "FILE": name}
        mismatches = (
            []
            if not spec.get("hash") or spec["hash"] == computed
            else [f"spec.hash {spec['hash']}"]
        )
        mismatches += [
            f"includes {included} at {pinned}, which hashes to {hashes[included]}"
            for included, pinned in includes.pins(spec)
            if included in hashes and hashes[included] != pinned
        ]
        if mismatches:
            row["PIN"] = f"MISMATCH ({'; '.join(mismatches)})"
            failed = True
        rows.append(row)
    if args.output == "table":
        for row in rows:
            print(
                f"{row['HASH']}  {row['NAME']}  {row['FILE']}"
                + (f"  {row['PIN']}" if "PIN" in row else "")
            )
    else:
        emit(args.output, rows, [], [{k.lower(): v for k, v in r.items()} for r in rows])
    return FAILED if failed else OK


def _name_of(doc: Mapping[str, Any]) -> str:
    return str((doc.get("metadata") or {}).get("name"))


def _hash_of(name: str, doc: Mapping[str, Any]) -> str:
    try:
        return content_hash(doc.get("spec") or {})
    except CanonicalizationError as error:  # a huge integer, a lone surrogate, NaN
        raise UsageError(
            f"{name}: PromptVersion {_name_of(doc)} has no content hash: {error}"
        ) from error


def cmd_status(args: argparse.Namespace) -> int:
    on = cluster(args)
    bodies = on.list(RELEASE_PLURAL)
    views = sorted(
        zip((ReleaseView.of(body) for body in bodies), bodies, strict=True),
        key=lambda pair: (pair[0].prompt, pair[0].label),
    )
    rows = [
        {
            "PROMPT": release.prompt,
            "LABEL": release.label,
            "VERSION": release.status.version,
            "HASH": release.status.raw.get("shortHash"),
            "REVISION": release.status.raw.get("revision"),
            "READY": release.status.ready.get("status", "Unknown"),
            "REASON": release.status.ready.get("reason"),
            "CONSUMERS": consumer_summary(release.status.raw),
            "AGE": age(release.creation_timestamp),
        }
        for release, _ in views
    ]
    if not rows and on.namespace_exists() is False:
        raise NotFoundError(f"namespace {on.namespace} not found")
    if not rows and args.output == "table":
        print(f"No PromptReleases in namespace {on.namespace}.", file=sys.stderr)
        return OK
    emit(
        args.output,
        rows,
        ["PROMPT", "LABEL", "VERSION", "HASH", "REVISION", "READY", "REASON", "CONSUMERS", "AGE"],
        [body for _, body in views],
    )
    return OK


def _releases_of(on: Cluster, prompt: str, label: str | None) -> list[ReleaseView]:
    if label:
        return [on.release(release_name(prompt, label))]
    found = [view for view in map(ReleaseView.of, on.list(RELEASE_PLURAL)) if view.prompt == prompt]
    if not found:
        raise NotFoundError(f"no PromptRelease of prompt {prompt} in namespace {on.namespace}")
    return sorted(found, key=lambda view: view.label)


def _with_records(
    on: Cluster, prompt: str, label: str | None
) -> tuple[list[ReleaseView], list[dict[str, Any]]]:
    """The releases of the prompt (of one label) that exist, and the history records of all
    of them, deleted ones included; nothing found at all is not found."""
    if label:
        one = on.find_release(release_name(prompt, label))
        releases = [] if one is None else [one]
    else:
        releases = [
            view for view in map(ReleaseView.of, on.list(RELEASE_PLURAL)) if view.prompt == prompt
        ]
    try:
        records = on.records(chain.record_selector(prompt, label))
    except UnreachableError as error:  # may not read ControllerRevisions: the status alone
        print(f"warning: no history records: {error}", file=sys.stderr)
        records = []
    records = [
        r
        for r in records
        if (r.get("data") or {}).get("prompt") == prompt
        and (label is None or (r.get("data") or {}).get("label") == label)
    ]
    if not releases and not records:
        which = f"{release_name(prompt, label)}" if label else f"of prompt {prompt}"
        raise NotFoundError(
            f"no PromptRelease {which} in namespace {on.namespace}, nor any record of one"
        )
    return sorted(releases, key=lambda view: view.label), records


def _by(entry: Mapping[str, Any]) -> str | None:
    """Who released it, saying so when the API server didn't attest it (a field manager)."""
    who = entry.get("releasedBy")
    if entry.get("attested") is False:
        return f"{who or '?'} (not attested)"
    return None if who is None else str(who)


def _awaiting(release: ReleaseView) -> list[dict[str, Any]]:
    """A row for a version held by the two-person rule (no revision yet), first."""
    held = release.status.raw.get("approval")
    if not held:
        return []
    state = str(held.get("state", ""))
    rejected = ", ".join(held.get("rejectedBy") or ())
    return [
        {
            "revision": f"({state.lower()})",
            "version": held.get("version"),
            "hash": held.get("hash"),
            "releasedBy": held.get("requestedBy"),
            "approvedBy": [f"rejected by {rejected}"] if rejected else [],
            "changelog": release.changelog,
        }
    ]


def _history_row(label: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "LABEL": label,
        "REVISION": entry.get("revision"),
        "VERSION": entry.get("version"),
        "HASH": short_hash(str(entry.get("hash", ""))),
        "RELEASED": entry.get("releasedAt"),
        "BY": _by(entry),
        "VIA": entry.get("via"),
        "APPROVED BY": ",".join(entry.get("approvedBy") or ()) or None,
        "RESTORES": entry.get("restores"),
        "CHANGELOG": entry.get("changelog"),
    }


def cmd_history(args: argparse.Namespace) -> int:
    """The status history of each release, then what only the records keep: entries past
    the history limit, and the history of releases deleted since (newest first)."""
    releases, records = _with_records(cluster(args), args.prompt, args.label)
    rows: list[dict[str, Any]] = []
    raw: dict[str, list[dict[str, Any]]] = {}
    live = {(r.uid, e.get("revision")) for r in releases for e in r.status.history}
    kept = [chain.Record.of(body) for body in records]
    earlier = [r for r in kept if r is not None and (r.owner.uid, r.revision) not in live]
    labels = sorted({r.label for r in releases} | {r.owner.label for r in earlier})
    for label in labels:
        for release in (r for r in releases if r.label == label):
            rows += [_history_row(label, e) for e in [*_awaiting(release), *release.status.history]]
            raw.setdefault(label, []).extend(dict(e) for e in release.status.history)
            trimmed = [r for r in earlier if r.owner.uid == release.uid]
            for record in sorted(trimmed, key=lambda r: -r.revision):
                rows.append(_history_row(label, record.entry))
                raw[label].append(dict(record.entry))
        gone = [
            r for r in earlier if r.owner.label == label and r.owner.uid not in live_uids(releases)
        ]
        for record in sorted(gone, key=lambda r: (r.created, r.revision), reverse=True):
            rows.append(_history_row(f"{label} (deleted {record.owner.uid[:8]})", record.entry))
            raw.setdefault(f"{label} (deleted {record.owner.uid[:8]})", []).append(
                dict(record.entry)
            )
    columns = ["LABEL", "REVISION", "VERSION", "HASH", "RELEASED", "BY", "VIA", "APPROVED BY"]
    emit(args.output, rows, [*columns, "RESTORES", "CHANGELOG"], raw)
    return OK


def live_uids(releases: Iterable[ReleaseView]) -> set[str]:
    return {release.uid for release in releases}


def cmd_verify(args: argparse.Namespace) -> int:
    """Recompute the history chain from the records and the status, and check that the evidence
    each promotion rested on still proves it; exit 1 on a rewritten, missing or unproven
    entry."""
    on = cluster(args)
    prompt, label = args.prompt, args.label
    named = None if label else on.find_release(prompt)
    if named is not None:  # `verify RELEASE`: that release's prompt and label
        prompt, label = named.prompt, named.label
    releases, records = _with_records(on, prompt, label)
    bodies = [on.get(RELEASE_PLURAL, release.name) for release in releases]
    report = chain.verify(bodies, records)
    if any((row.entry.get("promotion") or {}).get("evidence") for row in report.rows):
        try:
            evaluations = {body["metadata"]["name"]: body for body in on.list(EVALUATION_PLURAL)}
        except UnreachableError as error:  # may not read PromptEvaluations: say it, check none
            print(f"warning: evidence not checked: {error}", file=sys.stderr)
        else:
            chain.check_evidence(report, evaluations)
    rows = [
        {
            "LABEL": row.label,
            "RELEASE": row.release,
            "REVISION": row.revision,
            "VERSION": row.entry.get("version"),
            "DIGEST": short_hash(str(row.entry.get("digest") or "")) or None,
            "IN": row.where,
            "STATE": row.state,
            "DETAIL": row.detail or None,
        }
        for row in report.rows
    ]
    raw = {"ok": report.ok, "problems": report.problems, "revisions": rows}
    emit(
        args.output,
        rows,
        ["LABEL", "RELEASE", "REVISION", "VERSION", "DIGEST", "IN", "STATE", "DETAIL"],
        raw,
    )
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if report.ok and args.output == "table":
        print(f"verified: {len(report.rows)} revisions, chain intact", file=sys.stderr)
    return OK if report.ok else FAILED


def prompt_lines(spec: Mapping[str, Any]) -> list[str]:
    """The prompt as lines to diff; a chat prompt as one block per message."""
    if spec.get("template") is not None:
        blocks = [str(spec["template"])]
    else:
        blocks = [
            f"[messages[{index}] {message.get('role')}]\n{message.get('content', '')}"
            for index, message in enumerate(spec.get("messages") or [])
        ]
    return [
        line if line.endswith("\n") else line + "\n"
        for block in blocks
        for line in block.splitlines(keepends=True)
    ]


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(_flatten(child, f"{prefix}.{key}"))
        return flat
    return {prefix: value}


def settings(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The non-text fields worth comparing, flattened to `a.b` keys (a tool by its function's
    name, so a reordering is no change)."""
    tools: dict[str, Any] = {}
    for tool in spec.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict):
            tools.update(_flatten(function, f"tools.{function.get('name')}"))
    return {
        **_flatten(spec.get("model") or {}, "model"),
        "templateFormat": template_format_of(spec),
        "variables": spec.get("variables") or [],
        **tools,
        **_flatten(spec.get("responseFormat") or {}, "responseFormat"),
    }


def cmd_diff(args: argparse.Namespace) -> int:
    on = cluster(args)
    spec_a = on.version(args.version_a).spec
    spec_b = on.version(args.version_b).spec
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    paint = painter(color)
    changed = False
    lines_a, lines_b = prompt_lines(spec_a), prompt_lines(spec_b)
    for line in difflib.unified_diff(lines_a, lines_b, args.version_a, args.version_b):
        changed = True
        sys.stdout.write(paint(line))
    for line in setting_changes(settings(spec_a), settings(spec_b)):
        changed = True
        print(paint(line + "\n"), end="")
    return FAILED if changed else OK


def setting_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One line per setting that differs: `~` changed, `-` removed, `+` added (a setting
    written as null is shown as null: it was written, if to nothing)."""
    lines = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            lines.append(f"- {key}: {json.dumps(before[key])} (removed)")
        elif key not in before:
            lines.append(f"+ {key}: {json.dumps(after[key])} (added)")
        elif before[key] != after[key]:
            lines.append(f"~ {key}: {json.dumps(before[key])} -> {json.dumps(after[key])}")
    return lines


def _from_text(value: str, variable: Variable | None) -> Any:
    """A `--var` value: text, or JSON for a variable typed other than string (`count=3`)."""
    if variable is None or variable.type in (None, "string"):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # the render names the wrong type


def _variables(
    pairs: Iterable[str], files: Iterable[str], inputs: Iterable[Variable] = ()
) -> dict[str, Any]:
    declared = {variable.name: variable for variable in inputs}
    values: dict[str, Any] = {}
    for name in files:
        loaded = next(iter(load_all(read(name))), None)
        if not isinstance(loaded, dict):
            raise UsageError(f"{name}: expected a mapping of variable names to values")
        values.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {pair!r}: expected NAME=VALUE")
        values[key] = _from_text(value, declared.get(key))
    return values


def cmd_render(args: argparse.Namespace) -> int:
    on = cluster(args)
    release = on.release(release_name(args.prompt, args.label))
    name = release.served_config_map
    data = on.config_map(name).get("data") or {}
    if PAYLOAD_KEY not in data:
        raise NotFoundError(f"ConfigMap {name} has no {PAYLOAD_KEY}: nothing released yet?")
    try:
        prompt = parse_payload(data[PAYLOAD_KEY])
        variables = _variables(args.var, args.vars_file, prompt.inputs)
        if prompt.is_chat:
            messages = prompt.render_messages(**variables)
            if args.output == "table":
                for message in messages:
                    print(f"[{message['role']}]\n{message['content']}\n")
            else:
                emit(args.output, [], [], messages)
        elif args.output == "table":
            print(prompt.render(**variables), end="")
        else:
            emit(
                args.output,
                [],
                [],
                {"text": prompt.render(**variables), **prompt.tracing_attributes()},
            )
    except (RenderError, PayloadError) as error:
        raise UsageError(str(error)) from error
    print(
        f"# {prompt.name} {prompt.label}: {prompt.version} {short_hash(prompt.hash)} revision "
        f"{prompt.revision}",
        file=sys.stderr,
    )
    return OK
