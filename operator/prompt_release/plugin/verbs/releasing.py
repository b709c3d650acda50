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
    spec: dict[str, Any] = {"prompt": prompt, "label": label, "version": version}
    if changelog:
        spec["changelog"] = changelog
    if pin:
        spec["hash"] = pin
    manifest = on.manifest("PromptRelease", name, spec)
    if printed_for_git(args, manifest):
        return OK
    mismatch = on.version(version).mismatch(prompt)
    if mismatch:
        raise UsageError(mismatch)
    try:
        on.get(RELEASE_PLURAL, name)
    except NotFoundError:
        written = on.create(RELEASE_PLURAL, manifest)
    else:
        patch = {"spec": {"version": version, "changelog": changelog, "hash": pin}}
        written = on.merge_patch(RELEASE_PLURAL, name, patch)
    if args.no_wait:
        print(f"promptrelease/{name} points at {version} (not waiting)")
        return OK
    return _wait_released(args, on, ReleaseView.of(written))


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


def cmd_promote(args: argparse.Namespace) -> int:
    on = cluster(args)
    source = on.release(release_name(args.prompt, args.source))
    live = source.status.live_entry()
    if not source.status.is_ready or not source.status.hash or live is None:
        raise CliError(
            f"{source.name} is not Ready "
            f"({source.status.ready.get('reason', 'no status yet')}): nothing to promote"
        )
    changelog = (
        args.message
        or live.get("changelog")
        or f"Promote {source.status.version} from {args.source}"
    )
    target = target_of(on, args.prompt, args.target)
    rows = None
    if target is not None:
        rows = gates(on, target, source, str(source.status.version), source.status.hash)
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


def cmd_rollback(args: argparse.Namespace) -> int:
    on = cluster(args)
    release = on.release(release_name(args.prompt, args.label))
    if args.to_revision is not None:
        entry = release.status.entry_at(args.to_revision)
        if entry is None:
            kept = ", ".join(str(e.get("revision")) for e in release.status.history) or "none"
            raise NotFoundError(
                f"revision {args.to_revision} is not in the history of {release.name} "
                f"(kept: {kept})"
            )
    else:
        entry = release.status.previous_entry()
        if entry is None:
            raise NotFoundError(f"{release.name} has no earlier revision to roll back to")
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
