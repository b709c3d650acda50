"""Everything the operator's handlers are configured with, passed explicitly at wiring time."""

from __future__ import annotations

from dataclasses import dataclass, field

from prompt_release.core.fights import FightPolicy


@dataclass(frozen=True)
class Options:
    peering_lifetime: int = 0
    """Seconds a silent peer counts as alive; 0 keeps kopf's default."""
    max_workers: int = 8
    """Threads running the (synchronous) handlers."""
    retry_stalled_seconds: float = 10
    """How often a release that isn't Ready is tried again without any change."""
    conflict_retries: int = 5
    """Guarded writes that meet a newer object re-plan from fresh reads this many times."""
    version_status_delay: float = 0.25
    """How long a PromptVersion status refresh waits for others to join it (one write for a
    new version and the release that goes live with it)."""
    version_status_wait: float = 30.0
    """How long at most a PromptVersion status refresh waits for the releases naming the
    version to plan it."""
    version_status_burst_wait: float = 2.0
    """How long at most the status refresh of a version no release names waits while releases
    are changing: in a burst of `kubectl apply` the release naming it may be right behind it,
    and waiting makes its hash and releasedAs one write, not two."""
    settle_delay: float = 2.0
    """How long after a release stops naming a version in-use protection waits before removing
    the version's finalizer itself: kopf usually does it first, on the version's own next event
    (its releasedAs refresh). Also how long at most the finalizer of a version a release now
    names waits for the release's pass to answer (then it is put on at once)."""
    deletion_retry_seconds: float = 3
    """How often a held-back PromptVersion deletion looks again for its holders."""
    fight_policy: FightPolicy = field(default_factory=FightPolicy)
    """How hand edits of a ConfigMap are reverted once another writer keeps making them."""
