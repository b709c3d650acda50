"""`chain`: the history as a hash chain, its records, and `verify` over both."""

from __future__ import annotations

import copy
from typing import Any

from prompt_release.core import chain
from prompt_release.core.decision import Now, Observed, decide
from prompt_release.core.views import VersionView
from tests.unit.test_release_plan import UID, release, version

NOW = Now("2026-12-04T10:00:00Z", 1000.0)


def step(rel: dict[str, Any], ver: str, cm: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """One pass of `rel` pointed at `ver`: the release after it, its ConfigMap, the records."""
    moved = {**rel, "spec": {**rel["spec"], "version": ver}}
    decided = decide(Observed(body=moved, version=VersionView.of(version(ver)), config_map=cm), NOW)
    assert decided.status is not None
    return {**moved, "status": decided.status}, decided.config_map, decided.records


def released(*versions: str, **spec: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rel, cm, records = release(**spec), None, []
    for ver in versions:
        rel, cm, made = step(rel, ver, cm)
        records.extend(made)
    return rel, records


def test_each_new_revision_is_sealed_and_recorded_once() -> None:
    rel, records = released("p-v1", "p-v2", "p-v3")
    history = rel["status"]["history"]
    assert [e["revision"] for e in history] == [3, 2, 1]
    assert [r["revision"] for r in records] == [1, 2, 3]  # one record per revision, no more
    assert "previousDigest" not in history[2]
    assert history[0]["previousDigest"] == history[1]["digest"]
    assert history[1]["previousDigest"] == history[2]["digest"]
    owner = chain.Owner.of(rel)
    for entry in history:
        assert entry["digest"] == chain.digest(owner, entry)
    record = records[-1]
    assert record["kind"] == "ControllerRevision" and "ownerReferences" not in record["metadata"]
    assert record["metadata"]["name"] == f"p-production-{UID[:8]}-3"
    assert record["metadata"]["labels"]["promptrelease.io/prompt"] == "p"
    assert record["data"]["entry"] == history[0]
    assert chain.verify([rel], records).ok


def test_an_unchanged_pass_records_nothing() -> None:
    rel, _ = released("p-v1")
    again = decide(Observed(body=rel, version=VersionView.of(version()), config_map=None), NOW)
    assert again.records == [] or all(r["revision"] == 1 for r in again.records)


def test_a_digest_covers_the_release_and_the_link_but_not_a_later_rollout_failure() -> None:
    rel, _ = released("p-v1", "p-v2")
    entry = rel["status"]["history"][0]
    owner = chain.Owner.of(rel)
    assert chain.digest(owner, {**entry, "rolloutFailed": "pods crash"}) == entry["digest"]
    assert chain.digest(owner, {**entry, "changelog": "other"}) != entry["digest"]
    assert chain.digest(owner, {**entry, "previousDigest": "sha256:0"}) != entry["digest"]
    other = chain.Owner("ns", "p-production", "another-uid", "p", "production")
    assert chain.digest(other, entry) != entry["digest"]


def test_a_history_limit_of_one_still_links_to_the_trimmed_entry() -> None:
    rel, records = released("p-v1", "p-v2", historyLimit=1)
    assert len(rel["status"]["history"]) == 1
    assert rel["status"]["history"][0]["previousDigest"] == records[0]["data"]["entry"]["digest"]
    assert chain.verify([rel], records).ok


def test_a_rewritten_status_entry_fails_verify() -> None:
    rel, records = released("p-v1", "p-v2")
    forged = copy.deepcopy(rel)
    forged["status"]["history"][1]["releasedBy"] = "someone-else"
    report = chain.verify([forged], records)
    assert not report.ok and "revision 1" in report.problems[0]
    # ... also when the forger recomputes the digest: the record disagrees
    owner = chain.Owner.of(rel)
    entry = forged["status"]["history"][1]
    entry["digest"] = chain.digest(owner, entry)
    report = chain.verify([forged], records)
    assert any("differs from its record" in p for p in report.problems), report.problems


def test_a_removed_status_entry_or_record_fails_verify() -> None:
    rel, records = released("p-v1", "p-v2", "p-v3")
    dropped = copy.deepcopy(rel)
    del dropped["status"]["history"][1]
    assert any("removed from the status" in p for p in chain.verify([dropped], records).problems)
    without = [r for r in records if r["revision"] != 2]
    report = chain.verify([rel], without)
    assert any("revision 2" in p and "not among the records" in p for p in report.problems)
    # The release deleted: its records alone, one missing in the middle
    report = chain.verify([], without)
    assert any("revision 2 is missing" in p for p in report.problems), report.problems
    assert chain.verify([], records).ok


def test_a_re_created_release_has_its_own_chain_beside_the_earlier_one() -> None:
    old, old_records = released("p-v1", "p-v2")
    new = release()
    new["metadata"] = {**new["metadata"], "uid": "99999999-0000-0000-0000-000000000000"}
    new, _, made = step(new, "p-v3")
    report = chain.verify([new], [*old_records, *made])
    assert report.ok, report.problems
    assert [(r.release, r.revision) for r in report.rows] == [
        ("p-production (deleted)", 1),
        ("p-production (deleted)", 2),
        ("p-production", 1),
    ]
    assert old["metadata"]["uid"] != new["metadata"]["uid"]


def test_entries_made_before_the_chain_are_unsealed_not_failed() -> None:
    rel, _ = released("p-v1")
    legacy = copy.deepcopy(rel)
    for entry in legacy["status"]["history"]:
        entry.pop("digest")
    report = chain.verify([legacy], [])
    assert report.ok and report.rows[0].state == chain.UNSEALED_STATE


def test_a_promotion_is_unproven_when_its_evidence_no_longer_proves_it() -> None:
    """The evidence an entry kept is checked against the PromptEvaluation of that name now:
    gone, for another hash, another dataset or another score each fail, naming it."""
    entry = {"revision": 2, "version": "p-v2", "hash": "sha256:" + "b" * 64}
    kept = {"name": "p-v2-judge", "score": 0.92, "dataset": "sha256:" + "d" * 64}
    report = chain.Report(
        [
            chain.Row(
                "production",
                "p-production",
                UID,
                2,
                chain.OK,
                {**entry, "promotion": {"from": "staging", "evidence": [kept]}},
                "both",
            )
        ]
    )

    def evaluation(**spec: Any) -> dict[str, Any]:
        body = {"version": "p-v2", "hash": entry["hash"], "score": 0.92}
        return {
            "metadata": {"name": "p-v2-judge"},
            "spec": {**body, "dataset": {"hash": kept["dataset"]}, **spec},
        }

    chain.check_evidence(report, {"p-v2-judge": evaluation()})
    assert report.ok and report.rows[0].state == chain.OK
    for found, said in (
        ({}, "is gone"),
        (
            {"p-v2-judge": evaluation(hash="sha256:" + "a" * 64)},
            "is for p-v2 (sha256:aaaaaaaaaaaa)",
        ),
        ({"p-v2-judge": evaluation(dataset={"hash": "sha256:" + "e" * 64})}, "ran on dataset"),
        ({"p-v2-judge": evaluation(score=0.99)}, "scores 0.99, not 0.92"),
    ):
        failed = copy.deepcopy(report)
        failed.rows[0].state, failed.problems = chain.OK, []
        chain.check_evidence(failed, found)
        assert failed.rows[0].state == chain.UNPROVEN
        assert len(failed.problems) == 1 and said in failed.problems[0], failed.problems
