"""`kubectl prompt canary start|set-weight|promote|abort|resume|status`.

Each writing action is one edit of the release's spec (the rules in `core/canary_edits.py`),
written as a merge patch guarded by the resourceVersion it was computed from, then a wait for
the operator's verdict; with `--dry-run=client` the edited PromptRelease is printed for Git.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from prompt_release import RELEASE_PLURAL
from prompt_release.core import canary_edits, conditions
from prompt_release.core.views import release_name
from prompt_release.kube import merge_patch_of
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import FAILED, OK, CliError, UsageError
from prompt_release.plugin.output import emit, table
from prompt_release.plugin.verbs.common import cluster, printed_for_git, read, wait_for

ACTIONS = ("start", "set-weight", "promote", "abort", "resume", "status")

Done = Callable[[Mapping[str, Any]], bool]


def _steps(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """--steps-file: a YAML list of steps, or a mapping with `steps` and `segments`."""
    if not args.steps_file:
        return [], []
    try:
        found = yaml.safe_load(read(args.steps_file))
    except yaml.YAMLError as error:
        raise UsageError(f"{args.steps_file} is not YAML: {error}") from error
    if isinstance(found, list):
        found = {"steps": found}
    if not isinstance(found, dict) or not all(
        isinstance(found.get(key) or [], list) for key in ("steps", "segments")
    ):
        raise UsageError(f"{args.steps_file}: expected a list of steps, or steps: and segments:")
    return list(found.get("steps") or []), list(found.get("segments") or [])


def _edited(args: argparse.Namespace, body: Mapping[str, Any], name: str) -> dict[str, Any]:
    steps, segments = _steps(args) if args.action == "start" else ([], [])
    return edited_spec(
        args.action,
        body,
        name,
        version=args.version,
        weight=args.weight,
        pin=args.hash,
        steps=steps,
        segments=segments,
        message=args.message,
    )


def edited_spec(
    action: str,
    body: Mapping[str, Any],
    name: str,
    *,
    version: str | None = None,
    weight: float | None = None,
    pin: str | None = None,
    steps: list[dict[str, Any]] | None = None,
    segments: list[dict[str, Any]] | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The release's spec after one canary action (the rules in `core/canary_edits.py`)."""
    spec, status = dict(body.get("spec") or {}), dict(body.get("status") or {})
    try:
        if action == "start":
            if not version:
                raise UsageError("canary start needs --version, the candidate PromptVersion")
            return canary_edits.start_spec(
                spec,
                name,
                version=version,
                weight=weight if weight is not None else 10,
                pin=pin,
                steps=steps or [],
                segments=segments or [],
            )
        if action == "set-weight":
            if weight is None:
                raise UsageError("canary set-weight needs the weight, e.g. --weight 25")
            return canary_edits.weight_spec(spec, name, weight)
        if action == "promote":
            return canary_edits.promote_spec(spec, status, name, message)
        if action == "abort":
            return canary_edits.abort_spec(spec, name)
        return canary_edits.resume_spec(spec, status, name)
    except canary_edits.CanaryEditError as error:
        raise CliError(str(error)) from error


def write_edit(
    on: Cluster, name: str, body: Mapping[str, Any], new: Mapping[str, Any]
) -> dict[str, Any]:
    """Write an edited spec as a merge patch guarded by the resourceVersion it was made from."""
    patch = {
        "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
        "spec": merge_patch_of(body.get("spec") or {}, new),
    }
    return on.merge_patch(RELEASE_PLURAL, name, patch)


def _done(args: argparse.Namespace, body: Mapping[str, Any], new: Mapping[str, Any]) -> Done:
    """When the operator has acted on the edit."""
    status = body.get("status") or {}
    if args.action == "promote":
        revision = int(status.get("revision") or 0)
        return lambda s: int(s.get("revision") or 0) > revision and conditions.is_ready(s)
    if args.action == "abort":
        return lambda s: not s.get("canary")
    if args.action == "resume":
        step = int((status.get("canary") or {}).get("step") or 0)
        return lambda s: int((s.get("canary") or {}).get("step") or 0) > step
    wanted = new["canary"]
    return lambda s: (
        (s.get("canary") or {}).get("version") == wanted["version"]
        and ((s.get("canary") or {}).get("specWeight") == wanted["weight"])
    )


