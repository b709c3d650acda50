"""Verbs of the two-person rule: approve and reject one exact version of a release.

Each creates one PromptApproval (immutable); the API server stamps its approver (the governance
admission policies) and refuses one by the requester, so nothing here decides who may.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from prompt_release.core import governance
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import OK, CliError, UsageError
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import cluster, printed_for_git, wait_for


def awaiting_decision(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """What awaits a decision: the requested spec.version, the canary's candidate."""
    canary: Mapping[str, Any] = status.get("canary") or {}
    return [found for found in (status.get("approval"), canary.get("approval")) if found]


def _decided_on(on: Cluster, release: ReleaseView, version: str | None) -> tuple[str, str]:
    """The version and content hash to decide on: the one awaiting approval, by default (the
    requested spec.version, or the canary's candidate; --version picks one when both wait)."""
    waiting = awaiting_decision(release.status.raw)
    if not version and not waiting:
        raise UsageError(
            f"{release.name} awaits no approval (live: revision {release.status.revision}, "
            f"{release.status.version}); name a version with --version to decide on it ahead"
        )
    if not version and len(waiting) > 1:
        names = " and ".join(str(w.get("version")) for w in waiting)
        raise UsageError(
            f"{release.name} awaits approval of {names} (spec.version and the canary): name "
            "one with --version"
        )
    target = version or str(waiting[0].get("version"))
    for found_waiting in waiting:
        if found_waiting.get("version") == target and found_waiting.get("hash"):
            return target, str(found_waiting["hash"])
    found = on.version(target)
    if found.content_hash is None or found.problems:
        raise UsageError(f"PromptVersion {target} can't be decided on: {'; '.join(found.problems)}")
    return target, found.content_hash


def _refuse_if_void(on: Cluster, label: str, manifest: dict[str, Any]) -> None:
    """An approval is immutable: refuse before creating one that would count for nothing,
    because no PromptPolicy requires approval for the label, or because the admission
    policies that stamp its approver are not installed (a dry run shows no approver)."""
    policies = [governance.PolicyView.of(b) for b in on.list(governance.POLICY_PLURAL)]
    if not any(p.require_approval and p.protects(label) for p in policies):
        raise CliError(
            f"no PromptPolicy in namespace {on.namespace} requires approval for label {label}: "
            "a PromptApproval (immutable) would count for nothing, so none was created"
        )
    tried = on.create(governance.APPROVAL_PLURAL, manifest, dry_run=True)
    if not (tried.get("spec") or {}).get("approver"):
        raise CliError(
            "the API server stamps no approver on a PromptApproval: the governance admission "
            "policies are not installed (helm --set governance.enabled=true), so a "
            "PromptApproval would count for nothing; none was created"
        )


def decision_manifest(
    on: Cluster,
    prompt: str,
    label: str,
    decision: str,
    version: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """The PromptApproval deciding on `version` (default: the one awaiting approval) of the
    release of `prompt` and `label`, bound to its exact content hash."""
    name = release_name(prompt, label)
    decided, content_hash = _decided_on(on, on.release(name), version)
    spec: dict[str, Any] = {
        "prompt": prompt,
        "label": label,
        "version": decided,
        "hash": content_hash,
        "decision": decision,
    }
    if comment:
        spec["comment"] = comment
    manifest = on.manifest("PromptApproval", "", spec)
    del manifest["metadata"]["name"]
    manifest["metadata"]["generateName"] = f"{name}-"
    return manifest


def create_decision(on: Cluster, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create the PromptApproval unless it would count for nothing; the API server stamps its
    approver and refuses the requester's own."""
    _refuse_if_void(on, manifest["spec"]["label"], manifest)
    return on.create(governance.APPROVAL_PLURAL, manifest)


def _decide(args: argparse.Namespace, decision: str) -> int:
    on = cluster(args)
    name = release_name(args.prompt, args.label)
    manifest = decision_manifest(on, args.prompt, args.label, decision, args.version, args.message)
    version, content_hash = manifest["spec"]["version"], manifest["spec"]["hash"]
    if printed_for_git(args, manifest):
        return OK
    written = create_decision(on, manifest)
    approver = (written.get("spec") or {}).get("approver")
    verb = "approved" if decision == governance.APPROVE else "rejected"
    what = f"{version} ({short_hash(content_hash)}) for {name}"
    if args.output == "table":
        print(f"promptapproval/{written['metadata']['name']}: {approver} {verb} {what}")
    if args.no_wait or decision == governance.REJECT:
        if args.output != "table":
            emit(args.output, [], [], written)
        return OK
    return _wait_decided(args, on, name, version, content_hash, written)


def _wait_decided(
    args: argparse.Namespace,
    on: Cluster,
    name: str,
    version: str,
    content_hash: str,
    written: Mapping[str, Any],
) -> int:
    """Wait until the release no longer awaits approval of this version; say what it did."""

    def decided() -> ReleaseView | None:
        current = on.release(name)
        pending = any(
            (w.get("version"), w.get("hash"), w.get("state"))
            == (version, content_hash, governance.PENDING)
            for w in awaiting_decision(current.status.raw)
        )
        return None if pending else current

    current = wait_for(
        decided, args.timeout, f"{name} to act on the approval: is the operator running?"
    )
    ready = current.status.ready
    if args.output != "table":
        emit(args.output, [], [], dict(written))
    elif ready.get("status") == "True":
        print(f"promptrelease/{name}: {ready.get('message')}")
    else:
        print(f"promptrelease/{name} ({ready.get('reason')}): {ready.get('message')}")
    return OK


def cmd_approve(args: argparse.Namespace) -> int:
    return _decide(args, governance.APPROVE)


def cmd_reject(args: argparse.Namespace) -> int:
    return _decide(args, governance.REJECT)
