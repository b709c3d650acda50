"""promptfoo's results as evidence, from a real promptfoo run (its `echo` provider: no network):
the prompt staging serves is evaluated, `kubectl prompt eval record --from-promptfoo` binds
the result to the version's exact hash, a failing run holds production, a passing one promotes
it, and `kubectl prompt verify` checks that evidence.

promptfoo is installed by `make evaluators` (part of `make test`) into tests/evaluators/promptfoo.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Prompt
from tests.kube import Kubectl, OperatorProcess
from tests.prompts import apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

PROMPTFOO = Path(__file__).resolve().parents[1] / "evaluators" / "promptfoo"
PRODUCTION, STAGING = "summarizer-production", "summarizer-staging"
TEMPLATE = "Summarize the ticket {{ticket}} in one line."


def promptfoo_run(tmp_path: Path, template: str, expect: str) -> Path:
    """Run promptfoo over `template` with three tests, each asserting that the output
    contains its ticket and `expect`; the results file it writes."""
    binary = PROMPTFOO / "node_modules" / ".bin" / "promptfoo"
    assert binary.exists(), f"promptfoo is not installed in {PROMPTFOO}: run `make evaluators`"
    tickets = ["printer on fire", "login fails", "refund please"]
    config = {
        "description": "tickets",
        "prompts": [template],
        "providers": ["echo"],
        "tests": [
            {
                "vars": {"ticket": ticket},
                "assert": [
                    {"type": "contains", "value": ticket},
                    {"type": "contains", "value": expect},
                ],
            }
            for ticket in tickets
        ],
    }
    (tmp_path / "promptfooconfig.yaml").write_text(yaml.safe_dump(config))
    results = tmp_path / f"results-{expect.replace(' ', '-')}.json"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        HOME=str(home),
        PROMPTFOO_DISABLE_TELEMETRY="1",
        PROMPTFOO_DISABLE_UPDATE="1",
        PROMPTFOO_DISABLE_SHARING="1",
    )
    ran = subprocess.run(
        [str(binary), "eval", "-c", "promptfooconfig.yaml", "-o", str(results), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert results.exists(), ran.stdout + ran.stderr  # exits 100 when a test fails
    return results


def test_a_real_promptfoo_run_is_evidence_for_the_exact_version(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt, tmp_path: Path
) -> None:
    portable = {"template": TEMPLATE, "templateFormat": "mustache"}
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2", **portable))
    apply(kubectl, release("summarizer-v1", label="staging"), release("summarizer-v1"))
    released(kubectl, PRODUCTION, 1)
    apply(kubectl, release("summarizer-v2", label="staging"))
    released(kubectl, STAGING, 2)
    spec = {"from": "staging", "soak": "1s", "evidence": {"minScore": 1.0}}
    apply(kubectl, release("summarizer-v2", promotion=spec))
    served = kubectl.get("configmap", STAGING)["data"]["template.txt"]
    assert served == TEMPLATE  # promptfoo evaluates exactly what staging serves

    failing = promptfoo_run(tmp_path, served, "urgent")  # no output says "urgent"
    assert json.loads(failing.read_text())["results"]["stats"]["failures"] == 3
    recorded = prompt("eval", "record", "summarizer-v2", "--from-promptfoo", str(failing))
    assert recorded.returncode == 0, recorded.stderr
    assert "scored 0 on" in recorded.stdout and "failed" in recorded.stdout, recorded.stdout
    held = wait_reason(kubectl, PRODUCTION, "AwaitingEvidence", timeout=60)
    assert "failed" in condition(held)["message"] or "score" in condition(held)["message"]
    assert held["status"]["version"] == "summarizer-v1"

    passing = promptfoo_run(tmp_path, served, "in one line.")  # every output says it
    recorded = prompt("eval", "record", "summarizer-v2", "--from-promptfoo", str(passing))
    assert recorded.returncode == 0, recorded.stderr
    promoted = released(kubectl, PRODUCTION, 2)
    (evidence,) = promoted["status"]["history"][0]["promotion"]["evidence"]
    assert evidence["evaluator"].startswith("promptfoo@") and evidence["score"] == 1.0
    found: dict[str, Any] = kubectl.get("promptevaluation", evidence["name"])
    assert found["spec"]["dataset"]["size"] == 3
    assert found["spec"]["scores"]["successes"] == 3
    verified = prompt("verify", "summarizer", "-l", "production")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_promptfoo_output_that_is_not_one_run_of_one_prompt_is_refused(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt, tmp_path: Path
) -> None:
    apply(kubectl, version("summarizer-v1"))
    not_promptfoo = tmp_path / "other.json"
    not_promptfoo.write_text(json.dumps({"score": 1}))
    refused = prompt("eval", "record", "summarizer-v1", "--from-promptfoo", str(not_promptfoo))
    assert refused.returncode == 2 and "not promptfoo output" in refused.stderr, refused.stderr
    assert json.loads(kubectl("get", "promptevaluations", "-o", "json"))["items"] == []
