"""The backoff of reverts when another writer fights the operator over a ConfigMap."""

from __future__ import annotations

import itertools

from prompt_release.core.fights import Fight, FightPolicy, decide, message

POLICY = FightPolicy(free=3, window=60, base=5, cap=40)


def simulate(policy: FightPolicy, writes: list[float], until: float) -> list[float]:
    """Foreign writes at `writes`; the operator reverts when allowed (a wake-up at the end of
    each wait). Returns the times of the reverts."""
    fight, wake = Fight(), None
    reverts: list[float] = []
    events = sorted(writes)
    dirty = False
    while True:
        candidates = [t for t in (events[0] if events else None, wake) if t is not None]
        if not candidates:
            return reverts
        now = min(candidates)
        if now > until:
            return reverts
        if events and events[0] == now:
            events.pop(0)
            dirty = True
        if wake == now:
            wake = None
        if not dirty:
            continue
        decision = decide(policy, fight, now)
        fight = decision.fight
        if decision.wait:
            wake = now + decision.wait
        else:
            reverts.append(now)
            dirty = False


def test_a_hand_edit_now_and_then_is_reverted_at_once_every_time() -> None:
    writes = [0.0, 100.0, 200.0, 300.0, 400.0]
    assert simulate(POLICY, writes, until=1000) == writes


def test_a_few_quick_edits_are_reverted_at_once() -> None:
    fight = Fight()
    for now in (0.0, 1.0, 2.0, 3.0):
        decision = decide(POLICY, fight, now)
        assert decision.wait == 0
        fight = decision.fight
    assert fight.fighting  # the fourth in a minute starts the backoff


def test_a_writer_in_a_loop_gets_exponentially_fewer_reverts() -> None:
    writes = [i * 0.5 for i in range(int(600 / 0.5))]  # every half second for ten minutes
    reverts = simulate(POLICY, writes, until=600)
    assert reverts[:4] == [0.0, 0.5, 1.0, 1.5]
    gaps = [b - a for a, b in itertools.pairwise(reverts[3:])]
    assert gaps[:4] == [5.0, 10.0, 20.0, 40.0]
    assert set(gaps[4:]) == {40.0}  # capped
    assert len([t for t in reverts if t < 60]) <= POLICY.most_writes(60)
    assert len(reverts) <= POLICY.most_writes(600)
    assert POLICY.most_writes(60) == 7  # 4 at once, then after 5, 10, 20 (40 is past a minute)


def test_the_fight_is_announced_once() -> None:
    fight, announced = Fight(), 0
    for i in range(200):
        decision = decide(POLICY, fight, i * 0.5)
        announced += decision.announce
        fight = decision.fight
    assert announced == 1
    text = message("summarizer-production", POLICY, decision)
    assert "another writer" in text and "summarizer-production" in text


def test_a_waiting_revert_says_how_long_to_wait() -> None:
    fight = Fight()
    for now in (0.0, 0.1, 0.2, 0.3):
        fight = decide(POLICY, fight, now).fight
    decision = decide(POLICY, fight, 1.3)
    assert decision.wait == 4.0  # 5 s after the revert at 0.3
    assert decision.fight.level == fight.level  # waiting takes no step


def test_a_quiet_window_ends_the_fight_and_a_new_one_is_announced_again() -> None:
    writes = [i * 0.5 for i in range(40)]  # 20 s of fighting
    later = [200 + i * 0.5 for i in range(40)]  # a new fight after a quiet spell
    reverts = simulate(POLICY, writes + later, until=400)
    first = [t for t in reverts if t < 100]
    second = [t for t in reverts if t >= 200]
    assert second[:4] == [200.0, 200.5, 201.0, 201.5]  # the budget is back
    assert len(first) == len(second)

    fight, announcements = Fight(), 0
    for now in [*writes, *later]:
        decision = decide(POLICY, fight, now)
        announcements += decision.announce
        fight = decision.fight
    assert announcements == 2


def test_the_last_foreign_write_is_put_back_once_the_wait_is_over() -> None:
    writes = [i * 0.5 for i in range(60)]  # 30 s, then the other writer stops
    reverts = simulate(POLICY, writes, until=1000)
    assert reverts[-1] > writes[-1]  # the final state is the operator's
    assert reverts[-1] - writes[-1] <= POLICY.cap
