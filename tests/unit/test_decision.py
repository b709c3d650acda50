"""`decide` and `decide_version`: one pure decision per pass, without a cluster."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prompt_release.core import protection
from prompt_release.core.decision import Decision, Now, Observed, decide
from prompt_release.core.fights import Fight, FightPolicy
from prompt_release.core.version import release_links
from prompt_release.core.version_decision import IN_USE, Timing, decide_version, seen_for
from prompt_release.core.views import ReleaseView, VersionView
from tests.unit.test_release_plan import release, version

NOW = Now("2026-12-04T10:00:00Z", 1000.0)


def observed(rel: dict[str, Any], ver: dict[str, Any] | None, **more: Any) -> Observed:
    return Observed(
        body=rel, version=None if ver is None else VersionView.of(ver), config_map=None, **more
    )


def live(rel: dict[str, Any], ver: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The release after its first pass, and the ConfigMap that pass wrote."""
    first = decide(observed(rel, ver), NOW)
    assert first.status is not None and first.config_map is not None
    return {**rel, "status": first.status}, first.config_map


def test_a_new_release_goes_live_in_one_status_write_and_one_config_map() -> None:
    decided = decide(observed(release(), version()), NOW)
    assert decided.config_map is not None
    assert decided.status is not None and decided.status["revision"] == 1
    assert decided.record_first is None and decided.ready and not decided.stale
    assert decided.requeue_after is None
    assert [event.reason for event in decided.events] == ["Released"]


def test_an_unchanged_release_decides_to_write_nothing() -> None:
    rel, config_map = live(release(), version())
    again = decide(
        Observed(body=rel, version=VersionView.of(version()), config_map=config_map), NOW
    )
    assert again == Decision(
        fight=Fight(), ready=True, planned_status=again.planned_status, events=[]
    )


def test_a_config_map_ahead_of_the_status_is_a_stale_snapshot() -> None:
    rel, _ = live(release(), version())
    moved, _ = live({**rel, "spec": {**rel["spec"], "version": "p-v2"}}, version("p-v2"))
    _, ahead = live(
        {**moved, "spec": {**moved["spec"], "version": "p-v3"}},
        version("p-v3"),
    )
    stale = decide(Observed(body=rel, version=VersionView.of(version()), config_map=ahead), NOW)
    assert stale.stale and stale.config_map is None and stale.status is None


def test_a_refused_release_is_retried_later_and_writes_no_config_map() -> None:
    decided = decide(observed(release(), None), NOW)
    assert decided.config_map is None and not decided.ready
    assert decided.status is not None
    assert [event.reason for event in decided.events] == ["VersionNotFound"]


def test_reverts_of_a_hand_edit_past_the_free_ones_are_held_back() -> None:
    rel, config_map = live(release(), version())
    edited = {**config_map, "data": {**config_map["data"], "template.txt": "hand edit"}}
    policy = FightPolicy(free=1, base=5)
    fight = Fight()
    made = []
    for step in range(3):
        now = Now(NOW.text, NOW.monotonic + step)
        decided = decide(
            Observed(
                body=rel,
                version=VersionView.of(version()),
                config_map=edited,
                fight=fight,
                fight_policy=policy,
            ),
            now,
        )
        fight = decided.fight
        made.append((decided.config_map is not None, decided.requeue_after))
    # one free revert, one that starts the backoff (announced), then a wait of the rest of 5 s
    assert made == [(True, None), (True, None), (False, 4.0)]


def test_a_version_waits_for_the_release_that_has_yet_to_answer_its_spec() -> None:
    rel = ReleaseView.of(release())  # generation 2, no status: not planned
    ver = VersionView.of({**version(), "metadata": {"name": "p-v1", "namespace": "ns"}})
    decided = decide_version(ver, (), release_links(rel), 1.0, NOW.text, Timing(planning=30))
    assert decided.status is None and decided.held is None
    assert decided.requeue_after == 29.0


def test_a_new_version_no_release_names_waits_briefly_for_one() -> None:
    ver = VersionView.of(version())
    waiting = decide_version(ver, (), (), 0.5, NOW.text, Timing(new=2))
    assert waiting.status is None and waiting.requeue_after == 1.5
    written = decide_version(ver, (), (), 3.0, NOW.text, Timing(new=2))
    assert written.status is not None and str(written.status["hash"]).startswith("sha256:")
    assert written.held is None and written.requeue_after is None


def test_a_held_version_gets_the_finalizer_and_its_label_in_one_pass() -> None:
    rel, _ = live(release(), version())
    decided = decide_version(
        VersionView.of(version()), (), release_links(ReleaseView.of(rel)), 1.0, NOW.text
    )
    assert decided.held is True
    assert decided.status is not None and decided.status["releasedAs"] == ["production"]


def test_a_version_no_release_holds_any_more_loses_its_finalizer() -> None:
    decided = decide_version(VersionView.of(version()), (protection.FINALIZER,), (), 99, NOW.text)
    assert decided.held is False


def test_a_version_deleted_while_held_says_who_holds_it_and_keeps_its_finalizer() -> None:
    rel, _ = live(release(), version())
    body = version()
    body["metadata"]["deletionTimestamp"] = NOW.text
    links = release_links(ReleaseView.of(rel))
    held = decide_version(VersionView.of(body), (protection.FINALIZER,), links, 99, NOW.text)
    assert held.held is None
    assert held.status is not None and held.status["heldBy"] == ["p-production"]
    assert [event.reason for event in held.events] == [IN_USE]
    free = decide_version(VersionView.of(body), (protection.FINALIZER,), (), 99, NOW.text)
    assert free.held is False and free.status is None


def test_a_version_is_first_seen_at_its_creation_or_at_the_operators_start() -> None:
    now = dt.datetime(2026, 1, 1, 0, 10, tzinfo=dt.UTC)
    assert seen_for("2026-01-01T00:09:58Z", now, running=600.0) == 2.0
    # created before this operator started (a standing start): seen since the start
    assert seen_for("2026-01-01T00:00:00Z", now, running=5.0) == 5.0
    assert seen_for(None, now, running=7.0) == 7.0
