"""spec.promotion decided without a cluster: soak, evidence bound to the exact hash, auto."""

from __future__ import annotations

from typing import Any

from prompt_release.core import promotion
from prompt_release.core.decision import Decision, Now, Observed, decide
from prompt_release.core.evaluation import EvaluationView, dataset_hash
from prompt_release.core.views import VersionView
from tests.unit.test_release_plan import release, version

T0 = "2026-12-04T08:00:00Z"
LIVE_ON_STAGING = "2026-12-04T09:00:00Z"
DATASET = dataset_hash([{"ticket": "printer on fire", "expect": "urgent"}])


def hash_of(name: str) -> str:
    found = VersionView.of(version(name)).content_hash
    assert found is not None
    return found


def staging(
    serves: str = "p-v2", since: str = LIVE_ON_STAGING, rolled: str = "True"
) -> dict[str, Any]:
    """The staging release serving `serves` since `since`, after p-v1."""
    body = release(serves)
    body["metadata"] = {**body["metadata"], "name": "p-staging", "uid": "staging-uid"}
    body["spec"] = {**body["spec"], "label": "staging"}
    body["status"] = {
        "revision": 2,
        "version": serves,
        "hash": hash_of(serves),
        "releasedAt": since,
        "history": [
            {"revision": 2, "version": serves, "hash": hash_of(serves), "releasedAt": since},
            {"revision": 1, "version": "p-v1", "hash": hash_of("p-v1"), "releasedAt": T0},
        ],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Released",
                "message": "",
                "lastTransitionTime": T0,
            },
            {
                "type": "RolledOut",
                "status": rolled,
                "reason": "Complete",
                "message": "",
                "lastTransitionTime": since,
            },
        ],
    }
    return body


def evaluation(
    name: str = "e1",
    ver: str = "p-v2",
    content_hash: str | None = None,
    score: float = 0.91,
    passed: bool = True,
    **spec: Any,
) -> EvaluationView:
    return EvaluationView.of(
        {
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": T0},
            "spec": {
                "version": ver,
                "hash": content_hash or hash_of(ver),
                "dataset": {"name": "tickets", "hash": DATASET},
                "evaluator": {"name": "promptfoo", "version": "0.118.0"},
                "score": score,
                "passed": passed,
                "recordedBy": "system:serviceaccount:ns:evaluator",
                **spec,
            },
        }
    )


PROMOTION = {"from": "staging", "soak": "1h", "evidence": {"minScore": 0.8}}


def production(ver: str = "p-v1", **promotion_spec: Any) -> dict[str, Any]:
    """Production live at p-v1 (no promotion yet), then pointed at `ver`."""
    first = decide(
        Observed(body=release(), version=VersionView.of(version()), config_map=None), Now(T0, 0)
    )
    assert first.status is not None
    live = {**release(), "status": first.status}
    return {
        **live,
        "spec": {**live["spec"], "version": ver, "promotion": {**PROMOTION, **promotion_spec}},
    }


def at(
    rel: dict[str, Any],
    now: str,
    source: dict[str, Any] | None = None,
    evaluations: tuple[EvaluationView, ...] = (),
) -> Decision:
    source = staging() if source is None else source
    served = source["status"]["version"]
    return decide(
        Observed(
            body=rel,
            version=VersionView.of(version(rel["spec"]["version"])),
            config_map=None,
            promotion=promotion.Inputs(
                source=source,
                candidate=VersionView.of(version(served)),
                live=VersionView.of(version(rel["status"]["version"])),
                evaluations=evaluations,
            ),
        ),
        Now(now, 0),
    )


def reason(decided: Decision) -> str:
    found = [c for c in decided.planned_status["conditions"] if c["type"] == "Ready"]
    return str(found[0]["reason"])


def test_a_version_soaking_on_staging_waits_with_the_time_left_and_a_timer() -> None:
    decided = at(production("p-v2"), "2026-12-04T09:30:00Z", evaluations=(evaluation(),))
    assert reason(decided) == "Soaking" and decided.config_map is None
    ready = next(c for c in decided.planned_status["conditions"] if c["type"] == "Ready")
    assert "30m 00s left of 1h 00m" in ready["message"]
    assert "still serving revision 1 (p-v1)" in ready["message"]
    assert decided.planned_status["version"] == "p-v1"
    assert decided.requeue_after is not None and 1800 <= decided.requeue_after <= 1802
    assert decided.planned_status["promotion"]["soakEndsAt"] == "2026-12-04T10:00:00Z"


