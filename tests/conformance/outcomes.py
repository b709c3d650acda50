"""outcomes.json: what an SDK's /metrics says after the same responses are recorded, so that
one PromQL (the chart's alerts and dashboard, a canary's analysis) reads every workload alike.

Each case names a payload of payloads.json and steps in a language-neutral form; the expected
samples are the Python SDK's, for the outcome metrics only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from prompt_release.sdk import MountedPrompt, metrics_text

OUTCOME_METRICS = (
    "promptrelease_responses",
    "promptrelease_response_duration_seconds",
    "promptrelease_tokens",
    "promptrelease_cost",
    "promptrelease_feedback_score",
)
STEPS: list[dict[str, Any]] = [
    {
        "record": {
            "success": True,
            "latency": 0.25,
            "inputTokens": 120,
            "outputTokens": 30,
            "cost": 0.0004,
        }
    },
    {"record": {"success": False, "latency": 3.0, "inputTokens": 80}},
    {"record": {"success": True, "latency": 0.01, "outputTokens": 7, "cost": 0.5}},
    {"feedback": 0.5},
    {"feedback": 1},
]
CASES = [("text", "mustache-text"), ("chat", "mustache-chat")]
"""(case, payload case)."""


def apply(mounted: MountedPrompt, steps: list[dict[str, Any]]) -> None:
    chosen = mounted.current
    for step in steps:
        if "feedback" in step:
            mounted.feedback(chosen, step["feedback"])
            continue
        found = step["record"]
        mounted.record(
            chosen,
            success=found.get("success", True),
            latency=found.get("latency"),
            input_tokens=found.get("inputTokens"),
            output_tokens=found.get("outputTokens"),
            cost=found.get("cost"),
        )


def samples(text: str) -> list[dict[str, Any]]:
    """The outcome metrics' samples of an exposition, in its order."""
    return [
        {"name": sample.name, "labels": dict(sample.labels), "value": sample.value}
        for family in text_string_to_metric_families(text)
        if family.name in OUTCOME_METRICS
        for sample in family.samples
        if not sample.name.endswith("_created")
    ]


def python_samples(files: dict[str, str], steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        mounted = MountedPrompt(folder)
        apply(mounted, steps)
        return samples(metrics_text(mounted))


def outcome_cases(payload_files: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "payload": case,
            "steps": STEPS,
            "expect": {"samples": python_samples(payload_files[case], STEPS)},
        }
        for name, case in CASES
    ]
