"""The working state of one canary pass, shared by the plan and the parts it runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prompt_release.core import governance
from prompt_release.core.analysis import Reading
from prompt_release.core.release import Event, ReleasePlan
from prompt_release.core.views import ReleaseView
from prompt_release.core.workloads import Workload


@dataclass
class CanaryPass:
    """What one pass has decided so far: the status, the Events, the Jobs, when to look again."""

    release: ReleaseView
    stable: ReleasePlan
    now: str
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    create_jobs: list[dict[str, Any]] = field(default_factory=list)
    delete_jobs: list[str] = field(default_factory=list)
    wake_in: float | None = None
    poll: bool = False
    stable_data: dict[str, str] = field(default_factory=dict)
    """prompt.json and template.txt as they will be."""
    summary: tuple[str, str, str] | None = None
    """(kind: ready|reconciling|stalled|held, reason, message) for the conditions; None: leave
    them."""
    held: governance.HeldError | None = None
    """The candidate waits for approval, or was rejected (summary kind "held")."""
    reading: Reading | None = None
    """The Prometheus measurement the shell took for this pass (an analysis step's)."""
    consumers: Sequence[Workload] = ()
    """The workloads using the ConfigMap: the candidate passes their contract gate."""

    def say(self, kind: str, reason: str, message: str) -> None:
        self.events.append(Event(kind, reason, message))

    def wake(self, seconds: float) -> None:
        self.wake_in = seconds if self.wake_in is None else min(self.wake_in, seconds)

    def ended(
        self, state: Mapping[str, Any], outcome: str, message: str | None = None
    ) -> dict[str, Any]:
        """status.lastCanary of a run that ends now; its running analysis Job goes."""
        last = {
            k: v for k, v in state.items() if k not in ("resumesAt", "analysisJob", "specDigest")
        }
        last.update(endedAt=self.now, outcome=outcome)
        if message:
            last["message"] = message
        if state.get("analysisJob"):
            self.delete_jobs.append(str(state["analysisJob"]))
        return last
