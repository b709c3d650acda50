"""The chart's alerts and Grafana dashboard, evaluated by a real Prometheus on live metrics.

The PrometheusRule and the dashboard come from `helm template` of the chart; the rule groups
are loaded into the local Prometheus, which scrapes the operator's /metrics and workload
processes recording responses through the SDK. An alert that fires here is one that fires in a
cluster; a dashboard query that Prometheus answers is one Grafana can draw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.chart import objects, template
from tests.controlplane.cluster import free_port
from tests.controlplane.prometheus_server import LocalPrometheus
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version

pytestmark = pytest.mark.integration

ALERTS = {
    "PromptReleaseStalled",
    "PromptCanaryAborted",
    "PromptReleaseVerificationFailed",
    "PromptReleaseRolledBack",
    "PromptReleaseOperatorErrors",
    "PromptCanaryAnalysisInconclusive",
    "PromptNotificationsFailing",
    "PromptVersionErrorRateHigh",
}


def rendered(*sets: str) -> dict[str, dict[str, Any]]:
    """The chart's objects by kind; only the dashboard's when several ConfigMaps."""
    found: dict[str, dict[str, Any]] = {}
    for obj in objects(template(*sets)):
        if obj["kind"] != "ConfigMap" or obj["metadata"]["name"].endswith("-dashboard"):
            found[obj["kind"]] = obj
    return found


@pytest.fixture
def rules(prometheus: LocalPrometheus) -> Iterator[list[dict[str, Any]]]:
    """The chart's rule groups, with `for: 0s`, loaded into Prometheus for one test."""
    chart = rendered("metrics.prometheusRule.enabled=true", "metrics.prometheusRule.for=0s")
    groups: list[dict[str, Any]] = chart["PrometheusRule"]["spec"]["groups"]
    prometheus.load_rules(groups)
    yield groups
    prometheus.load_rules([])


def firing(prometheus: LocalPrometheus, name: str, **labels: str) -> dict[str, Any] | None:
    for alert in prometheus.api("alerts")["alerts"]:
        if alert["labels"]["alertname"] != name or alert["state"] != "firing":
            continue
        if all(alert["labels"].get(key) == value for key, value in labels.items()):
            return dict(alert)
    return None


def test_the_charts_alerts_fire_on_a_stalled_release_and_on_failing_responses(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
    prometheus: LocalPrometheus,
    rules: list[dict[str, Any]],
    workloads: Callable[..., list[str]],
) -> None:
    assert {rule["alert"] for group in rules for rule in group["rules"]} == ALERTS
    metrics_port = free_port()
    run_operator("--metrics-port", str(metrics_port))
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    apply(kubectl, release("summarizer-v9", label="staging"))  # no such version
    eventually(
        lambda: condition(kubectl.get("promptrelease", "summarizer-staging"))["status"] == "False",
        timeout=30,
        what="the staging release to say it is not Ready",
    )
    targets = workloads(errors={"stable": 0.5})
    prometheus.scrape([*targets, f"127.0.0.1:{metrics_port}"], namespace=kubectl.namespace or "")

    stalled = eventually(
        lambda: firing(prometheus, "PromptReleaseStalled", release="summarizer-staging"),
        timeout=60,
        what="PromptReleaseStalled to fire for summarizer-staging",
    )
    assert stalled["labels"]["label"] == "staging"
    assert "summarizer-staging is stalled" in stalled["annotations"]["summary"]
    failing = eventually(
        lambda: firing(prometheus, "PromptVersionErrorRateHigh", version="summarizer-v1"),
        timeout=60,
        what="PromptVersionErrorRateHigh to fire for summarizer-v1",
    )
    assert failing["labels"]["label"] == "production"
    assert failing["labels"]["severity"] == "critical"
    assert re.search(r"fails \d+(\.\d+)?% of its responses", failing["annotations"]["summary"])
    assert firing(prometheus, "PromptReleaseStalled", release="summarizer-production") is None

    for group in prometheus.api("rules")["groups"]:
        for rule in group["rules"]:
            assert rule["health"] == "ok", rule


def panel_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def as_grafana_would(expr: str, namespace: str) -> str:
    """The query with the dashboard's variables given values, as Grafana sends it."""
    values = {"namespace": namespace, "prompt": ".*", "__rate_interval": "1m"}
    return re.sub(r"\$(\w+)", lambda found: values[found.group(1)], expr)


def test_every_dashboard_query_is_answered_by_prometheus_and_the_error_ratio_is_drawn(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
    prometheus: LocalPrometheus,
    workloads: Callable[..., list[str]],
) -> None:
    chart = rendered("grafana.dashboard.enabled=true")
    config_map = chart["ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["prompt-release.json"])
    assert {v["name"] for v in dashboard["templating"]["list"]} == {
        "datasource",
        "namespace",
        "prompt",
    }
    metrics_port = free_port()
    run_operator("--metrics-port", str(metrics_port))
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    targets = workloads(errors={"stable": 0.25})
    prometheus.scrape([*targets, f"127.0.0.1:{metrics_port}"], namespace=kubectl.namespace or "")

    namespace = kubectl.namespace or ""
    queries = list(panel_queries(dashboard))
    assert len(queries) >= 12
    for _, expr in queries:
        prometheus.query(as_grafana_would(expr, namespace))  # fails on a query it refuses

    def drawn(title: str) -> list[dict[str, Any]] | None:
        series = [
            found
            for name, expr in queries
            if name == title
            for found in prometheus.query(as_grafana_would(expr, namespace))
        ]
        return series or None

    ratio = eventually(lambda: drawn("Error ratio"), timeout=60, what="the error ratio panel")
    assert ratio[0]["metric"]["version"] == "summarizer-v1"
    assert abs(float(ratio[0]["value"][1]) - 0.25) < 0.05
    served = eventually(lambda: drawn("What the workloads serve"), timeout=30, what="served")
    assert served[0]["metric"]["hash"].startswith("sha256:")
    live = eventually(
        lambda: drawn("Live revision and readiness per release"), timeout=30, what="releases"
    )
    assert any(s["metric"].get("release") == "summarizer-production" for s in live)
    (age,) = eventually(lambda: drawn("Age of the live revision"), timeout=30, what="age")
    assert 0 <= float(age["value"][1]) < 600


def test_the_alerts_and_the_dashboard_are_off_by_default() -> None:
    kinds = [obj["kind"] for obj in objects(template())]
    assert "PrometheusRule" not in kinds
    assert not any(
        obj["kind"] == "ConfigMap" and "grafana_dashboard" in obj["metadata"].get("labels", {})
        for obj in objects(template())
    )
