"""What the dashboard's buttons do: the same writes as `kubectl prompt`, made as the user.

Each action is planned first (what will go live, for the confirmation and its diff), then
carried out by the plugin's own functions: one plain API request each, which the API server
authorizes and its admission policies stamp and check. Nothing here decides who may.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prompt_release import RELEASE_PLURAL
from prompt_release.core import governance
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.dashboard import diffview
from prompt_release.plugin.errors import UsageError
from prompt_release.plugin.verbs.canary import edited_spec, write_edit
from prompt_release.plugin.verbs.consumers import check as consumer_check
from prompt_release.plugin.verbs.evaluation import gates
from prompt_release.plugin.verbs.governance import (
    create_decision,
    decision_manifest,
)
from prompt_release.plugin.verbs.releasing import (
    promotion_changelog,
    release_manifest,
    rollback_entry,
    write_release,
)

CANARY_ACTIONS = {
    "canary-start": "start",
    "canary-set-weight": "set-weight",
    "canary-promote": "promote",
    "canary-abort": "abort",
    "canary-resume": "resume",
}
DECISIONS = {"approve": governance.APPROVE, "reject": governance.REJECT}
ACTIONS = ("promote", "rollback", "approve", "reject", *CANARY_ACTIONS)
TITLES = {
    "promote": "Promote",
    "rollback": "Roll back",
    "approve": "Approve",
    "reject": "Reject",
    "canary-start": "Start a canary",
    "canary-set-weight": "Set the canary's weight",
    "canary-promote": "Promote the canary",
    "canary-abort": "Abort the canary",
    "canary-resume": "Resume the canary",
}


@dataclass(frozen=True)
class Check:
    """A gate a promotion waits for, or a consuming workload, as `kubectl prompt promote`
    shows them: the operator holds the new revision back while one isn't passed."""

    name: str
    passed: bool
    message: str


@dataclass
class Plan:
    """An action as the confirmation shows it: what goes live, and the change it makes."""

    action: str
    title: str
    summary: str
    live: str | None
    next: str | None  # the version this action serves (None: nothing new goes live)
    params: dict[str, str] = field(default_factory=dict)
    comparison: diffview.Comparison | None = None
    checks: list[Check] = field(default_factory=list)


def _number(params: Mapping[str, str], key: str) -> float | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as error:
        raise UsageError(f"{key} must be a number, not {text!r}") from error


def _target(
    on: Cluster, release: ReleaseView, action: str, params: Mapping[str, str]
) -> tuple[str | None, str]:
    """The version the action serves (or asks approval for) and a sentence saying so."""
    live = release.status.version
    if action == "promote":
        source = on.release(release_name(release.prompt, params.get("source", "")))
        promotion_changelog(source)  # refuses a source that serves nothing Ready
        return source.status.version, (
            f"{release.name} will serve {source.status.version} "
            f"({short_hash(source.status.hash or '')}), what {source.label} serves now"
        )
    if action == "rollback":
        revision = _number(params, "revision")
        entry = rollback_entry(release, None if revision is None else int(revision))
        return str(entry["version"]), (
            f"{release.name} will serve {entry['version']} again, as a new revision restoring "
            f"revision {entry['revision']}"
        )
    if action in ("approve", "reject"):
        manifest = decision_manifest(
            on, release.prompt, release.label, DECISIONS[action], params.get("version") or None
        )
        spec = manifest["spec"]
        verb = "approve" if action == "approve" else "reject"
        return spec["version"], (
            f"You {verb} {spec['version']} ({short_hash(spec['hash'])}) for {release.name}"
        )
    if action == "canary-start":
        candidate = params.get("version") or None
        weight = _number(params, "weight") or 10
        return candidate, f"{candidate} will serve {weight:g} % of requests of {release.name}"
    canary = release.status.raw.get("canary") or {}
    candidate = canary.get("version") or release.canary_version
    if action == "canary-promote":
        return candidate, f"{candidate} becomes the live revision of {release.name}"
    if action == "canary-set-weight":
        return candidate, f"{candidate} will serve {_number(params, 'weight')} % of requests"
    if action == "canary-abort":
        return live, f"{release.name} stops serving {candidate}; {live} serves every request"
    return candidate, f"the canary of {release.name} goes on past its pause"


