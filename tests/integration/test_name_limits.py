"""Names at the CRD's limits on the real API server: a release named by a prompt and a label of
63 characters each (127 in all) runs a canary with an analysis Job to promotion, its ConfigMap
named `<release>.<suffix>` up to 253 characters.

Before, the analysis Job carried the whole release name as a label value (at most 63): the API
server refused it and every such canary ended `AnalysisFailed`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from prompt_release.core import canary
from prompt_release.core.canary_jobs import RELEASE_LABEL
from prompt_release.core.configmap import label_value
from tests.integration.test_workloads import job
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, ready, release, released, version

pytestmark = pytest.mark.integration

PROMPT = "p" * 62 + "x"
LABEL = "l" * 62 + "y"
NAME = f"{PROMPT}-{LABEL}"
CONFIG_MAP = f"{NAME}.{'c' * (252 - len(NAME))}"


def state(kubectl: Kubectl, **expected: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", NAME)
        found = obj.get("status", {}).get("canary") or {}
        return obj if all(found.get(k) == v for k, v in expected.items()) else None

    return eventually(probe, timeout=90, interval=0.3, what=f"status.canary with {expected}")


def test_a_release_of_maximal_names_runs_a_canary_with_analysis_to_promotion(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    assert (len(NAME), len(CONFIG_MAP)) == (127, 253)
    v1, v2 = f"{PROMPT}-v1", f"{PROMPT}-v2"
    apply(kubectl, version(v1, prompt=PROMPT), version(v2, prompt=PROMPT))
    apply(kubectl, release(v1, label=LABEL, prompt=PROMPT, configMapName=CONFIG_MAP))
    released(kubectl, NAME, 1)
    labels = kubectl.get("configmap", CONFIG_MAP)["metadata"]["labels"]
    assert (labels["promptrelease.io/prompt"], labels["promptrelease.io/label"]) == (PROMPT, LABEL)
    v2_hash = ready(kubectl, "promptversion", v2)["status"]["hash"]

    analysis = {"analysis": {"jobTemplate": {"spec": job("evaluate", 0)["spec"]}}}
    steps = [analysis, {"setWeight": 30}]
    patch = {"spec": {"canary": {"version": v2, "weight": 10, "steps": steps}}}
    kubectl("patch", "promptrelease", NAME, "--type=merge", "-p", json.dumps(patch))
    done = state(kubectl, phase="Completed", weight=30)
    (first,) = [s for s in done["status"]["canary"]["steps"] if s.get("job")]
    analysis_job = kubectl.get("job", first["job"])
    assert analysis_job["metadata"]["labels"][RELEASE_LABEL] == label_value(NAME)
    assert len(label_value(NAME)) <= 63
    (owner,) = analysis_job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("PromptRelease", NAME)
    served = json.loads(kubectl.get("configmap", CONFIG_MAP)["data"][canary.CANARY_KEY])
    assert (served["version"], served["weight"]) == (v2, 30)

    promote = {"spec": {"version": v2, "canary": None}}
    kubectl("patch", "promptrelease", NAME, "--type=merge", "-p", json.dumps(promote))
    promoted = released(kubectl, NAME, 2)
    entry = promoted["status"]["history"][0]
    assert (entry["version"], entry["hash"], entry["canary"]["weight"]) == (v2, v2_hash, 30)
    assert promoted["status"]["lastCanary"]["outcome"] == "Promoted"
    assert promoted["status"]["configMap"] == CONFIG_MAP
