"""Fixtures: one real cluster per session, a fresh namespace and a kubectl per test.

Backends (PROMPT_RELEASE_BACKEND or the envtest variables):
- local (default): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one
  fake node, so Deployments, StatefulSets, DaemonSets and Jobs roll out) built from Go modules;
- USE_EXISTING_CLUSTER=true: the cluster of the current KUBECONFIG (kubectl from PATH);
- kind: a cluster made by pytest-kind; needs Docker, which these machines don't have.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.kube import Kubectl, OperatorProcess, established, eventually

if TYPE_CHECKING:
    from tests.controlplane.prometheus_server import LocalPrometheus

log = logging.getLogger("tests")


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    kubectl_binary: Path
    backend: str


_SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _SUMMARY:
        terminalreporter.write_line(line)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def _backend() -> str:
    if _truthy("USE_EXISTING_CLUSTER"):
        return "existing"
    return os.environ.get("PROMPT_RELEASE_BACKEND", "local")


def pytest_configure(config: pytest.Config) -> None:
    """Builds of control-plane binaries (minutes, the first time) show on the terminal, past
    the output capture, whichever test or hook starts them."""
    from tests.controlplane import binaries

    def to_terminal(line: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager")
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if terminal is not None:
                terminal.write_line(line)
            else:
                print(line, file=sys.stderr, flush=True)

    binaries.report = to_terminal


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build what the local control plane lacks before the first test, in the open: on a
    fresh machine that takes minutes, which inside a test would look like a hang."""
    if session.config.option.collectonly or _backend() != "local":
        return
    if not any("cluster" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    import subprocess

    from tests.controlplane import binaries

    if any("prometheus" in getattr(item, "fixturenames", ()) for item in session.items):
        names: tuple[str, ...] = (*binaries.CONTROL_PLANE, "prometheus")
    else:
        names = binaries.CONTROL_PLANE
    try:
        absent = binaries.missing(names)
        if not absent:
            return
        binaries.report(
            f"The local control plane needs {', '.join(absent)}, not built yet for these pins: "
            "building them from Go modules once (several minutes on 2 cores; "
            "later runs start in seconds)."
        )
        binaries.ensure_binaries(names)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        # The tests that need the cluster fail with this same error, with the rest running.
        binaries.report(f"could not build the local control plane: {error}")


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    backend = _backend()
    if backend == "existing":
        kubeconfig = Path(os.environ.get("KUBECONFIG", Path.home() / ".kube" / "config"))
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            pytest.exit("USE_EXISTING_CLUSTER=true needs kubectl on PATH", returncode=2)
        yield Cluster(kubeconfig, Path(kubectl), backend)
    elif backend == "kind":
        pytest_kind = pytest.importorskip(
            "pytest_kind", reason="the kind backend needs pytest-kind"
        )
        kind = pytest_kind.KindCluster(f"prompt-release-{uuid.uuid4().hex[:6]}")
        kind.create()
        try:
            yield Cluster(Path(kind.kubeconfig_path), Path(kind.kubectl_path), backend)
        finally:
            kind.delete()
    elif backend == "local":
        from tests.controlplane.binaries import ETCD, KUBERNETES, KWOK
        from tests.controlplane.cluster import running_control_plane

        keep = _truthy("KEEP_CONTROL_PLANE_LOGS") or _truthy("CI")
        with running_control_plane(keep_logs=keep) as plane:
            _SUMMARY.append(
                f"local control plane: Kubernetes {KUBERNETES.version}, etcd {ETCD.version}, "
                f"kwok {KWOK.version} (fake node {', '.join(plane.nodes)}), "
                f"started in {plane.startup_seconds:.1f} s"
            )
            yield Cluster(plane.kubeconfig, plane.kubectl, backend)
            # Component logs outlive the run when something failed, to debug it.
            plane.keep_logs = plane.keep_logs or request.session.testsfailed > 0
    else:
        pytest.exit(f"unknown PROMPT_RELEASE_BACKEND={backend!r} (local, existing, kind)", 2)


@pytest.fixture(scope="session")
def prometheus(request: pytest.FixtureRequest) -> Iterator[LocalPrometheus]:
    """A real Prometheus (built from tests/controlplane/prometheus), scraping the targets a
    test gives it with `scrape()`; one per session."""
    from tests.controlplane.prometheus_server import running_prometheus

    keep = _truthy("KEEP_CONTROL_PLANE_LOGS") or _truthy("CI")
    with running_prometheus(keep=keep) as server:
        _SUMMARY.append(
            f"local Prometheus {server.version} at {server.url}, started in "
            f"{server.startup_seconds:.1f} s"
        )
        yield server
        server.scrape([])


@pytest.fixture
def summary() -> Callable[[str], None]:
    """Add a line to the figures printed at the end of the session."""
    return _SUMMARY.append


@pytest.fixture(scope="session")
def admin_kubectl(cluster: Cluster) -> Kubectl:
    """kubectl with cluster-wide admin rights and no namespace."""
    return Kubectl(cluster.kubectl_binary, cluster.kubeconfig)


@pytest.fixture
def namespace(admin_kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin_kubectl("create", "namespace", name)
    yield name
    admin_kubectl.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kubectl(admin_kubectl: Kubectl, namespace: str) -> Kubectl:
    """kubectl bound to the test's namespace."""
    return admin_kubectl.in_namespace(namespace)


REPO = Path(__file__).resolve().parent.parent
CRDS = REPO / "crds"


@pytest.fixture(scope="session")
def crds(admin_kubectl: Kubectl) -> None:
    """The product's CRDs, installed once and served before any test uses them."""
    admin_kubectl("apply", "--server-side", "--force-conflicts", "-k", str(CRDS))
    established(
        admin_kubectl,
        "promptversions.promptrelease.io",
        "promptreleases.promptrelease.io",
        "promptevaluations.promptrelease.io",
    )
    eventually(
        lambda: "promptreleases" in admin_kubectl("api-resources", "--api-group=promptrelease.io"),
        what="the promptrelease.io kinds in discovery",
    )


@pytest.fixture
def run_operator(
    cluster: Cluster, crds: None, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start the operator as its own process, watching the test's namespace; stop it after."""
    started: list[OperatorProcess] = []

    def start(*extra: str, kubeconfig: Path | None = None) -> OperatorProcess:
        process = OperatorProcess.start(
            kubeconfig or cluster.kubeconfig,
            ["-n", namespace, *extra],
            tmp_path / f"operator-{len(started)}.log",
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def operator(run_operator: Callable[..., OperatorProcess]) -> OperatorProcess:
    return run_operator()
