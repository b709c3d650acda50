"""An evaluator for spec.evaluation: judge the candidate and the live version (the baseline) on
the same cases, and record ONE PromptEvaluation of the candidate with the baseline's score.

It follows the evaluator contract (docs/evaluation.md): the payloads and the cases are files the
operator mounts, named by PROMPT_CANDIDATE_FILE, PROMPT_BASELINE_FILE and PROMPT_DATASET_FILE.
A case is a JSON object: its `expect` says what a good answer contains (a string, or an object
whose values must all appear), its other members are the prompt's variables. The score is the
share of cases whose answer contains what they expect.

The model is an OpenAI-compatible chat completions endpoint (JUDGE_MODEL_URL, JUDGE_MODEL and
JUDGE_API_KEY), or without one an echo model that answers with the rendered prompt itself: a dry
run that checks the plumbing and what the prompt asks for, with no network.

In the Job it records the result through the API server with its ServiceAccount's token; anywhere
else (or with --print) it prints the PromptEvaluation for `kubectl create -f -`:

    PROMPT_CANDIDATE_VERSION=v2 PROMPT_CANDIDATE_FILE=v2.json PROMPT_BASELINE_FILE=v1.json \\
    PROMPT_BASELINE_VERSION=v1 PROMPT_DATASET_FILE=cases.jsonl python judge.py --print

Needs the prompt_release package (the operator's image has it) for rendering and the dataset hash.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path
from typing import Any

from prompt_release.core.evaluation import cases_of, dataset_hash
from prompt_release.sdk import Prompt, parse_payload

EVALUATOR = {"name": "keyword-judge", "version": "1.0.0"}
ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
API = "https://kubernetes.default.svc/apis/promptrelease.io/v1alpha1"


def answer(prompt: Prompt, variables: dict[str, Any]) -> str:
    """The model's answer to the rendered prompt (the echo model: the prompt itself)."""
    if prompt.is_chat:
        messages = prompt.render_messages(**variables)
    else:
        messages = [{"role": "user", "content": prompt.render(**variables)}]
    url = os.environ.get("JUDGE_MODEL_URL")
    if not url:
        return "\n".join(str(m["content"]) for m in messages)
    body = {"model": os.environ.get("JUDGE_MODEL", "gpt-4o-mini"), "messages": messages}
    request = urllib.request.Request(
        url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {os.environ.get('JUDGE_API_KEY', '')}",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(json.load(response)["choices"][0]["message"]["content"])


def good(text: str, expect: Any) -> bool:
    wanted = expect.values() if isinstance(expect, dict) else [expect]
    return all(str(value).lower() in text.lower() for value in wanted)


def score(prompt: Prompt, cases: list[dict[str, Any]]) -> float:
    passed = 0
    for case in cases:
        variables = {k: v for k, v in case.items() if k != "expect"}
        passed += good(answer(prompt, variables), case.get("expect", ""))
    return passed / len(cases) if cases else 0.0


def number(name: str) -> float | None:
    value = os.environ.get(name)
    return None if not value else float(value)


def result() -> dict[str, Any]:
    """The PromptEvaluation of the candidate, paired with the baseline when there is one."""
    env = os.environ
    cases = cases_of(Path(env["PROMPT_DATASET_FILE"]).read_text(encoding="utf-8"))
    candidate = parse_payload(Path(env["PROMPT_CANDIDATE_FILE"]).read_text(encoding="utf-8"))
    mine = score(candidate, cases)
    floor, slack = number("PROMPT_MIN_SCORE") or 0.0, number("PROMPT_MAX_REGRESSION")
    spec: dict[str, Any] = {
        "version": env.get("PROMPT_CANDIDATE_VERSION") or candidate.version,
        "hash": env.get("PROMPT_CANDIDATE_HASH") or candidate.hash,
        "dataset": {
            "name": env.get("PROMPT_DATASET_NAME") or Path(env["PROMPT_DATASET_FILE"]).stem,
            "hash": env.get("PROMPT_DATASET_HASH") or dataset_hash(cases),
            "size": len(cases),
        },
        "evaluator": EVALUATOR,
        "score": mine,
        "threshold": floor,
        "passed": mine >= floor,
    }
    if env.get("PROMPT_BASELINE_FILE"):
        baseline = parse_payload(Path(env["PROMPT_BASELINE_FILE"]).read_text(encoding="utf-8"))
        theirs = score(baseline, cases)
        spec["baseline"] = {
            "version": env.get("PROMPT_BASELINE_VERSION") or baseline.version,
            "hash": env.get("PROMPT_BASELINE_HASH") or baseline.hash,
            "score": theirs,
        }
        spec["passed"] = spec["passed"] and (slack is None or mine >= theirs - slack)
    return {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptEvaluation",
        "metadata": {"generateName": f"{spec['version'][:200]}-"},
        "spec": spec,
    }


def record(evaluation: dict[str, Any]) -> str:
    """Create it with the Job's ServiceAccount (bound to the prompt-evaluator ClusterRole)."""
    namespace = (ACCOUNT / "namespace").read_text().strip()
    token = (ACCOUNT / "token").read_text().strip()
    request = urllib.request.Request(
        f"{API}/namespaces/{namespace}/promptevaluations",
        data=json.dumps(evaluation).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    context = ssl.create_default_context(cafile=str(ACCOUNT / "ca.crt"))
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        return str(json.load(response)["metadata"]["name"])


def main(argv: list[str]) -> int:
    evaluation = result()
    if "--print" in argv or not (ACCOUNT / "token").exists():
        print(json.dumps(evaluation, indent=2))
        return 0
    spec = evaluation["spec"]
    print(
        f"promptevaluation/{record(evaluation)}: score {spec['score']:g}, passed {spec['passed']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
