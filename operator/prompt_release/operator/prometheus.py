"""The operator's Prometheus client: one instant query per due measurement, with a timeout.

The release controller's worker sends it (never kopf's loop); what comes back, or why nothing
did, is a `core.analysis.Reading` the pass judges. A Prometheus that is down, slow or refuses
the query gives an inconclusive reading, never an exception, so no other release waits on it
longer than the timeout.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from prompt_release.core import analysis
from prompt_release.core.analysis import Query, Reading
from prompt_release.operator import metrics

MAX_ANSWER = 1 << 20
"""Bytes read of an answer: one number's worth is a few hundred; more is several series."""


class Prometheus:
    """Instant queries to one Prometheus (`--prometheus-url`)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def measure(self, query: Query, at: str) -> Reading:
        """Send the query; the Reading of its answer, or an inconclusive one saying why not."""
        form = urllib.parse.urlencode({"query": query.text, "timeout": f"{self.timeout:g}s"})
        request = urllib.request.Request(
            f"{self.url}/api/v1/query",
            data=form.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                code, text = answer.status, answer.read(MAX_ANSWER).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:  # 400/422/503 carry Prometheus's JSON error
            code, text = error.code, error.read(MAX_ANSWER).decode("utf-8", "replace")
        except (OSError, ValueError) as error:  # refused, unreachable, timed out, a bad URL
            why = f"{self.url}: {getattr(error, 'reason', None) or error}"
            return _unreachable(query, at, why[:512])
        reading = analysis.read_answer(query.step, query.hash, at, code, text)
        metrics.ANALYSIS_QUERIES.labels(reading.reason or "Measured").inc()
        return reading


def unconfigured(query: Query, at: str) -> Reading:
    """The reading of an analysis on an operator started without --prometheus-url."""
    message = "the operator has no Prometheus to ask (start it with --prometheus-url)"
    return _unreachable(query, at, message)


def _unreachable(query: Query, at: str, message: str) -> Reading:
    """An inconclusive reading: no Prometheus answered. Counted like every query."""
    metrics.ANALYSIS_QUERIES.labels(analysis.UNREACHABLE).inc()
    return Reading(query.step, query.hash, at, reason=analysis.UNREACHABLE, message=message)