def plan(on: Cluster, name: str, action: str, params: Mapping[str, str]) -> Plan:
    """What `action` on release `name` would do; a bad request raises a `CliError`."""
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    release = on.release(name)
    next_version, summary = _target(on, release, action, params)
    live = release.status.version
    comparison = None
    if live and next_version and next_version != live:
        comparison = diffview.compare(on.version(live).spec, on.version(next_version).spec)
    kept = {k: v for k, v in params.items() if k in ("source", "revision", "version", "weight")}
    checks = _promotion_checks(on, release, params) if action == "promote" else []
    return Plan(action, TITLES[action], summary, live, next_version, kept, comparison, checks)


def _promotion_checks(on: Cluster, target: ReleaseView, params: Mapping[str, str]) -> list[Check]:
    """The target's spec.promotion gates and its consumers, judged for the source's version."""
    source = on.release(release_name(target.prompt, params.get("source", "")))
    version, content_hash = str(source.status.version), str(source.status.hash)
    rows = gates(on, on.get(RELEASE_PLURAL, target.name), source, version, content_hash) or []
    checks = [Check(str(r["name"]), bool(r["passed"]), str(r["message"])) for r in rows]
    verdict = consumer_check(on, target, on.version(version))
    for consumer in verdict.consumers if verdict is not None else ():
        problem = consumer.problem()
        checks.append(Check(consumer.label, not problem, problem or consumer.state))
    return checks


def _decide(on: Cluster, release: ReleaseView, action: str, params: Mapping[str, str]) -> str:
    manifest = decision_manifest(
        on,
        release.prompt,
        release.label,
        DECISIONS[action],
        params.get("version") or None,
        params.get("message") or None,
    )
    written = create_decision(on, manifest)
    spec = written.get("spec") or {}
    verb = "approved" if action == "approve" else "rejected"
    return f"{spec.get('approver')} {verb} {spec.get('version')} for {release.name}"


def _move(on: Cluster, release: ReleaseView, action: str, params: Mapping[str, str]) -> str:
    """Promote or roll back: point spec.version elsewhere, hash-pinned, with a changelog."""
    message = params.get("message") or None
    if action == "promote":
        source = on.release(release_name(release.prompt, params.get("source", "")))
        changelog = message or promotion_changelog(source)
        version, pin = str(source.status.version), source.status.hash
    else:
        revision = _number(params, "revision")
        entry = rollback_entry(release, None if revision is None else int(revision))
        changelog = message or f"Roll back to revision {entry['revision']}"
        version, pin = str(entry["version"]), str(entry["hash"])
    manifest = release_manifest(on, release.prompt, release.label, version, pin, changelog)
    write_release(on, manifest)
    return f"{release.name} now points at {version}; the operator carries it out"


def _canary(on: Cluster, release: ReleaseView, action: str, params: Mapping[str, str]) -> str:
    body = on.get(RELEASE_PLURAL, release.name)
    verb = CANARY_ACTIONS[action]
    if verb == "start":
        mismatch = on.version(params.get("version") or "").mismatch(release.prompt)
        if mismatch:
            raise UsageError(mismatch)
    new = edited_spec(
        verb,
        body,
        release.name,
        version=params.get("version") or None,
        weight=_number(params, "weight"),
        message=params.get("message") or None,
    )
    write_edit(on, release.name, body, new)
    return f"{release.name}: canary {verb} written; the operator carries it out"


def carry_out(on: Cluster, name: str, action: str, params: Mapping[str, str]) -> str:
    """Make the action's request as the user; what happened, in one sentence."""
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    release = on.release(name)
    if action in ("approve", "reject"):
        return _decide(on, release, action, params)
    if action in ("promote", "rollback"):
        return _move(on, release, action, params)
    return _canary(on, release, action, params)
