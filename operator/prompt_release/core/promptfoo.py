"""promptfoo's results (`promptfoo eval -o results.json`) as an evaluation result: the pass rate
as the score, promptfoo's own verdict as `passed`, its test cases as the dataset (hashed, so
evidence names exactly what ran) and its version as the evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prompt_release.core.evaluation import dataset_hash

EVALUATOR = "promptfoo"


class PromptfooError(ValueError):
    """The document is not one promptfoo run of one prompt against one provider."""


def result_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """A result in the shape `kubectl prompt eval record -f` reads, from promptfoo's output."""
    run = document.get("results")
    if not isinstance(run, Mapping) or not isinstance(run.get("results"), list):
        raise PromptfooError("not promptfoo output: no results.results (promptfoo eval -o FILE)")
    rows = [row for row in run["results"] if isinstance(row, Mapping)]
    if not rows:
        raise PromptfooError("the promptfoo run has no results")
    for what, key in (("prompts", "promptIdx"), ("providers", "provider")):
        seen = {_key(row.get(key)) for row in rows}
        if len(seen) > 1:
            raise PromptfooError(
                f"the promptfoo run compares {len(seen)} {what}; a result is for one version: "
                f"run one prompt against one provider"
            )
    cases = _cases(rows)
    stats = _mapping(run.get("stats"))
    successes = int(stats.get("successes", sum(1 for row in rows if row.get("success"))))
    failures = int(stats.get("failures", len(rows) - successes))
    errors = int(stats.get("errors", 0))
    total = successes + failures + errors
    scores = [float(row["score"]) for row in rows if isinstance(row.get("score"), int | float)]
    config, metadata = _mapping(document.get("config")), _mapping(document.get("metadata"))
    evaluator: dict[str, Any] = {"name": EVALUATOR}
    if metadata.get("promptfooVersion"):
        evaluator["version"] = str(metadata["promptfooVersion"])
    return {
        "score": successes / total if total else 0.0,
        "passed": total > 0 and failures == 0 and errors == 0,
        "dataset": {
            "name": str(config.get("description") or "promptfoo tests"),
            "hash": dataset_hash(cases),
            "size": len(cases),
        },
        "evaluator": evaluator,
        "scores": {
            "passRate": successes / total if total else 0.0,
            "meanScore": sum(scores) / len(scores) if scores else 0.0,
            "successes": successes,
            "failures": failures,
            "errors": errors,
        },
        "comment": f"promptfoo eval {document.get('evalId') or ''}".strip(),
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _key(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("id") or value.get("label") or sorted(value.items()))
    return str(value)


def _cases(rows: list[Mapping[str, Any]]) -> list[Any]:
    """The test cases that ran, one per test, in promptfoo's order."""
    by_index: dict[int, Any] = {}
    for position, row in enumerate(rows):
        index = row.get("testIdx")
        by_index.setdefault(int(index) if isinstance(index, int) else position, row.get("testCase"))
    return [by_index[index] for index in sorted(by_index)]
