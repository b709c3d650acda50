"""A writer fighting the operator over a ConfigMap: revert with backoff, never a hot loop.

`Fights.gate` looks at each plan before it is carried out. A plan that only puts back a
ConfigMap someone else changed or deleted goes through the policy of `core/fights.py`: at once,
or (past a few reverts a minute) held back, in which case the plan is carried out without its
ConfigMap write and the caller wakes the release when the wait is over. The state is one small
`Fight` per release, in memory: a restarted operator starts with a clean slate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from prompt_release.core.fights import DRIFT_REASONS, FOUGHT, Fight, FightPolicy, decide, message
from prompt_release.core.release import WARNING, Event, ReleasePlan

Key = tuple[str, str]


class Fights:
    def __init__(
        self, policy: FightPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or FightPolicy()
        self._clock = clock
        self._fights: dict[Key, Fight] = {}
        self._lock = threading.Lock()

    def gate(self, key: Key, plan: ReleasePlan, config_map: str) -> tuple[ReleasePlan, float]:
        """The plan to carry out now, and the seconds until a held-back revert may go (0 when
        nothing is held back)."""
        if plan.config_map is None or not any(e.reason in DRIFT_REASONS for e in plan.events):
            return plan, 0.0
        with self._lock:
            decision = decide(self.policy, self._fights.get(key, Fight()), self._clock())
            self._fights[key] = decision.fight
        if decision.wait:
            kept = [event for event in plan.events if event.reason not in DRIFT_REASONS]
            return replace(plan, config_map=None, events=kept), decision.wait
        if decision.announce:
            fought = Event(WARNING, FOUGHT, message(config_map, self.policy, decision))
            plan = replace(plan, events=[*plan.events, fought])
        return plan, 0.0

    def forget(self, key: Key) -> None:
        with self._lock:
            self._fights.pop(key, None)
