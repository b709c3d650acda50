"""Verbs that move a label: release, promote, rollback. Each ends in one apply and a wait."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prompt_release import RELEASE_PLURAL
from prompt_release.core.consumer_gate import WARN
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import FAILED, OK, CliError, NotFoundError, UsageError
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import cluster, printed_for_git, wait_for
from prompt_release.plugin.verbs.consumers import check as consumer_check
from prompt_release.plugin.verbs.consumers import show as show_consumers
from prompt_release.plugin.verbs.evaluation import gates, show_gates, target_of


def _apply_release(
    args: argparse.Namespace,
    on: Cluster,
    *,
    prompt: str,
    label: str,
    version: str,
    pin: str | None,
    changelog: str | None,
) -> int:
    """Point a release at a version (create it if new); wait for the operator's verdict."""
    name = release_name(prompt, label)
    manifest = release_manifest(on, prompt, label, version, pin, changelog)
    if printed_for_git(args, manifest):
        return OK
    written = write_release(on, manifest)
    if args.no_wait:
        print(f"promptrelease/{name} points at {version} (not waiting)")
        return OK
    return _wait_released(args, on, ReleaseView.of(written))


def write_release(on: Cluster, manifest: dict[str, Any]) -> dict[str, Any]:
    """Point the release of `manifest` at its spec.version: create it, or patch the version,
    changelog and pin of the one there; a version of another prompt is refused first."""
    spec = manifest["spec"]
    mismatch = on.version(spec["version"]).mismatch(spec["prompt"])
    if mismatch:
        raise UsageError(mismatch)
    name = manifest["metadata"]["name"]
    try:
        on.get(RELEASE_PLURAL, name)
    except NotFoundError:
        return on.create(RELEASE_PLURAL, manifest)
    patch = {
        "spec": {
            "version": spec["version"],
            "changelog": spec.get("changelog"),
            "hash": spec.get("hash"),
        }
    }
    return on.merge_patch(RELEASE_PLURAL, name, patch)


def release_manifest(
    on: Cluster, prompt: str, label: str, version: str, pin: str | None, changelog: str | None
) -> dict[str, Any]:
    """The PromptRelease that points `label` of `prompt` at `version`."""
    spec: dict[str, Any] = {"prompt": prompt, "label": label, "version": version}
    if changelog:
        spec["changelog"] = changelog
    if pin:
        spec["hash"] = pin
    return on.manifest("PromptRelease", release_name(prompt, label), spec)


def _wait_released(args: argparse.Namespace, on: Cluster, written: ReleaseView) -> int:

    def verdict() -> tuple[dict[str, Any], dict[str, Any]] | None:
        body = on.get(RELEASE_PLURAL, written.name)
        current = ReleaseView.of(body)
        ready = dict(current.status.ready)
        observed = int(current.status.raw.get("observedGeneration") or 0)
        settled = observed >= written.generation and ready.get("status") in ("True", "False")
        return (body, ready) if settled else None

    body, ready = wait_for(
        verdict, args.timeout, f"{written.name} to be released: is the operator running?"
    )
    if args.output != "table":
        emit(args.output, [], [], body)
    if ready["status"] == "True":
        if args.output == "table":
            print(f"promptrelease/{written.name}: {ready.get('message')}")
        return OK
    print(
        f"error: promptrelease/{written.name} refused ({ready.get('reason')}): "
        f"{ready.get('message')}",
        file=sys.stderr,
    )
    return FAILED


def cmd_release(args: argparse.Namespace) -> int:
    return _apply_release(
        args,
        cluster(args),
        prompt=args.prompt,
        label=args.label,
        version=args.version,
        pin=args.hash,
        changelog=args.message,
    )


def promotion_changelog(source: ReleaseView) -> str:
    """The changelog a promotion from `source` carries by default; refuses a source that serves
    nothing Ready."""
    live = source.status.live_entry()
    if not source.status.is_ready or not source.status.hash or live is None:
        raise CliError(
            f"{source.name} is not Ready "
            f"({source.status.ready.get('reason', 'no status yet')}): nothing to promote"
        )
    return str(live.get("changelog") or f"Promote {source.status.version} from {source.label}")


def cmd_promote(args: argparse.Namespace) -> int:
    on = cluster(args)
    source = on.release(release_name(args.prompt, args.source))
    default_changelog = promotion_changelog(source)  # refuses a source not Ready
    changelog = args.message or default_changelog
    target = target_of(on, args.prompt, args.target)
    rows = None
    if target is not None:
        rows = gates(on, target, source, str(source.status.version), str(source.status.hash))
    if rows is not None and args.dry_run != "client":
        show_gates(rows, release_name(args.prompt, args.target))
    missing = [row["name"] for row in rows or () if not row["passed"]]
    if _consumers_refuse(args, on, target, source):
        missing.append("Consumers")
    if args.check:
        return FAILED if missing else OK
    if missing:
        args.no_wait = True  # the operator carries it out once the gates hold
    code = _apply_release(
        args,
        on,
        prompt=args.prompt,
        label=args.target,
        version=str(source.status.version),
        pin=source.status.hash,
        changelog=changelog,
    )
    if missing and args.dry_run != "client":
        print(
            f"promptrelease/{release_name(args.prompt, args.target)} keeps serving its live "
            f"revision until its gates hold (missing: {', '.join(missing)}); the operator "
            "promotes it then"
        )
    return code


def _consumers_refuse(
    args: argparse.Namespace, on: Cluster, target: dict[str, Any] | None, source: ReleaseView
) -> bool:
    """Show how the version fares with the target's consumers; whether the operator will
    hold it back for them (spec.consumerCheck Enforce)."""
    name = release_name(args.prompt, args.target)
    view = (
        ReleaseView.of(target)
        if target is not None
        else ReleaseView.of({"metadata": {"name": name}})
    )
    if view.status.serves(str(source.status.version), str(source.status.hash)):
        return False  # nothing moves: the live revision is never held back
    verdict = consumer_check(on, view, on.version(str(source.status.version)))
    if verdict is None:
        return False
    if args.dry_run != "client" and args.output == "table":
        show_consumers(verdict, name)
    return not verdict.passed and view.consumer_check != WARN


def rollback_entry(release: ReleaseView, to_revision: int | None) -> dict[str, Any]:
    """The history entry a rollback brings back: `to_revision`, else the previous one."""
    if to_revision is not None:
        entry = release.status.entry_at(to_revision)
        if entry is None:
            kept = ", ".join(str(e.get("revision")) for e in release.status.history) or "none"
            raise NotFoundError(
                f"revision {to_revision} is not in the history of {release.name} (kept: {kept})"
            )
        return entry
    entry = release.status.previous_entry()
    if entry is None:
        raise NotFoundError(f"{release.name} has no earlier revision to roll back to")
    return entry


def cmd_rollback(args: argparse.Namespace) -> int:
    on = cluster(args)
    release = on.release(release_name(args.prompt, args.label))
    entry = rollback_entry(release, args.to_revision)
    changelog = args.message or f"Roll back to revision {entry['revision']}"
    return _apply_release(
        args,
        on,
        prompt=args.prompt,
        label=args.label,
        version=entry["version"],
        pin=entry["hash"],
        changelog=changelog,
    )
