"""The spec edits of `kubectl prompt canary`: each verb is one edit, refused when it doesn't fit
the release as it is."""

from __future__ import annotations

import pytest

from prompt_release.core import canary_edits
from tests.unit.test_canary_plan import hash_of, world


def test_canary_verbs_edit_the_spec_and_refuse_what_does_not_fit() -> None:
    spec = {"prompt": "p", "label": "production", "version": "p-v1"}
    started = canary_edits.start_spec(
        spec, "p-production", version="p-v2", weight=12.5, steps=[{"setWeight": 20}]
    )
    assert started["canary"] == {"version": "p-v2", "weight": 12.5, "steps": [{"setWeight": 20}]}
    assert started["version"] == "p-v1"
    with pytest.raises(canary_edits.CanaryEditError, match="stable version of p-production"):
        canary_edits.start_spec(spec, "p-production", version="p-v1", weight=10)
    with pytest.raises(canary_edits.CanaryEditError, match="percentage"):
        canary_edits.weight_spec(started, "p-production", 101)
    assert canary_edits.weight_spec(started, "p-production", 50)["canary"]["weight"] == 50
    with pytest.raises(canary_edits.CanaryEditError, match="runs no canary"):
        canary_edits.abort_spec(spec, "p-production")
    assert "canary" not in canary_edits.abort_spec(started, "p-production")


def test_promote_pins_the_running_candidate_and_resume_passes_the_pause() -> None:
    w = world(weight=5, steps=[{"setWeight": 10}, {"pause": {}}, {"setWeight": 30}])
    spec = w.body()["spec"]
    resumed = canary_edits.resume_spec(spec, w.status, "p-production")
    assert resumed["canary"]["resumeStep"] == 1
    promoted = canary_edits.promote_spec(spec, w.status, "p-production", None)
    assert (promoted["version"], promoted["hash"]) == ("p-v2", hash_of("p-v2"))
    assert "canary" not in promoted and "from 10 %" in promoted["changelog"]
    w.spec = {k: v for k, v in promoted.items() if k not in ("prompt", "label")}
    w.generation += 1
    w.reconcile(1)
    assert w.status["revision"] == 2 and w.status["history"][0]["canary"]["weight"] == 10
    assert w.status["lastCanary"]["outcome"] == "Promoted"
    with pytest.raises(canary_edits.CanaryEditError, match="not paused"):
        canary_edits.resume_spec(
            {**spec, "canary": {"version": "p-v2", "weight": 1}}, w.status, "p-production"
        )