def test_the_soak_counts_from_rolled_out_not_from_the_release_alone() -> None:
    source = staging()
    source["status"]["conditions"][1]["lastTransitionTime"] = "2026-12-04T09:20:00Z"
    decided = at(production("p-v2"), "2026-12-04T10:10:00Z", source, (evaluation(),))
    assert reason(decided) == "Soaking"
    source["status"]["conditions"][1]["status"] = "False"
    decided = at(production("p-v2"), "2026-12-04T12:00:00Z", source, (evaluation(),))
    assert reason(decided) == "Soaking" and decided.requeue_after is None


def test_a_soaked_version_without_evidence_awaits_it() -> None:
    decided = at(production("p-v2"), "2026-12-04T10:00:00Z")
    assert reason(decided) == "AwaitingEvidence" and decided.config_map is None
    assert decided.planned_status["promotion"]["state"] == "AwaitingEvidence"
    gates = {g["name"]: g["passed"] for g in decided.planned_status["promotion"]["gates"]}
    assert gates == {"Soak": True, "Evidence": False}


def test_evidence_for_another_hash_never_counts_and_says_why() -> None:
    forged = evaluation(content_hash=hash_of("p-v9"))
    decided = at(production("p-v2"), "2026-12-04T10:00:00Z", evaluations=(forged,))
    assert reason(decided) == "AwaitingEvidence"
    assert "evidence for other content" in decided.planned_status["promotion"]["message"]


def test_a_failing_or_low_score_or_wrong_evaluator_result_does_not_count() -> None:
    for found, words in (
        (evaluation(passed=False), "did not pass"),
        (evaluation(score=0.5), "under minScore 0.8"),
    ):
        decided = at(production("p-v2"), "2026-12-04T10:00:00Z", evaluations=(found,))
        assert words in decided.planned_status["promotion"]["message"]
    rel = production("p-v2", evidence={"evaluator": "ragas"})
    decided = at(rel, "2026-12-04T10:00:00Z", evaluations=(evaluation(),))
    assert "not ragas" in decided.planned_status["promotion"]["message"]


def test_soaked_and_evidenced_goes_live_with_the_evidence_in_history() -> None:
    decided = at(production("p-v2"), "2026-12-04T10:00:00Z", evaluations=(evaluation(),))
    assert decided.ready and decided.config_map is not None
    status = decided.planned_status
    assert status["version"] == "p-v2" and status["revision"] == 2
    record = status["history"][0]["promotion"]
    assert record["from"] == "staging" and record["soakedSince"] == LIVE_ON_STAGING
    assert record["evidence"][0]["name"] == "e1" and record["evidence"][0]["dataset"] == DATASET
    assert status["history"][0]["releasedBy"] == "kubectl"  # who set spec.version
    assert status["promotion"]["specVersion"] == "p-v2"
    assert "Promoted" in [event.reason for event in decided.events]
    assert status["history"][0]["digest"]  # sealed into the chain with its evidence


def test_a_regression_beyond_max_regression_is_refused_with_the_scores() -> None:
    rules = {"minScore": 0.5, "maxRegression": 0.02}
    baseline = {"version": "p-v1", "hash": hash_of("p-v1"), "score": 0.9}
    worse = evaluation(score=0.85, baseline=baseline)
    decided = at(production("p-v2", evidence=rules), "2026-12-04T10:00:00Z", evaluations=(worse,))
    message = decided.planned_status["promotion"]["message"]
    assert "regresses: 0.85 against the live version's 0.9" in message
    unpaired = at(
        production("p-v2", evidence=rules), "2026-12-04T10:00:00Z", evaluations=(evaluation(),)
    )
    assert "not a paired run" in unpaired.planned_status["promotion"]["message"]
    good = evaluation(score=0.89, baseline=baseline)
    assert at(production("p-v2", evidence=rules), "2026-12-04T10:00:00Z", evaluations=(good,)).ready


