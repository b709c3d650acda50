"""kstatus conditions."""

from __future__ import annotations

from prompt_release.core import conditions as c


def test_ready_stalled_reconciling_shapes() -> None:
    ready = c.ready("Released", "ok", 3, "t1", None)
    assert [(x["type"], x["status"]) for x in ready] == [
        ("Ready", "True"),
        ("Reconciling", "False"),
        ("Stalled", "False"),
    ]
    assert all(x["observedGeneration"] == 3 and x["lastTransitionTime"] == "t1" for x in ready)
    stalled = c.stalled("VersionNotFound", "gone", 4, "t2", ready)
    assert [(x["type"], x["status"]) for x in stalled] == [
        ("Ready", "False"),
        ("Reconciling", "False"),
        ("Stalled", "True"),
    ]
    working = c.reconciling("Progressing", "wait", 1, "t0", None)
    assert [(x["type"], x["status"]) for x in working] == [
        ("Ready", "Unknown"),
        ("Reconciling", "True"),
        ("Stalled", "False"),
    ]


def test_transition_time_moves_only_when_status_flips() -> None:
    first = c.ready("Released", "rev 1", 1, "t1", None)
    again = c.ready("Released", "rev 2", 2, "t2", first)
    assert c.find(again, "Ready")["lastTransitionTime"] == "t1"  # type: ignore[index]
    failed = c.stalled("HashMismatch", "x", 3, "t3", again)
    assert c.find(failed, "Ready")["lastTransitionTime"] == "t3"  # type: ignore[index]
    assert c.find(failed, "Reconciling")["lastTransitionTime"] == "t1"  # type: ignore[index]


def test_status_changed_ignores_only_timestamps() -> None:
    old = {"revision": 1, "conditions": c.ready("Released", "m", 1, "t1", None)}
    same = {"revision": 1, "conditions": c.ready("Released", "m", 1, "t9", None)}
    assert not c.status_changed(old, same)
    assert c.status_changed(old, {**same, "revision": 2})
    assert c.status_changed(old, {**same, "conditions": c.ready("Released", "n", 1, "t1", None)})
    assert c.status_changed(None, same)
