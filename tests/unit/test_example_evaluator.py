"""The example evaluator (manifests/examples/evaluation/judge.py) run as its Job would run it,
on files laid out as the evaluator contract mounts them, with its offline echo model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prompt_release.core.evaluation import cases_of, dataset_hash
from prompt_release.core.evaluation_manifests import candidate_payload
from prompt_release.core.views import ReleaseView, VersionView

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "manifests" / "examples" / "evaluation"
RELEASE = ReleaseView.of(
    {
        "metadata": {"name": "ticket-summarizer-production", "namespace": "demo", "uid": "u"},
        "spec": {"prompt": "ticket-summarizer", "label": "production", "version": "v1"},
    }
)
TEMPLATES = {
    "ticket-summarizer-v1": "Summarize this support ticket in three bullet points:\n{ticket}\n",
    "ticket-summarizer-v2": "Summarize this ticket, then give its priority (low, medium or "
    "high) on a line of its own:\n{ticket}\n",
}


def laid_out(tmp_path: Path) -> dict[str, str]:
    """The candidate's and the baseline's payloads and the cases, and the PROMPT_* env."""
    env: dict[str, str] = {}
    for role, name in (("CANDIDATE", "ticket-summarizer-v2"), ("BASELINE", "ticket-summarizer-v1")):
        spec = {"prompt": "ticket-summarizer", "template": TEMPLATES[name], "variables": ["ticket"]}
        content = VersionView.of({"metadata": {"name": name}, "spec": spec}).content_hash
        assert content is not None
        path = tmp_path / f"{role.lower()}.json"
        path.write_text(candidate_payload(spec, RELEASE, name, content, "2026-12-05T10:00:00Z"))
        env |= {
            f"PROMPT_{role}_VERSION": name,
            f"PROMPT_{role}_HASH": content,
            f"PROMPT_{role}_FILE": str(path),
        }
    env |= {
        "PROMPT_DATASET_FILE": str(FOLDER / "cases.jsonl"),
        "PROMPT_DATASET_NAME": "support-tickets",
        "PROMPT_MIN_SCORE": "0.8",
        "PROMPT_MAX_REGRESSION": "0.02",
    }
    return env


def test_the_example_judge_scores_both_and_prints_a_paired_prompt_evaluation(
    tmp_path: Path,
) -> None:
    env = laid_out(tmp_path)
    ran = subprocess.run(
        [sys.executable, str(FOLDER / "judge.py"), "--print"],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT / "operator")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    found = json.loads(ran.stdout)
    spec = found["spec"]
    assert found["kind"] == "PromptEvaluation"
    assert (spec["version"], spec["hash"]) == (
        "ticket-summarizer-v2",
        env["PROMPT_CANDIDATE_HASH"],
    )
    cases = cases_of((FOLDER / "cases.jsonl").read_text())
    assert spec["dataset"] == {
        "name": "support-tickets",
        "hash": dataset_hash(cases),
        "size": len(cases),
    }
    assert spec["score"] == 1.0 and spec["passed"] is True  # v2 asks for the priority
    assert spec["baseline"]["hash"] == env["PROMPT_BASELINE_HASH"]
    assert spec["baseline"]["score"] == 0.0  # v1 never mentions one
