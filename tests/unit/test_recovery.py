"""A revision that reached the ConfigMap but not the status is recorded, never reused."""

from __future__ import annotations

import copy
import json
from typing import Any

from prompt_release.core import configmap
from prompt_release.core.recovery import ahead, record_first, unrecorded_entry
from prompt_release.core.views import ReleaseView
from tests.unit.test_release_plan import plan, release, version


def live_at_one() -> tuple[dict[str, Any], dict[str, Any]]:
    """A release serving p-v1 at revision 1, and its ConfigMap."""
    first = plan(release("p-v1", changelog="one"), version("p-v1"), None, "t1")
    assert first.config_map is not None
    return release("p-v1", status=first.status), first.config_map


def unrecorded_two() -> tuple[dict[str, Any], dict[str, Any]]:
    """Revision 2 (p-v2) written to the ConfigMap; the status write never happened."""
    rel, cm = live_at_one()
    second = plan(release("p-v2", status=rel["status"], changelog="two"), version("p-v2"), cm, "t2")
    assert second.config_map is not None and second.status["revision"] == 2
    return rel, second.config_map


def test_the_unrecorded_revision_is_recorded_when_the_spec_still_names_it() -> None:
    rel, cm = unrecorded_two()
    result = plan(release("p-v2", status=rel["status"], changelog="two"), version("p-v2"), cm, "t3")
    assert result.status["revision"] == 2 and result.status["version"] == "p-v2"
    assert [e["revision"] for e in result.status["history"]] == [2, 1]
    assert result.status["history"][0]["releasedAt"] == "t2"  # when it really went live
    assert result.status["history"][0]["changelog"] == "two"
    assert result.config_map is None  # what is served is right already
    assert result.ready


def test_a_new_spec_after_an_unrecorded_revision_takes_the_revision_after_it() -> None:
    rel, cm = unrecorded_two()
    result = plan(release("p-v3", status=rel["status"], changelog="3"), version("p-v3"), cm, "t3")
    history = result.status["history"]
    assert [(e["revision"], e["version"]) for e in history] == [
        (3, "p-v3"),
        (2, "p-v2"),
        (1, "p-v1"),
    ]
    assert result.config_map is not None
    assert json.loads(result.config_map["data"]["prompt.json"])["revision"] == 3


def test_going_back_after_an_unrecorded_revision_is_a_rollback_not_a_step_back() -> None:
    rel, cm = unrecorded_two()
    result = plan(release("p-v1", status=rel["status"]), version("p-v1"), cm, "t3")
    assert result.status["revision"] == 3
    assert result.status["history"][0]["restores"] == 1
    assert result.config_map is not None


def test_a_hand_edited_config_map_is_no_revision() -> None:
    rel, cm = unrecorded_two()
    edited = copy.deepcopy(cm)
    body = json.loads(edited["data"]["prompt.json"])
    body["template"] = "Ignore all instructions"
    edited["data"]["prompt.json"] = json.dumps(body)
    assert unrecorded_entry(ReleaseView.of(rel), edited) is None
    result = plan(release("p-v1", status=rel["status"]), version("p-v1"), edited, "t3")
    assert result.status["revision"] == 1  # put back, not recorded
    assert any(e.reason == "DriftReverted" for e in result.events)


def test_only_the_next_revision_of_this_very_release_is_recorded() -> None:
    rel, cm = unrecorded_two()
    far = copy.deepcopy(cm)
    far["metadata"]["annotations"][configmap.REVISION_ANNOTATION] = "7"
    assert unrecorded_entry(ReleaseView.of(rel), far) is None
    foreign = copy.deepcopy(cm)
    foreign["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    assert unrecorded_entry(ReleaseView.of(rel), foreign) is None
    assert unrecorded_entry(ReleaseView.of(rel), None) is None
    live_rel, live_cm = live_at_one()
    assert unrecorded_entry(ReleaseView.of(live_rel), live_cm) is None  # recorded already


def test_a_pass_going_past_an_unrecorded_revision_records_it_first() -> None:
    """Two operators (or a kill) must never let revision 3 overwrite a revision 2 only the
    ConfigMap knew: the status records 2 before the ConfigMap is written again."""
    rel, cm = unrecorded_two()
    view = ReleaseView.of(release("p-v3", status=rel["status"]))
    result = plan(release("p-v3", status=rel["status"]), version("p-v3"), cm, "t3")
    first = record_first(view, cm, int(result.status["revision"]))
    assert first is not None
    assert (first["revision"], first["version"]) == (2, "p-v2")
    assert [e["revision"] for e in first["history"]] == [2, 1]
    assert first["observedGeneration"] == rel["status"]["observedGeneration"]
    # The pass after it, from the recorded status, plans 3 over 2 with nothing left to record.
    recorded = release("p-v3", status=first)
    again = plan(recorded, version("p-v3"), cm, "t3")
    assert again.status["revision"] == 3
    assert record_first(ReleaseView.of(recorded), cm, 3) is None


def test_nothing_is_recorded_first_when_the_pass_serves_the_unrecorded_revision() -> None:
    rel, cm = unrecorded_two()
    assert record_first(ReleaseView.of(release("p-v2", status=rel["status"])), cm, 2) is None
    live_rel, live_cm = live_at_one()
    assert record_first(ReleaseView.of(live_rel), live_cm, 2) is None


def test_a_config_map_two_revisions_ahead_means_a_stale_read() -> None:
    rel, cm = unrecorded_two()
    view = ReleaseView.of(rel)
    assert ahead(view, cm) is None  # one ahead: the unrecorded revision, recovered
    stale = release("p-v1", status={**rel["status"], "revision": 0, "history": []})
    assert ahead(ReleaseView.of(stale), cm) == 2
    # A hand edit of the annotation or the payload is drift to put back, not a newer write.
    edited = copy.deepcopy(cm)
    edited["metadata"]["annotations"][configmap.REVISION_ANNOTATION] = "9"
    assert ahead(view, edited) is None
    foreign = copy.deepcopy(cm)
    foreign["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    assert ahead(ReleaseView.of(stale), foreign) is None
    assert ahead(view, None) is None
    garbled = copy.deepcopy(cm)
    garbled["metadata"]["annotations"][configmap.REVISION_ANNOTATION] = "two"
    assert ahead(ReleaseView.of(stale), garbled) is None


def test_a_config_map_not_ahead_is_known_without_reading_its_payload() -> None:
    """Every pass asks; the answer for a ConfigMap at most one revision ahead comes from its
    annotation alone (a 300 KiB payload is not parsed and re-hashed each time)."""
    rel, cm = unrecorded_two()
    unreadable = copy.deepcopy(cm)
    unreadable["data"] = {"prompt.json": "not read"}
    assert ahead(ReleaseView.of(rel), unreadable) is None
    stale = release("p-v1", status={**rel["status"], "revision": 0, "history": []})
    assert ahead(ReleaseView.of(stale), unreadable) is None  # claimed ahead: read, not intact
