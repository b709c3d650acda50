"""What each page shows, read from the cluster as the user: plain dicts for the templates.

Blocking reads (the shared client); the app runs them off its event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from typing import Any

from prompt_release import RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import conditions
from prompt_release.core.governance import APPROVAL_PLURAL
from prompt_release.core.hashing import short_hash
from prompt_release.core.templates import render_text, template_format_of
from prompt_release.core.variables import names
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.dashboard import diffview
from prompt_release.plugin.verbs.governance import awaiting_decision as waiting_approvals

ROLLED_OUT = "RolledOut"


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return conditions.find(status.get("conditions"), kind) or {}


def release_row(release: ReleaseView) -> dict[str, Any]:
    """One label of a prompt, as the namespace page lists it."""
    status = release.status.raw
    canary = status.get("canary") or {}
    return {
        "name": release.name,
        "prompt": release.prompt,
        "label": release.label,
        "version": release.status.version,
        "hash": status.get("shortHash") or short_hash(release.status.hash or ""),
        "revision": release.status.revision or None,
        "ready": release.status.ready,
        "rolled_out": _condition(status, ROLLED_OUT),
        "canary": canary.get("phase"),
        "canary_weight": canary.get("weight"),
        "awaiting": bool(waiting_approvals(status)),
    }


def namespace_page(on: Cluster) -> dict[str, Any]:
    """Namespaces → prompts → labels: what each label serves and how it is doing."""
    rows = sorted(
        (release_row(ReleaseView.of(body)) for body in on.list(RELEASE_PLURAL)),
        key=lambda row: (row["prompt"], row["label"]),
    )
    prompts = [(prompt, list(group)) for prompt, group in groupby(rows, lambda r: r["prompt"])]
    return {"namespace": on.namespace, "prompts": prompts, "count": len(rows)}


def _entry(entry: Mapping[str, Any], live_revision: int) -> dict[str, Any]:
    return {
        **entry,
        "short": short_hash(str(entry.get("hash") or "")),
        "live": entry.get("revision") == live_revision,
    }


def _approvals(on: Cluster, release: ReleaseView) -> list[dict[str, Any]]:
    """The PromptApprovals of this release, newest first."""
    found = []
    for body in on.list(APPROVAL_PLURAL):
        spec = body.get("spec") or {}
        if (spec.get("prompt"), spec.get("label")) != (release.prompt, release.label):
            continue
        found.append(
            {
                "name": body["metadata"]["name"],
                "created": body["metadata"].get("creationTimestamp"),
                **spec,
                "short": short_hash(str(spec.get("hash") or "")),
            }
        )
    return sorted(found, key=lambda a: str(a["created"]), reverse=True)


def release_page(on: Cluster, name: str) -> dict[str, Any]:
    """A release: what is live, the timeline, canary, rollout, evidence and approvals."""
    body = on.get(RELEASE_PLURAL, name)
    release = ReleaseView.of(body)
    status = release.status.raw
    versions = sorted(
        (
            VersionView.of(found)
            for found in on.list(VERSION_PLURAL)
            if (found.get("spec") or {}).get("prompt") == release.prompt
        ),
        key=lambda view: view.name,
    )
    siblings = sorted(
        ReleaseView.of(found).label
        for found in on.list(RELEASE_PLURAL)
        if (found.get("spec") or {}).get("prompt") == release.prompt
    )
    history = [_entry(e, release.status.revision) for e in release.status.history]
    names = [view.name for view in versions]
    return {
        "namespace": on.namespace,
        "release": release,
        "row": release_row(release),
        "spec": body.get("spec") or {},
        "status": status,
        "history": history,
        "waiting": waiting_approvals(status),
        "canary": status.get("canary") or {},
        "canary_steps": ((body.get("spec") or {}).get("canary") or {}).get("steps") or [],
        "last_canary": status.get("lastCanary") or {},
        "rollout": status.get("rollout") or {},
        "promotion": status.get("promotion") or {},
        "approvals": _approvals(on, release),
        "versions": names,
        "compare": _compared_by_default(release, names),
        "sources": [label for label in siblings if label != release.label],
        "conditions": status.get("conditions") or [],
    }


def _compared_by_default(release: ReleaseView, versions: list[str]) -> tuple[str, str]:
    """The two versions the compare form starts with: the last two revisions, else what is
    live and the newest other version of the prompt."""
    history = release.status.history
    live = release.status.version or release.version
    if len(history) > 1:
        return str(history[1].get("version")), live
    others = [name for name in versions if name != live]
    return live, others[-1] if others else live


def preview(spec: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The version rendered with sample variables: the text, or each message; a render that
    fails says why instead."""
    template_format = template_format_of(spec)
    try:
        if spec.get("template") is not None:
            return {"text": render_text(str(spec["template"]), template_format, values)}
        return {
            "messages": [
                {
                    "role": message.get("role"),
                    "content": render_text(
                        str(message.get("content", "")), template_format, values
                    ),
                }
                for message in spec.get("messages") or []
            ]
        }
    except Exception as error:  # a missing or mistyped variable: the page says which
        return {"error": str(error)}


def version_page(on: Cluster, name: str, values: Mapping[str, str]) -> dict[str, Any]:
    """A version: its content, its status, and the rendered preview for sample variables."""
    body = on.get(VERSION_PLURAL, name)
    view = VersionView.of(body)
    spec = body.get("spec") or {}
    declared = names(spec.get("variables"))
    given = {key: values.get(key, f"<{key}>") for key in declared}
    return {
        "namespace": on.namespace,
        "version": view,
        "spec": spec,
        "status": body.get("status") or {},
        "ready": conditions.ready_of(body.get("status")),
        "variables": declared,
        "values": {key: values.get(key, "") for key in declared},
        "preview": preview(spec, given),
        "format": template_format_of(spec),
    }


def diff_page(on: Cluster, version_a: str, version_b: str) -> dict[str, Any]:
    """Two versions side by side."""
    spec_a, spec_b = on.version(version_a).spec, on.version(version_b).spec
    return {
        "namespace": on.namespace,
        "a": version_a,
        "b": version_b,
        "comparison": diffview.compare(spec_a, spec_b),
        "prompt": spec_b.get("prompt"),
    }