def cmd_canary(args: argparse.Namespace) -> int:
    on = cluster(args)
    name = release_name(args.prompt, args.label)
    body = on.get(RELEASE_PLURAL, name)
    if args.action == "status":
        return _status(args, body)
    if args.action == "start" and args.dry_run != "client":
        mismatch = on.version(args.version or "").mismatch(args.prompt) if args.version else None
        if mismatch:
            raise UsageError(mismatch)
    new = _edited(args, body, name)
    if printed_for_git(args, on.manifest("PromptRelease", name, new)):
        return OK
    written = write_edit(on, name, body, new)
    if args.no_wait:
        print(f"promptrelease/{name}: canary {args.action} written (not waiting)")
        return OK
    generation = int(written["metadata"].get("generation") or 0)
    return _wait(args, on, name, generation, _done(args, body, new))


def _wait(args: argparse.Namespace, on: Cluster, name: str, generation: int, done: Done) -> int:
    refusable = args.action in ("start", "set-weight", "promote")

    def verdict() -> tuple[dict[str, Any], Mapping[str, Any], bool] | None:
        body = on.get(RELEASE_PLURAL, name)
        status = body.get("status") or {}
        if int(status.get("observedGeneration") or 0) < generation:
            return None
        ready = conditions.ready_of(status)
        if done(status):
            return body, ready, False
        refused = refusable and ready.get("status") == "False"
        return (body, ready, True) if refused else None

    body, ready, refused = wait_for(
        verdict, args.timeout, f"{name}'s canary: is the operator running?"
    )
    if refused:
        print(
            f"error: promptrelease/{name} refused the canary {args.action} "
            f"({ready.get('reason')}): {ready.get('message')}",
            file=sys.stderr,
        )
        return FAILED
    if args.output != "table":
        emit(args.output, [], [], body)
        return OK
    print(f"promptrelease/{name}: {ready.get('message')}")
    return OK


def _status(args: argparse.Namespace, body: Mapping[str, Any]) -> int:
    status = body.get("status") or {}
    state = status.get("canary")
    last = status.get("lastCanary")
    if args.output != "table":
        emit(args.output, [], [], {"canary": state, "lastCanary": last})
        return OK
    name = body["metadata"]["name"]
    if not state:
        print(f"{name} runs no canary.")
        if last:
            print(
                f"Last canary: {last.get('version')} ({last.get('shortHash')}) "
                f"{str(last.get('outcome')).lower()} at {last.get('weight')} % "
                f"on {last.get('endedAt')}: {last.get('message')}"
            )
        return OK
    steps = len(((body.get("spec") or {}).get("canary") or {}).get("steps") or ())
    table(
        [
            {
                "STABLE": f"{status.get('version')} (r{status.get('revision')})",
                "CANARY": state.get("version"),
                "HASH": state.get("shortHash"),
                "WEIGHT": f"{state.get('weight')} %",
                "STEP": f"{state.get('step', 0)}/{steps}",
                "PHASE": state.get("phase"),
                "STARTED": state.get("startedAt"),
            }
        ],
        ["STABLE", "CANARY", "HASH", "WEIGHT", "STEP", "PHASE", "STARTED"],
    )
    if state.get("message"):
        print(f"\n{state['message']}")
    for record in state.get("steps") or ():
        if record.get("query"):  # a Prometheus analysis: its verdict and last measurements
            taken = record.get("measurements") or ()
            values = ", ".join(str(m.get("value", m.get("reason"))) for m in taken[-5:])
            print(
                f"analysis step {int(record['index']) + 1}: {record.get('phase')}, "
                f"{record.get('successful', 0)} successful, {record.get('failed', 0)} failed, "
                f"{record.get('inconclusive', 0)} inconclusive; last: {values or 'none yet'}"
            )
    return OK
