"""promptfoo's output as an evaluation result (core/promptfoo.py), on its documented shape."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_release.core.evaluation import dataset_hash
from prompt_release.core.promptfoo import PromptfooError, result_of


def row(index: int, success: bool, prompt: int = 0, provider: str = "echo") -> dict[str, Any]:
    case = {"vars": {"ticket": f"t{index}"}, "assert": [{"type": "contains", "value": "x"}]}
    return {
        "testIdx": index,
        "promptIdx": prompt,
        "provider": {"id": provider},
        "success": success,
        "score": 1 if success else 0,
        "testCase": case,
    }


def output(*rows: dict[str, Any], errors: int = 0) -> dict[str, Any]:
    successes = sum(1 for r in rows if r["success"])
    return {
        "evalId": "eval-1",
        "results": {
            "version": 3,
            "results": list(rows),
            "stats": {"successes": successes, "failures": len(rows) - successes, "errors": errors},
        },
        "config": {"description": "tickets"},
        "metadata": {"promptfooVersion": "0.121.20"},
    }


def test_the_pass_rate_is_the_score_and_the_cases_that_ran_the_dataset() -> None:
    rows = [row(1, True), row(0, True), row(2, False)]
    found = result_of(output(*rows))
    assert found["score"] == pytest.approx(2 / 3) and found["passed"] is False
    cases = [row(i, True)["testCase"] for i in range(3)]  # in promptfoo's test order
    assert found["dataset"] == {"name": "tickets", "hash": dataset_hash(cases), "size": 3}
    assert found["evaluator"] == {"name": "promptfoo", "version": "0.121.20"}
    assert found["scores"]["failures"] == 1 and found["comment"] == "promptfoo eval eval-1"
    assert result_of(output(row(0, True), row(1, True)))["passed"] is True
    assert result_of(output(row(0, True), errors=1))["passed"] is False


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ({"score": 1}, "not promptfoo output"),
        (output(), "has no results"),
        (output(row(0, True), row(0, True, prompt=1)), "compares 2 prompts"),
        (output(row(0, True), row(0, True, provider="openai:gpt")), "compares 2 providers"),
    ],
)
def test_what_is_not_one_run_of_one_prompt_is_refused(document: Any, said: str) -> None:
    with pytest.raises(PromptfooError, match=said):
        result_of(document)
