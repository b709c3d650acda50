"""Everything the operator is configured with, passed explicitly when it is assembled."""

from __future__ import annotations

from dataclasses import dataclass, field

from prompt_release.core.fights import FightPolicy
from prompt_release.core.notify_config import NotifyConfig
from prompt_release.core.version_decision import Timing
from prompt_release.operator.runtime.queue import Backoff


@dataclass(frozen=True)
class Options:
    peering_lifetime: int = 0
    """Seconds a silent peer counts as alive; 0 keeps kopf's default."""
    release_workers: int = 8
    """Releases reconciled at once (threads of the release controller)."""
    version_workers: int = 8
    """Versions reconciled at once."""
    retry_stalled_seconds: float = 10
    """How often a release that isn't Ready is looked at again without any change (causes the
    operator doesn't watch, such as an unmanaged ConfigMap deleted, clear without one)."""
    backoff: Backoff = field(default_factory=Backoff)
    """Per key: how soon a failed pass or a conflict is tried again, doubling up to a cap."""
    version_timing: Timing = field(default_factory=Timing)
    """How long a version's status waits for the releases naming it (one write, not two)."""
    kopf_idle_timeout: float = 0.5
    """Seconds kopf keeps an object's worker after its last event (kopf's default is 5: a
    first listing of thousands would keep thousands of idle workers that long)."""
    compact_stores: bool = True
    """Keep the stored prompt objects and ConfigMaps as JSON bytes (`runtime/compact.py`)
    rather than parsed: see docs/performance.md for what it saves and costs."""
    fight_policy: FightPolicy = field(default_factory=FightPolicy)
    """How hand edits of a ConfigMap are reverted once another writer keeps making them."""
    notifications: NotifyConfig | None = None
    """The webhook sinks (`--notifications-config`); None: no notification controller."""
    notification_workers: int = 4
    """Releases whose notifications are delivered at once (each waits at most its sink's
    timeout on a receiver that hangs)."""
    prometheus_url: str | None = None
    """The Prometheus canary analyses query (None: their measurements are inconclusive)."""
    prometheus_timeout: float = 5.0
    """Seconds one analysis query may take before its measurement is inconclusive."""
