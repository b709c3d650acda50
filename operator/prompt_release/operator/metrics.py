"""Prometheus metrics: reconciles by kind and result, their duration, and what is live now
(per release: readiness, revision, canary, verification; the chart's alerts read them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from prompt_release.core import conditions
from prompt_release.core.views import ReleaseView

REGISTRY = CollectorRegistry()

RECONCILES = Counter(
    "promptrelease_reconciles",
    "Reconciles by kind and result (success, refused, error).",
    ["kind", "result"],
    registry=REGISTRY,
)
ROLLBACKS = Counter(
    "promptrelease_rollbacks",
    "Automatic rollbacks by cause (RolloutFailed: a consumer missed its progress deadline).",
    ["reason"],
    registry=REGISTRY,
)
ANALYSIS_QUERIES = Counter(
    "promptrelease_analysis_queries",
    "Prometheus queries of canary analyses, by what came back (Measured, or the inconclusive "
    "reason: PrometheusUnreachable, QueryError, NoSeries, SeveralSeries, NotANumber).",
    ["result"],
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "promptrelease_notifications",
    "Webhook deliveries by sink and outcome (Delivered, WebhookRejected, WebhookUnreachable, "
    "WebhookSecretMissing); a failed one is retried with backoff.",
    ["sink", "result"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "promptrelease_reconcile_duration_seconds",
    "How long one reconcile takes, reads and writes included.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


@dataclass(frozen=True)
class _Live:
    """What the metrics say of one release, from its last planned status."""

    prompt: str
    label: str
    ready: str  # true, false or unknown
    stalled: bool
    revision: int | None
    released_at: float | None
    canary_phase: str | None
    canary_weight: float
    verification_phase: str | None

    @classmethod
    def of(cls, release: ReleaseView, status: Mapping[str, Any]) -> _Live:
        stalled = conditions.find(status.get("conditions"), conditions.STALLED) or {}
        revision = status.get("revision")
        canary = status.get("canary") or {}
        verification = status.get("verification") or {}
        return cls(
            prompt=release.prompt,
            label=release.label,
            ready=str(conditions.ready_of(status).get("status", "Unknown")).lower(),
            stalled=stalled.get("status") == "True",
            revision=revision if isinstance(revision, int) else None,
            released_at=_seconds(status.get("releasedAt")),
            canary_phase=canary.get("phase"),
            canary_weight=float(canary.get("weight") or 0) if canary.get("phase") else 0.0,
            verification_phase=verification.get("phase"),
        )


def _seconds(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


RELEASE_LABELS = ["namespace", "release", "prompt", "label"]


class _LiveReleases(Collector):
    """Per release, from the last reconcile of each: readiness, the live revision and when it
    went live, the canary's phase and weight, the verification window's phase."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], _Live] = {}

    def record(self, release: ReleaseView, status: Mapping[str, Any]) -> None:
        with self._lock:
            self._known[(release.namespace, release.name)] = _Live.of(release, status)

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._known.pop((namespace, name), None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            known = sorted(self._known.items())
        by_ready = GaugeMetricFamily(
            "promptrelease_releases", "PromptReleases by readiness.", labels=["ready"]
        )
        counts = {"true": 0, "false": 0, "unknown": 0}
        for _, live in known:
            counts[live.ready] = counts.get(live.ready, 0) + 1
        for ready, count in counts.items():
            by_ready.add_metric([ready], count)
        yield by_ready
        yield from _per_release(known)


def _per_release(known: list[tuple[tuple[str, str], _Live]]) -> Iterator[GaugeMetricFamily]:
    def family(name: str, help: str, *extra: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, help, labels=[*RELEASE_LABELS, *extra])

    revision = family("promptrelease_release_revision", "The revision live now, per release.")
    ready = family("promptrelease_release_ready", "1 when the release's Ready condition is True.")
    stalled = family("promptrelease_release_stalled", "1 when the release's Stalled is True.")
    released = family(
        "promptrelease_release_released_timestamp_seconds", "When the live revision went live."
    )
    weight = family("promptrelease_release_canary_weight", "Percent served the canary now.")
    canary = family("promptrelease_release_canary_phase", "1 for the canary's phase.", "phase")
    verification = family(
        "promptrelease_release_verification_phase",
        "1 for the phase of the live revision's verification window.",
        "phase",
    )
    for (namespace, name), live in known:
        labels = [namespace, name, live.prompt, live.label]
        ready.add_metric(labels, float(live.ready == "true"))
        stalled.add_metric(labels, float(live.stalled))
        weight.add_metric(labels, live.canary_weight)
        if live.revision is not None:
            revision.add_metric(labels, float(live.revision))
        if live.released_at is not None:
            released.add_metric(labels, live.released_at)
        if live.canary_phase:
            canary.add_metric([*labels, live.canary_phase], 1.0)
        if live.verification_phase:
            verification.add_metric([*labels, live.verification_phase], 1.0)
    yield from (revision, ready, stalled, released, weight, canary, verification)


LIVE_RELEASES = _LiveReleases()
REGISTRY.register(LIVE_RELEASES)


@contextmanager
def reconciling(kind: str) -> Iterator[dict[str, str]]:
    """Time a reconcile and count it; the body sets outcome["result"] (default success)."""
    outcome = {"result": "success"}
    started = time.perf_counter()
    try:
        yield outcome
    except Exception:
        outcome["result"] = "error"
        raise
    finally:
        DURATION.labels(kind).observe(time.perf_counter() - started)
        RECONCILES.labels(kind, outcome["result"]).inc()


def serve(port: int, address: str = "0.0.0.0") -> None:
    start_http_server(port, addr=address, registry=REGISTRY)