def test_a_rollback_to_content_served_before_needs_no_gates() -> None:
    promoted = at(production("p-v2"), "2026-12-04T10:00:00Z", evaluations=(evaluation(),))
    rel = production("p-v2")
    rel = {**rel, "status": promoted.planned_status}
    back = {**rel, "spec": {**rel["spec"], "version": "p-v1"}}
    decided = at(back, "2026-12-04T10:01:00Z", staging(since="2026-12-04T10:00:30Z"))
    assert decided.ready and decided.planned_status["version"] == "p-v1"
    assert decided.planned_status["history"][0]["restores"] == 1


def test_a_version_no_longer_live_on_staging_counts_its_earlier_soak() -> None:
    source = staging("p-v3", since="2026-12-04T11:00:00Z")
    source["status"]["history"].insert(
        0,
        {
            "revision": 3,
            "version": "p-v3",
            "hash": hash_of("p-v3"),
            "releasedAt": "2026-12-04T11:00:00Z",
        },
    )
    source["status"]["history"][1] = {
        "revision": 2,
        "version": "p-v2",
        "hash": hash_of("p-v2"),
        "releasedAt": LIVE_ON_STAGING,
    }
    decided = at(production("p-v2"), "2026-12-04T11:05:00Z", source, (evaluation(),))
    assert decided.ready and decided.planned_status["history"][0]["promotion"]["revision"] == 2
    short = at(production("p-v2", soak="3h"), "2026-12-04T11:05:00Z", source, (evaluation(),))
    assert reason(short) == "Soaking" and short.requeue_after is None  # it can't soak any more


# -- auto ----------------------------------------------------------------------------------------


def auto(now: str = "2026-12-04T10:00:00Z") -> dict[str, Any]:
    """Production at p-v1 with auto on, its spec.version carried out."""
    rel = production("p-v1", auto=True)
    first = at(rel, now, staging("p-v1", since=T0))
    assert first.planned_status["promotion"]["specVersion"] == "p-v1"
    return {**rel, "status": first.planned_status}


def test_auto_carrying_out_spec_version_looks_again_to_follow_from() -> None:
    """Nothing but a timer wakes a release after its own write: the pass that carries out
    spec.version asks for the next one, which follows `from`."""
    first = at(production("p-v1", auto=True), "2026-12-04T10:00:00Z", staging("p-v2", since=T0))
    assert first.planned_status["version"] == "p-v1"
    assert first.requeue_after is not None and first.requeue_after <= 2


def test_auto_follows_staging_once_the_gates_hold_without_touching_spec() -> None:
    rel = auto()
    waiting = at(rel, "2026-12-04T09:30:00Z")
    assert reason(waiting) == "Released"  # Ready: the live revision stays
    assert waiting.planned_status["revision"] == rel["status"]["revision"]
    assert waiting.planned_status["promotion"]["state"] == "Soaking"
    cond = next(c for c in waiting.planned_status["conditions"] if c["type"] == "Promotion")
    assert cond["status"] == "False" and cond["reason"] == "Soaking"
    assert waiting.requeue_after is not None
    decided = at(rel, "2026-12-04T10:00:00Z", evaluations=(evaluation(),))
    assert decided.config_map is not None and decided.ready
    status = decided.planned_status
    assert status["version"] == "p-v2" and rel["spec"]["version"] == "p-v1"
    entry = status["history"][0]
    assert entry["releasedBy"] == "prompt-release-operator" and entry["via"] == "promotion"
    assert entry["promotion"]["auto"] is True and "attested" not in entry
    assert status["promotion"]["specVersion"] == "p-v1"  # spec.version: still carried out
    after = at({**rel, "status": status}, "2026-12-04T10:01:00Z", evaluations=(evaluation(),))
    assert after.planned_status["version"] == "p-v2" and after.planned_status["revision"] == 2
    assert after.planned_status["promotion"]["state"] == "UpToDate"


