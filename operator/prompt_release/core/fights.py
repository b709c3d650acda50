"""Another writer fighting the operator over a ConfigMap: when to put it back, when to wait.

A hand edit (or deletion) of a released ConfigMap is reverted at once. A second controller or a
script that keeps writing the same ConfigMap would turn that into a hot loop of writes, so past
`free` reverts within `window` seconds each further revert waits twice as long as the one before
(`base` seconds first, at most `cap`), and the fight is announced once. A fight ends when no
foreign write has been seen for a whole `window`.

Pure: times are plain numbers (monotonic seconds) passed in; the shell keeps one `Fight` per
release in memory (operator/fights.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FOUGHT = "ConfigMapFought"
"""The Warning Event posted once per fight."""

DRIFT_REASONS = frozenset({"DriftReverted", "ConfigMapRestored"})
"""The Events of a plan that puts back a ConfigMap someone else changed or deleted."""


@dataclass(frozen=True)
class FightPolicy:
    free: int = 3
    """Reverts within `window` that happen at once."""
    window: float = 60.0
    """Seconds over which reverts are counted; this long without foreign writes ends a fight."""
    base: float = 5.0
    """The first wait, in seconds, once past `free` reverts."""
    cap: float = 300.0
    """The longest wait between two reverts."""

    def delay(self, level: int) -> float:
        """The wait after the `level`-th revert past the free ones (level >= 1)."""
        return float(min(self.base * 2 ** (level - 1), self.cap))

    def most_writes(self, seconds: float) -> int:
        """The most reverts a fight of `seconds` can cause: a bound for tests and docs."""
        writes, elapsed, level = self.free + 1, 0.0, 1
        while True:
            elapsed += self.delay(level)
            if elapsed > seconds:
                return writes
            writes, level = writes + 1, level + 1


@dataclass(frozen=True)
class Fight:
    """What is known of the writes over one release's ConfigMap."""

    reverts: tuple[float, ...] = ()
    """When the operator put it back, within the last window."""
    level: int = 0
    """Backoff steps taken in this fight (0: not fighting)."""
    not_before: float = 0.0
    """No revert before this time."""
    last_foreign: float | None = None
    """When a foreign write was last seen."""
    announced: bool = False
    """Whether this fight's Event was posted."""

    @property
    def fighting(self) -> bool:
        return self.level > 0


@dataclass(frozen=True)
class Decision:
    wait: float
    """Seconds to wait before reverting; 0 means revert now."""
    announce: bool
    """Post the ConfigMapFought Event now (once per fight)."""
    fight: Fight
    """The state to keep."""


def decide(policy: FightPolicy, fight: Fight, now: float) -> Decision:
    """A foreign write was seen at `now`: revert now (and count it), or wait."""
    if fight.last_foreign is None or now - fight.last_foreign > policy.window:
        fight = Fight()  # quiet for a whole window: the last fight, if any, is over
    fight = replace(fight, last_foreign=now)
    if now < fight.not_before:
        return Decision(wait=fight.not_before - now, announce=False, fight=fight)
    reverts = (*(t for t in fight.reverts if now - t < policy.window), now)
    if len(reverts) <= policy.free and not fight.fighting:
        return Decision(wait=0.0, announce=False, fight=replace(fight, reverts=reverts))
    level = fight.level + 1
    announce = not fight.announced
    return Decision(
        wait=0.0,
        announce=announce,
        fight=Fight(
            reverts=reverts,
            level=level,
            not_before=now + policy.delay(level),
            last_foreign=now,
            announced=True,
        ),
    )


def message(config_map: str, policy: FightPolicy, decision: Decision) -> str:
    """The ConfigMapFought Event's message."""
    fight = decision.fight
    return (
        f"ConfigMap {config_map} keeps being changed by another writer "
        f"({len(fight.reverts)} reverts in {policy.window:.0f} s): putting it back with "
        f"backoff, next in {policy.delay(fight.level):.0f} s, at most every {policy.cap:.0f} s. "
        "Stop the other writer (its RBAC on ConfigMaps), or serve the prompt from a new release "
        "whose ConfigMap nobody else writes."
    )
