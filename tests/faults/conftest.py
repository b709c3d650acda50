"""Fault tests: the operator, the API server and etcd killed, two operators at once, a writer
fighting the operator. FAULTS_SIZE=full (`make faults`) runs them at full size; the reduced size
runs inside `make test`. Each fault prints its figures; they are repeated at the end."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CRDS, Cluster
from tests.controlplane.cluster import LocalControlPlane
from tests.faults import harness
from tests.kube import Kubectl, eventually


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if harness.FIGURES:
        terminalreporter.section("fault figures")
        for line in harness.FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def size() -> harness.Size:
    return harness.size()


@pytest.fixture
def api(cluster: Cluster, crds: None) -> harness.FaultKube:
    """The Python client on the session's cluster, for fast writes and reads."""
    return harness.client(cluster.kubeconfig)


@pytest.fixture
def recorder(api: harness.FaultKube, namespace: str) -> Iterator[harness.Recorder]:
    with harness.recording(api, namespace) as recorder:
        yield recorder


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path


def _local_backend() -> bool:
    if os.environ.get("USE_EXISTING_CLUSTER", "").lower() in {"1", "true", "yes"}:
        return False
    return os.environ.get("PROMPT_RELEASE_BACKEND", "local") == "local"


@pytest.fixture(scope="module")
def own_plane() -> Iterator[LocalControlPlane]:
    """A control plane of this module's own, so its components can be killed and restarted
    without disturbing the session's cluster. Only the local backend can do that."""
    if not _local_backend():
        pytest.skip("restarting kube-apiserver and etcd needs the local control plane")
    options: dict[str, Any] = {"keep_logs": os.environ.get("CI", "").lower() == "true"}
    if "workloads" in {f.name for f in dataclasses.fields(LocalControlPlane)}:
        options["workloads"] = False  # no scheduler, no kwok: no pods here
    plane = LocalControlPlane(**options)
    plane.start()
    try:
        admin = Kubectl(plane.kubectl, plane.kubeconfig)
        admin("apply", "--server-side", "-k", str(CRDS))
        for crd in ("promptversions.promptrelease.io", "promptreleases.promptrelease.io"):
            admin("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
        eventually(
            lambda: "promptreleases" in admin("api-resources", "--api-group=promptrelease.io"),
            what="the promptrelease.io kinds in discovery",
        )
        yield plane
    finally:
        plane.stop()
