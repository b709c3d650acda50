"""Installing and operating: the Helm chart, plain manifests, least-privilege RBAC, GitOps
health (Argo CD Lua and kstatus), metrics and HA, all against the real API server."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import LuaRuntime

from tests.chart import (
    CHART,
    GOVERNANCE,
    INSTALL,
    governance_manifests,
    helm,
    objects,
    plain_install_manifests,
    template,
)
from tests.controlplane.binaries import ensure_binaries
from tests.kube import Kubectl, OperatorProcess, _free_port, established, eventually
from tests.prompts import apply, release, released, version, wait_reason

pytestmark = pytest.mark.integration

ARGOCD = Path(__file__).resolve().parents[2] / "manifests" / "argocd"
PEERING_CRDS = CHART / "crds" / "kopf-peering.yaml"
GOVERNANCE_POLICIES = GOVERNANCE / "policies.yaml"


# -- the chart and the plain manifests ------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["watchNamespaces={team-a,team-b}"],
        ["replicaCount=2"],
        ["metrics.serviceMonitor.enabled=true", "podAnnotations.a=b", "logLevel=DEBUG"],
        [
            "notifications.enabled=true",
            "notifications.sinks.audit.url=https://hooks.example.com/p",
            "notifications.sinks.audit.secret.name=webhooks",
            "notifications.sinks.audit.secret.key=audit",
        ],
        ["prometheus.url=http://prometheus.monitoring:9090", "prometheus.timeout=3"],
    ],
)
def test_helm_lint_passes(values: list[str]) -> None:
    flags = [arg for value in values for arg in ("--set", value)]
    assert "0 chart(s) failed" in helm("lint", "--strict", str(CHART), *flags)


def test_values_schema_refuses_bad_values() -> None:
    with pytest.raises(RuntimeError, match="logLevel"):
        template("logLevel=LOUD")
    with pytest.raises(RuntimeError, match="watchNamespaces"):
        template("watchNamespaces={Not_A_Namespace}")
    with pytest.raises(RuntimeError, match="notifications"):
        template("notifications.sinks.audit.url=ftp://x")
    with pytest.raises(RuntimeError, match="prometheus"):
        template("prometheus.url=ftp://prometheus")


def test_the_prometheus_url_reaches_the_operators_flags() -> None:
    rendered = template("prometheus.url=http://prometheus.monitoring:9090", "prometheus.timeout=3")
    deployment = next(o for o in objects(rendered) if o["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--prometheus-url=http://prometheus.monitoring:9090" in args
    assert "--prometheus-timeout=3" in args
    default = next(o for o in objects(template()) if o["kind"] == "Deployment")
    assert not any(
        "prometheus" in a for a in default["spec"]["template"]["spec"]["containers"][0]["args"]
    )


@pytest.mark.parametrize(
    "values",
    [[], ["watchNamespaces={NS}"], ["replicaCount=2"], ["replicaCount=2", "watchNamespaces={NS}"]],
)
def test_rendered_chart_passes_server_side_dry_run(
    values: list[str], admin_kubectl: Kubectl, kubectl: Kubectl, namespace: str, crds: None
) -> None:
    admin_kubectl("apply", "--server-side", "-f", str(PEERING_CRDS))
    sets = [value.replace("NS", namespace) for value in values]
    rendered = template(*sets, name=f"pro-{uuid.uuid4().hex[:6]}", namespace=namespace)
    result = admin_kubectl.run("apply", "--dry-run=server", "-f", "-", input=rendered)
    assert result.returncode == 0, result.stderr
    deployment = next(o for o in objects(rendered) if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    kinds = {o["kind"] for o in objects(rendered)}
    if "watchNamespaces={NS}" in values:
        assert "ClusterRole" not in kinds and "Role" in kinds
        assert f"--namespace={namespace}" in container["args"]
    else:
        assert "ClusterRole" in kinds and "--all-namespaces" in container["args"]
    if "replicaCount=2" in values:
        assert any(arg.startswith("--peering=") for arg in container["args"])
        assert kinds & {"KopfPeering", "ClusterKopfPeering"}


def test_plain_manifests_match_the_chart_defaults(admin_kubectl: Kubectl) -> None:
    committed = (INSTALL / "operator.yaml").read_text()
    assert committed == plain_install_manifests(), "run `python -m tests.chart`"
    built = objects(admin_kubectl("kustomize", str(INSTALL)))
    assert [o["kind"] for o in built] == [
        "Namespace",
        *["CustomResourceDefinition"] * 5,  # versions, releases, policies, approvals, evaluations
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
        # by default: who released it (requester, approver, evaluation recorder) and deletion
        # protection
        *["MutatingAdmissionPolicy"] * 3,
        *["MutatingAdmissionPolicyBinding"] * 3,
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    assert GOVERNANCE_POLICIES.read_text() == governance_manifests(), "run `make manifests`"
    admin_kubectl("apply", "-f", str(INSTALL / "namespace.yaml"))  # a dry run can't use one
    result = admin_kubectl.run("apply", "--server-side", "--dry-run=server", "-k", str(INSTALL))
    assert result.returncode == 0, result.stderr


# -- least privilege, proven ----------------------------------------------------------------


def _install(admin: Kubectl, namespace: str, *values: str) -> tuple[str, str]:
    """Apply the rendered chart (no Pod runs here) without its cluster-wide admission policies
    (tests/integration/test_history_records.py installs and removes those); return the
    release name and its SA."""
    name = f"pro-{uuid.uuid4().hex[:6]}"
    off = ("identity.enabled=false", "deletionProtection.enabled=false")
    admin.apply(template(*off, *values, f"fullnameOverride={name}", name=name, namespace=namespace))
    return name, name


def _operator_as(
    admin: Kubectl,
    namespace: str,
    service_account: str,
    tmp_path: Path,
    run_operator: Callable[..., OperatorProcess],
    *args: str,
) -> OperatorProcess:
    token = admin.in_namespace(namespace)("create", "token", service_account).strip()
    as_sa = admin.as_token(token, tmp_path / "sa.kubeconfig")
    return run_operator(*args, kubeconfig=as_sa.kubeconfig)


def _can_i(admin: Kubectl, sa: str, *args: str) -> bool:
    result = admin.run("auth", "can-i", *args, f"--as=system:serviceaccount:{sa}", check=False)
    return result.stdout.strip() == "yes"


def test_operator_releases_with_only_the_charts_cluster_role(
    admin_kubectl: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    tmp_path: Path,
    run_operator: Callable[..., OperatorProcess],
) -> None:
    _, sa = _install(admin_kubectl, namespace)
    operator = _operator_as(admin_kubectl, namespace, sa, tmp_path, run_operator)
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    # ... and keeps its history record (create only: never rewrites nor deletes one)
    eventually(
        lambda: kubectl("get", "controllerrevisions", "-o", "name").strip() or None,
        timeout=30,
        what="the history record",
    )
    assert "Forbidden" not in operator.output() and "403" not in operator.output()
    who = f"{namespace}:{sa}"
    assert _can_i(admin_kubectl, who, "update", "configmaps", "-n", namespace)
    assert _can_i(admin_kubectl, who, "delete", "configmaps", "-n", namespace)
    assert _can_i(admin_kubectl, who, "create", "controllerrevisions", "-n", namespace)
    for forbidden in (
        ["get", "secrets", "-n", namespace],
        ["update", "controllerrevisions", "-n", namespace],
        ["delete", "controllerrevisions", "-n", namespace],
        ["list", "pods", "-n", namespace],
        ["create", "customresourcedefinitions"],
        ["delete", "promptreleases", "-n", namespace],
        ["list", "namespaces"],
    ):
        assert not _can_i(admin_kubectl, who, *forbidden), forbidden


def test_namespace_scoped_mode_works_with_only_roles(
    admin_kubectl: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    tmp_path: Path,
    run_operator: Callable[..., OperatorProcess],
) -> None:
    _, sa = _install(admin_kubectl, namespace, f"watchNamespaces={{{namespace}}}")
    bindings = admin_kubectl("get", "clusterrolebindings", "-o", "json")
    assert f'"namespace": "{namespace}"' not in bindings  # no cluster-wide grant at all
    operator = _operator_as(admin_kubectl, namespace, sa, tmp_path, run_operator)
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    apply(kubectl, release("summarizer-v2"))
    released(kubectl, "summarizer-production", 2)
    assert "Forbidden" not in operator.output()
    assert not _can_i(admin_kubectl, f"{namespace}:{sa}", "get", "configmaps", "-n", "default")


# -- GitOps health: Argo CD's Lua and kstatus agree on live states --------------------------


def argocd_health(obj: dict[str, Any]) -> str:
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute((ARGOCD / "health.lua").read_text())
    return str(result.status)


def kstatus(objs: list[dict[str, Any]]) -> list[str]:
    binary = ensure_binaries(["kstatus"])["kstatus"]
    out = subprocess.run(
        [str(binary)], input=json.dumps(objs), capture_output=True, text=True, check=True
    ).stdout
    return [reading["status"] for reading in json.loads(out)]


AGREE = {"Healthy": "Current", "Degraded": "Failed", "Progressing": "InProgress"}


def test_argocd_health_and_kstatus_agree_on_live_states(
    kubectl: Kubectl,
    run_operator: Callable[..., OperatorProcess],
) -> None:
    operator = run_operator()
    apply(
        kubectl,
        version("summarizer-v1"),
        version("broken-v1", prompt="broken", template="{x}", variables=[]),
    )
    apply(kubectl, release("summarizer-v1"), release("summarizer-v9", label="staging"))
    released(kubectl, "summarizer-production", 1)
    wait_reason(kubectl, "summarizer-staging", "VersionNotFound")
    eventually(
        lambda: kubectl.get("pver", "broken-v1").get("status", {}).get("conditions"),
        what="the broken version's status",
    )
    operator.stop()
    apply(kubectl, release("summarizer-v2", label="canary"))  # no operator: no status yet
    apply(kubectl, release("summarizer-v1", changelog="edited while the operator is down"))

    live = {
        name: kubectl.get(kind, name)
        for kind, name in [
            ("promptrelease", "summarizer-production"),
            ("promptrelease", "summarizer-staging"),
            ("promptrelease", "summarizer-canary"),
            ("promptversion", "summarizer-v1"),
            ("promptversion", "broken-v1"),
        ]
    }
    expected = {
        "summarizer-production": "Progressing",  # generation ahead of observed
        "summarizer-staging": "Degraded",
        "summarizer-canary": "Progressing",
        "summarizer-v1": "Healthy",
        "broken-v1": "Degraded",
    }
    argo = {name: argocd_health(obj) for name, obj in live.items()}
    assert argo == expected
    flux = dict(zip(live, kstatus(list(live.values())), strict=True))
    disagreements = {
        name: (argo[name], flux[name]) for name in live if AGREE[argo[name]] != flux[name]
    }
    # kstatus reads a status-less custom resource as Current; Argo CD (and we) say Progressing.
    assert disagreements == {"summarizer-canary": ("Progressing", "Current")}


def test_argocd_cm_patch_embeds_the_lua() -> None:
    patch = yaml.safe_load((ARGOCD / "argocd-cm-patch.yaml").read_text())["data"]
    lua = (ARGOCD / "health.lua").read_text()
    for kind in ("PromptVersion", "PromptRelease"):
        assert patch[f"resource.customizations.health.promptrelease.io_{kind}"] == lua


def test_the_config_map_carries_no_argocd_or_helm_tracking_labels(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    tracked = release("summarizer-v1")
    tracked["metadata"]["labels"] = {
        "app.kubernetes.io/instance": "prompts",
        "argocd.argoproj.io/instance": "prompts",
        "helm.sh/chart": "x",
    }
    tracked["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": "prompts:x",
        "meta.helm.sh/release-name": "prompts",
    }
    apply(kubectl, version("summarizer-v1"), tracked)
    released(kubectl, "summarizer-production", 1)
    meta = kubectl.get("configmap", "summarizer-production")["metadata"]
    copied = [
        k
        for k in {**meta.get("labels", {}), **meta.get("annotations", {})}
        if "argoproj" in k or "helm" in k or k == "app.kubernetes.io/instance"
    ]
    assert copied == []


# -- operations: metrics, health, HA ---------------------------------------------------------


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        match = re.match(rf"^{name}{{(.*)}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return None


def test_metrics_and_health_are_served(
    kubectl: Kubectl, namespace: str, run_operator: Callable[..., OperatorProcess]
) -> None:
    port = _free_port()
    operator = run_operator("--metrics-port", str(port))
    assert operator.healthy()
    apply(
        kubectl,
        version("summarizer-v1"),
        version("summarizer-v2"),
        release("summarizer-v1"),
        release("summarizer-v9", label="staging"),
    )
    released(kubectl, "summarizer-production", 1)
    apply(kubectl, release("summarizer-v2"))
    released(kubectl, "summarizer-production", 2)
    wait_reason(kubectl, "summarizer-staging", "VersionNotFound")
    # Each version's status is written on its own schedule (a new one waits for its release
    # while releases change): v2 saying it serves production, and v1 hashed and no longer
    # saying so, means both were reconciled.
    eventually(
        lambda: kubectl.get("promptversion", "summarizer-v2")["status"].get("releasedAs"),
        what="summarizer-v2 to say it serves production",
    )

    def v1_moved_on() -> bool:
        status = kubectl.get("promptversion", "summarizer-v1").get("status") or {}
        return bool(status.get("hash")) and "production" not in (status.get("releasedAs") or [])

    eventually(v1_moved_on, what="summarizer-v1's status to say it no longer serves production")

    def scraped() -> str | None:
        text = _scrape(port)
        ready = _sample(text, "promptrelease_releases", ready="true")
        return text if ready == 1 else None

    text = eventually(scraped, what="the metrics to show one Ready release")
    assert _sample(text, "promptrelease_releases", ready="false") == 1
    assert (
        _sample(text, "promptrelease_reconciles_total", kind="PromptRelease", result="success") or 0
    ) >= 2
    assert (
        _sample(text, "promptrelease_reconciles_total", kind="PromptRelease", result="refused") or 0
    ) >= 1
    assert (
        _sample(text, "promptrelease_reconciles_total", kind="PromptVersion", result="success") or 0
    ) >= 2
    assert (
        _sample(text, "promptrelease_reconcile_duration_seconds_count", kind="PromptRelease") or 0
    ) >= 3
    assert (
        _sample(
            text,
            "promptrelease_release_revision",
            namespace=namespace,
            release="summarizer-production",
            label="production",
        )
        == 2
    )


def test_a_standby_replica_takes_over_when_the_active_one_dies(
    admin_kubectl: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    run_operator: Callable[..., OperatorProcess],
) -> None:
    admin_kubectl("apply", "--server-side", "-f", str(PEERING_CRDS))
    established(admin_kubectl, "kopfpeerings.kopf.dev")
    kubectl.apply("apiVersion: kopf.dev/v1\nkind: KopfPeering\nmetadata: {name: pro}\n")
    peering = ["--peering", "pro", "--peering-lifetime", "6"]
    active = run_operator(*peering, "--priority", "100")
    standby = run_operator(*peering, "--priority", "50")
    apply(kubectl, version("summarizer-v1"), version("summarizer-v2"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    time.sleep(2)
    assert "Released Revision 1" in active.output()
    assert "Resuming operations" not in standby.output()  # it waits for the higher priority
    assert "PromptRelease" not in standby.output()

    active.process.kill()  # no goodbye: its peering record has to expire
    active.process.wait()
    started = time.monotonic()
    apply(kubectl, release("summarizer-v2"))
    released(kubectl, "summarizer-production", 2)
    took_over = time.monotonic() - started
    assert took_over < 45, f"the standby needed {took_over:.0f} s"
    assert "Resuming operations" in standby.output()
    assert "Released Revision 2" in standby.output()