def test_auto_older_evidence_does_not_promote_the_newer_candidate() -> None:
    rel = auto()
    newer = staging("p-v3")
    decided = at(rel, "2026-12-04T10:00:00Z", newer, (evaluation(ver="p-v2"),))
    assert decided.planned_status["version"] == "p-v1"
    assert decided.planned_status["revision"] == rel["status"]["revision"]
    assert decided.planned_status["promotion"]["state"] == "AwaitingEvidence"
    assert decided.planned_status["promotion"]["candidate"] == "p-v3"


def test_auto_a_new_spec_version_is_carried_out_first() -> None:
    rel = auto()
    moved = {**rel, "spec": {**rel["spec"], "version": "p-v3"}}
    decided = at(moved, "2026-12-04T10:00:00Z", evaluations=(evaluation(),))
    assert reason(decided) == "Soaking"  # p-v3 never ran on staging: the human's choice waits
    assert decided.planned_status["version"] == "p-v1"


def test_auto_never_brings_back_content_it_served() -> None:
    rel = auto()
    promoted = at(rel, "2026-12-04T10:00:00Z", evaluations=(evaluation(),)).planned_status
    rolled_back = {**rel, "spec": {**rel["spec"], "version": "p-v0"}, "status": promoted}
    # a human takes it back to p-v1 by naming it (kubectl prompt rollback does)
    back = {**rolled_back, "spec": {**rolled_back["spec"], "version": "p-v1"}}
    back["status"] = {**promoted, "promotion": {**promoted["promotion"], "specVersion": "p-v0"}}
    first = at(back, "2026-12-04T10:05:00Z", evaluations=(evaluation(),))
    assert first.planned_status["version"] == "p-v1"
    again = at(
        {**back, "status": first.planned_status},
        "2026-12-04T10:06:00Z",
        evaluations=(evaluation(),),
    )
    assert again.planned_status["version"] == "p-v1"
    assert again.planned_status["revision"] == first.planned_status["revision"]
    assert "never brings content back" in again.planned_status["promotion"]["message"]


def test_removing_spec_promotion_drops_its_status_and_condition() -> None:
    rel = auto()
    plain = {**rel, "spec": {k: v for k, v in rel["spec"].items() if k != "promotion"}}
    decided = at(plain, "2026-12-04T10:00:00Z")
    assert "promotion" not in decided.planned_status
    assert all(c["type"] != "Promotion" for c in decided.planned_status["conditions"])


def test_dataset_hash_is_the_canonical_json_rule() -> None:
    assert dataset_hash([{"b": 1.0, "a": None}]) == dataset_hash([{"b": 1}])
    assert dataset_hash([1, 2]) != dataset_hash([2, 1])


def test_governance_composes_the_two_person_rule_still_applies_to_a_promotion() -> None:
    from dataclasses import replace

    from prompt_release.core.governance import ApprovalView, Gate, PolicyView
    from prompt_release.core.identity import Identity

    rel = auto()
    policy = PolicyView("two-people", "ns", frozenset({"production"}), require_approval=True)
    gate = Gate("p", "production", policies=(policy,))
    inputs = promotion.Inputs(
        source=staging(),
        candidate=VersionView.of(version("p-v2")),
        live=VersionView.of(version("p-v1")),
        evaluations=(evaluation(),),
    )

    def decided(with_gate: Gate) -> Decision:
        return decide(
            Observed(
                body=rel,
                version=VersionView.of(version("p-v1")),
                config_map=None,
                gate=with_gate,
                promotion=inputs,
            ),
            Now("2026-12-04T10:00:00Z", 0),
        )

    held = decided(gate)
    assert reason(held) == "AwaitingApproval" and held.planned_status["version"] == "p-v1"
    assert held.planned_status["promotion"]["state"] == "AwaitingApproval"
    approval = ApprovalView(
        "ok",
        "ns",
        "p",
        "production",
        "p-v2",
        hash_of("p-v2"),
        "Approve",
        approver=Identity("bob"),
        created=T0,
    )
    promoted = decided(replace(gate, approvals=(approval,)))
    entry = promoted.planned_status["history"][0]
    assert entry["version"] == "p-v2" and entry["approvedBy"] == ["bob"]
    assert entry["promotion"]["auto"] is True
