"""A release's own evaluations (spec.evaluation): `eval run` asks the operator for a run now,
`eval status` shows what evidence the release needs, has, and which gate is missing."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from typing import Any

from prompt_release.core import evaluation_jobs, promotion_gates
from prompt_release.core.evaluation import EVALUATION_PLURAL, EvaluationView, Requirements, verdict
from prompt_release.core.evaluation_manifests import CANDIDATE
from prompt_release.core.hashing import short_hash
from prompt_release.core.promotion import UP_TO_DATE
from prompt_release.core.promotion_gates import PROMOTED
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import FAILED, OK, CliError, UsageError
from prompt_release.plugin.output import age, emit, table
from prompt_release.plugin.verbs.common import cluster, wait_for

EMPTY: Mapping[str, Any] = {}
RELEASE_PLURAL = "promptreleases"


def _release(args: argparse.Namespace, on: Cluster) -> dict[str, Any]:
    if not args.version:
        raise UsageError(f"eval {args.action} needs RELEASE (or PROMPT -l LABEL)")
    name = release_name(args.version, args.label) if args.label else args.version
    return on.get(RELEASE_PLURAL, name)


def cmd_run(args: argparse.Namespace) -> int:
    """Set the run annotation and wait for the operator to start (or refuse) the run."""
    on = cluster(args)
    body = _release(args, on)
    release = ReleaseView.of(body)
    if not isinstance((body.get("spec") or EMPTY).get("evaluation"), Mapping):
        raise UsageError(
            f"PromptRelease {release.name} has no spec.evaluation: the operator runs evaluation "
            "Jobs only for a release that says how (jobTemplate, dataset, thresholds)"
        )
    token = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patch = {"metadata": {"annotations": {evaluation_jobs.RUN_ANNOTATION: token}}}
    on.merge_patch(RELEASE_PLURAL, release.name, patch)

    def started() -> dict[str, Any] | None:
        found = on.get(RELEASE_PLURAL, release.name)
        state = (found.get("status") or EMPTY).get("evaluation") or EMPTY
        return dict(state) if state.get("run") == token else None

    state = wait_for(started, args.timeout, f"the operator to start the run of {release.name}")
    if args.output != "table":
        emit(args.output, [], [], state)
        return FAILED if state.get("phase") == evaluation_jobs.FAILED else OK
    print(
        f"promptrelease/{release.name}: evaluation Job {state.get('job')} "
        f"({state.get('subject')}): {state.get('phase')}, {state.get('message')}"
    )
    return FAILED if state.get("phase") == evaluation_jobs.FAILED else OK


def _results(
    on: Cluster, body: Mapping[str, Any], release: ReleaseView, version: str, content_hash: str
) -> list[dict[str, Any]]:
    """The results of `version`, each with whether it counts as the release's evidence."""
    spec = promotion_gates.PromotionSpec.of(body)
    rules = (spec.evidence if spec else None) or Requirements.of(evaluation_jobs.thresholds(body))
    found = [
        EvaluationView.of(item)
        for item in on.list(EVALUATION_PLURAL)
        if (item.get("spec") or EMPTY).get("version") == version
    ]
    live = None if release.status.hash == content_hash else release.status.hash
    counting = {e.name for e in verdict(found, version, content_hash, rules, live).counting}
    found.sort(key=lambda e: (e.created, e.name))
    return [
        {
            "NAME": e.name,
            "VERSION": e.version,
            "HASH": short_hash(e.hash),
            "SCORE": f"{e.score:g}",
            "BASELINE": "" if e.baseline_score is None else f"{e.baseline_score:g}",
            "PASSED": str(e.passed).lower(),
            "COUNTS": "yes" if e.name in counting else "no",
            "AGE": age(e.created),
        }
        for e in found
    ]


def cmd_status(args: argparse.Namespace) -> int:
    """What evidence the release needs and has; exit 1 while a gate is missing or its run
    failed."""
    on = cluster(args)
    body = _release(args, on)
    release = ReleaseView.of(body)
    status = body.get("status") or EMPTY
    promotion = status.get("promotion") or EMPTY
    run = status.get("evaluation") or EMPTY
    gates = list(promotion.get("gates") or ())
    missing = [g["name"] for g in gates if not g.get("passed")]
    settled = promotion.get("state") in (UP_TO_DATE, PROMOTED)  # the candidate went live
    failed = run.get("phase") == evaluation_jobs.FAILED and not (
        run.get("subject") == CANDIDATE and settled
    )
    version = str(promotion.get("candidate") or release.status.version or "")
    content = str(promotion.get("candidateHash") or release.status.hash or "")
    if not version:
        raise CliError(f"PromptRelease {release.name} serves nothing yet and has no candidate")
    rows = _results(on, body, release, version, content)
    if args.output != "table":
        summary = {"release": release.name, "promotion": dict(promotion), "evaluation": dict(run)}
        emit(args.output, [], [], {**summary, "missing": missing, "results": rows})
        return FAILED if missing or failed else OK
    _print_status(release, promotion, run, gates)
    print(f"results of {version} ({short_hash(content)}):")
    columns = ["NAME", "VERSION", "HASH", "SCORE", "BASELINE", "PASSED", "COUNTS", "AGE"]
    if rows:
        table(rows, columns)
    else:
        print("  none recorded")
    return FAILED if missing or failed else OK


def _print_status(
    release: ReleaseView,
    promotion: Mapping[str, Any],
    run: Mapping[str, Any],
    gates: list[Mapping[str, Any]],
) -> None:
    live = release.status
    print(
        f"promptrelease/{release.name}: serving {live.version} ({short_hash(live.hash or '')}) "
        f"at revision {live.revision}"
    )
    if promotion.get("candidate"):
        candidate_hash = short_hash(str(promotion.get("candidateHash")))
        print(f"candidate: {promotion['candidate']} ({candidate_hash}), {promotion.get('state')}")
    if gates:
        table(
            [
                {"GATE": g["name"], "PASSED": "yes" if g.get("passed") else "NO", "": g["message"]}
                for g in gates
            ],
            ["GATE", "PASSED", ""],
        )
    if run:
        print(
            f"evaluation Job {run.get('job')} ({run.get('subject')} {run.get('version')}): "
            f"{run.get('phase')}, {run.get('message')}"
        )
