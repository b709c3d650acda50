"""Evidence: `eval record` (a result file as a PromptEvaluation bound to the version's exact
hash), `eval list`, and the promotion gates `promote` shows; `eval run` and `eval status` are
in evaluation_runs.py."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from prompt_release.core import promotion_gates, promptfoo
from prompt_release.core.evaluation import (
    DEFAULT_DATASET_KEY,
    EVALUATION_PLURAL,
    EvaluationView,
    cases_of,
    dataset_hash,
)
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import OK, NotFoundError, UsageError
from prompt_release.plugin.output import age, emit, table
from prompt_release.plugin.verbs import evaluation_runs
from prompt_release.plugin.verbs.common import cluster, printed_for_git, read

ACTIONS = ("record", "list", "run", "status")
RESULT_FIELDS = ("score", "passed")


def _load(name: str) -> dict[str, Any]:
    try:
        found = json.loads(read(name))
    except ValueError as error:
        raise UsageError(f"{name} is not JSON: {error}") from error
    if not isinstance(found, dict):
        raise UsageError(f"{name}: a result is a JSON object")
    missing = [key for key in (*RESULT_FIELDS, "dataset", "evaluator") if key not in found]
    if missing:
        raise UsageError(f"{name}: missing {', '.join(missing)}")
    return found


def _dataset(on: Cluster, raw: Mapping[str, Any], cases_file: str | None) -> dict[str, Any]:
    """The dataset with its hash computed from the cases (a file, inline, or the ConfigMap
    named), never taken on trust; a hash given that differs is refused."""
    dataset = {k: v for k, v in raw.items() if k != "cases"}
    cases: list[Any] | None = None
    if cases_file:
        cases = cases_of(read(cases_file))
    elif isinstance(raw.get("cases"), list):
        cases = list(raw["cases"])
        dataset["cases"] = cases
    elif raw.get("configMap"):
        data = on.config_map(str(raw["configMap"])).get("data") or {}
        key = str(raw.get("key") or DEFAULT_DATASET_KEY)
        if key not in data:
            raise UsageError(f"ConfigMap {raw['configMap']} has no key {key}")
        cases = cases_of(str(data[key]))
    if cases is None:
        if not raw.get("hash"):
            raise UsageError("the dataset needs its cases (--cases, inline, a ConfigMap) or hash")
        return dataset
    computed = dataset_hash(cases)
    if raw.get("hash") and raw["hash"] != computed:
        raise UsageError(f"the dataset hashes to {computed}, not {raw['hash']}: it changed")
    dataset.update(hash=computed, size=len(cases))
    return dataset


def _from_promptfoo(name: str) -> dict[str, Any]:
    try:
        return promptfoo.result_of(json.loads(read(name)))
    except ValueError as error:  # not JSON, or not one promptfoo run
        raise UsageError(f"{name}: {error}") from error


def _spec(args: argparse.Namespace, on: Cluster) -> dict[str, Any]:
    result = _from_promptfoo(args.promptfoo) if args.promptfoo else _load(args.file)
    content = on.version(args.version).content_hash
    if content is None:
        raise UsageError(f"PromptVersion {args.version} is invalid: it has no content hash")
    spec: dict[str, Any] = {
        "version": args.version,
        "hash": content,
        "dataset": _dataset(on, result["dataset"], args.cases),
        "evaluator": result["evaluator"],
        "score": float(result["score"]),
        "passed": bool(result["passed"]),
    }
    for key in ("scores", "threshold", "comment"):
        if result.get(key) is not None:
            spec[key] = result[key]
    baseline = result.get("baseline")
    if isinstance(baseline, Mapping):
        base = on.version(str(baseline["version"])).content_hash
        spec["baseline"] = {
            "version": baseline["version"],
            "hash": base,
            "score": float(baseline["score"]),
        }
    return spec


def _record(args: argparse.Namespace) -> int:
    if not args.version or bool(args.file) == bool(args.promptfoo):
        raise UsageError("eval record needs VERSION and one of -f RESULT.json, --from-promptfoo")
    on = cluster(args)
    manifest = on.manifest("PromptEvaluation", args.name or "", _spec(args, on))
    if not args.name:  # a fresh name each run: results are never overwritten
        meta = manifest["metadata"]
        del meta["name"]
        meta["generateName"] = f"{args.version[:200]}-"
    if printed_for_git(args, manifest):
        return OK
    written = on.create(EVALUATION_PLURAL, manifest)
    view = EvaluationView.of(written)
    if args.output != "table":
        emit(args.output, [], [], written)
        return OK
    by = f", recorded by {view.recorded_by}" if view.recorded_by else ""
    print(
        f"promptevaluation/{view.name}: {view.version} ({short_hash(view.hash)}) scored "
        f"{view.score:g} on {short_hash(view.dataset_hash)}, "
        f"{'passed' if view.passed else 'failed'}{by}"
    )
    return OK


def _rows(on: Cluster, listed: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    hashes: dict[str, str | None] = {}
    rows = []
    for body in listed:
        view = EvaluationView.of(body)
        if view.version not in hashes:
            try:
                hashes[view.version] = on.version(view.version).content_hash
            except NotFoundError:
                hashes[view.version] = None
        actual = hashes[view.version]
        bound = "yes" if actual == view.hash else "no version" if actual is None else "NO"
        rows.append(
            {
                "NAME": view.name,
                "VERSION": view.version,
                "HASH": short_hash(view.hash),
                "MATCHES": bound,
                "DATASET": (view.dataset_names or ("",))[0] or short_hash(view.dataset_hash),
                "SCORE": f"{view.score:g}",
                "PASSED": str(view.passed).lower(),
                "EVALUATOR": view.evaluator_label,
                "RECORDED-BY": view.recorded_by or "",
                "AGE": age(view.created),
            }
        )
    return rows


def _list(args: argparse.Namespace) -> int:
    on = cluster(args)
    listed = [
        body
        for body in on.list(EVALUATION_PLURAL)
        if not args.version or (body.get("spec") or {}).get("version") == args.version
    ]
    listed.sort(key=lambda body: str(body["metadata"].get("creationTimestamp") or ""))
    columns = ["NAME", "VERSION", "HASH", "MATCHES", "DATASET", "SCORE", "PASSED"]
    columns += ["EVALUATOR", "RECORDED-BY", "AGE"]
    emit(args.output, _rows(on, listed) if args.output == "table" else [], columns, listed)
    return OK


def cmd_eval(args: argparse.Namespace) -> int:
    if args.action in ("run", "status"):
        return (
            evaluation_runs.cmd_run(args)
            if args.action == "run"
            else evaluation_runs.cmd_status(args)
        )
    return _record(args) if args.action == "record" else _list(args)


# -- promote: the gates ------------------------------------------------------------------------


def gates(
    on: Cluster, target: Mapping[str, Any], source: ReleaseView, version: str, content_hash: str
) -> list[dict[str, Any]] | None:
    """The target's spec.promotion gates for this version, as the operator judges them
    (`core/promotion_gates.py`); None when the target has no spec.promotion."""
    spec = promotion_gates.PromotionSpec.of(target)
    if spec is None:
        return None
    evaluations = [
        EvaluationView.of(body)
        for body in on.list(EVALUATION_PLURAL)
        if (body.get("spec") or {}).get("version") == version
    ]
    found = promotion_gates.gates(
        spec,
        ReleaseView.of(target),
        source,
        (version, content_hash),
        evaluations,
        dt.datetime.now(dt.UTC),
    )
    return found.rows


def show_gates(rows: list[dict[str, Any]], target: str) -> None:
    print(f"gates of {target} (spec.promotion):")
    table(
        [
            {"GATE": r["name"], "PASSED": "yes" if r["passed"] else "NO", "": r["message"]}
            for r in rows
        ],
        ["GATE", "PASSED", ""],
    )


def target_of(on: Cluster, prompt: str, label: str) -> dict[str, Any] | None:
    try:
        return on.get("promptreleases", release_name(prompt, label))
    except NotFoundError:
        return None
