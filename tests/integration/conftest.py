"""Fixtures the integration tests share beyond the cluster ones in tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.controlplane.cluster import free_port
from tests.controlplane.prometheus_server import LocalPrometheus
from tests.kube import Kubectl, eventually

Prompt = Callable[..., subprocess.CompletedProcess[str]]
PLUGIN_DIR = str(Path(sys.executable).parent)  # where `pip install` put kubectl-prompt
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def prompt(kubectl: Kubectl, namespace: str) -> Prompt:
    """Run `kubectl prompt ARGS -n <test namespace>`; returns the completed process."""

    def run(
        *args: str,
        namespaced: bool = True,
        input: str | None = None,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(
            os.environ,
            KUBECONFIG=str(kubeconfig or kubectl.kubeconfig),
            PATH=f"{PLUGIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        argv = [str(kubectl.binary), "prompt", *args, *(["-n", namespace] if namespaced else [])]
        return subprocess.run(
            argv, capture_output=True, text=True, env=env, input=input, timeout=120
        )

    return run


@pytest.fixture
def workloads(
    kubectl: Kubectl, prometheus: LocalPrometheus, tmp_path: Path
) -> Iterator[Callable[..., list[str]]]:
    """Start workload processes on the release's mounted ConfigMap; Prometheus scrapes them."""
    from tests.integration.kubelet import Kubelet, KubeletVolume  # imports the test modules

    processes: list[subprocess.Popen[bytes]] = []
    kubelets: list[Kubelet] = []

    def start(count: int = 2, errors: dict[str, float] | None = None) -> list[str]:
        errors = errors or {}
        mount = tmp_path / "mount"
        mount.mkdir()
        kubelet = Kubelet(kubectl, KubeletVolume(mount))
        kubelet.sync()
        threading.Thread(target=kubelet.run, daemon=True).start()
        kubelets.append(kubelet)
        targets = []
        for _ in range(count):
            port = free_port()
            argv = [sys.executable, "-m", "tests.integration.sdk_workload", "--dir", str(mount)]
            argv += ["--port", str(port), "--seconds", "300"]
            argv += [f"--errors={who}={rate}" for who, rate in errors.items()]
            processes.append(subprocess.Popen(argv, cwd=REPO))
            targets.append(f"127.0.0.1:{port}")
        prometheus.scrape(targets, namespace=kubectl.namespace or "")
        eventually(
            lambda: all(prometheus.up().get(t) == 1 for t in targets),
            timeout=30,
            what=f"Prometheus scraping {targets}",
        )
        return targets

    yield start
    prometheus.scrape([])
    for kubelet in kubelets:
        kubelet.stop.set()
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
