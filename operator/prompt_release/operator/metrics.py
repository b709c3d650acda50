"""Prometheus metrics: reconciles by kind and result, their duration, and what is live now."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
    "Automatic rollbacks by cause (RolloutFailed: a consumer missed its progress deadline or "
    "the verification window failed; EvaluationFailed: what is live failed its evaluation).",
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
EVALUATIONS_FAILED = Counter(
    "promptrelease_evaluations_failed",
    "Evaluations that failed (spec.evaluation): a candidate's evaluation Job, or a newer result "
    "of what is live that fails after its last passing one.",
    registry=REGISTRY,
)
DURATION = Histogram(
    "promptrelease_reconcile_duration_seconds",
    "How long one reconcile takes, reads and writes included.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


class _LiveReleases(Collector):
    """Releases by readiness and the live revision of each, from the last reconcile of each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (namespace, name) -> (prompt, label, ready, revision)
        self._known: dict[tuple[str, str], tuple[str, str, str, int | None]] = {}

    def record(self, release: ReleaseView, status: Mapping[str, Any]) -> None:
        ready = str(conditions.ready_of(status).get("status", "Unknown")).lower()
        revision = status.get("revision")
        entry = (
            release.prompt,
            release.label,
            ready,
            revision if isinstance(revision, int) else None,
        )
        with self._lock:
            self._known[(release.namespace, release.name)] = entry

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._known.pop((namespace, name), None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            known = dict(self._known)
        by_ready = GaugeMetricFamily(
            "promptrelease_releases", "PromptReleases by readiness.", labels=["ready"]
        )
        counts = {"true": 0, "false": 0, "unknown": 0}
        for _, _, ready, _ in known.values():
            counts[ready] = counts.get(ready, 0) + 1
        for ready, count in counts.items():
            by_ready.add_metric([ready], count)
        yield by_ready
        revision = GaugeMetricFamily(
            "promptrelease_release_revision",
            "The revision live now, per release.",
            labels=["namespace", "release", "prompt", "label"],
        )
        for (namespace, name), (prompt, label, _, live) in sorted(known.items()):
            if live is not None:
                revision.add_metric([namespace, name, prompt, label], float(live))
        yield revision


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
