"""kube-apiserver and etcd killed and restarted in the middle of a burst of releases: the
operator's watches resume by themselves and everything converges."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.controlplane.cluster import LocalControlPlane
from tests.faults.harness import Fleet, Size, audit, client, recording, report, until
from tests.kube import Kubectl, OperatorProcess

pytestmark = pytest.mark.integration


def test_api_server_and_etcd_restarted_mid_burst_the_operator_resumes_and_converges(
    own_plane: LocalControlPlane, tmp_path: Path, size: Size
) -> None:
    admin = Kubectl(own_plane.kubectl, own_plane.kubeconfig)
    namespace = f"f-{uuid.uuid4().hex[:10]}"
    admin("create", "namespace", namespace)
    kube = client(own_plane.kubeconfig)
    fleet = Fleet.create(kube, namespace, size.releases, size.versions)
    operator = OperatorProcess.start(own_plane.kubeconfig, ["-n", namespace], tmp_path / "op.log")
    try:
        with recording(kube, namespace) as recorder:
            until(fleet.converged, 120, "the first releases")
            restarts = {
                "kube-apiserver": own_plane.restart_apiserver,
                "etcd": own_plane.restart_etcd,
            }
            figures: list[str] = []
            for round_ in range(size.restarts):
                for component, restart in restarts.items():
                    burst = threading.Thread(target=fleet.burst, args=(round_, size.flips))
                    burst.start()
                    time.sleep(fleet.rng.uniform(0.2, 1.0))
                    down = restart()
                    back = time.monotonic()
                    burst.join()
                    # Changes made only now reach the operator through its watches alone.
                    fleet.burst(round_, 1, pause=0)
                    until(fleet.converged, 300, f"convergence after the {component} restart")
                    figures.append(
                        f"{component} back in {down:.1f} s, converged "
                        f"{time.monotonic() - back:.1f} s later"
                    )
            problems = audit(fleet, recorder)
            assert operator.healthy()
            report(
                "kube-apiserver and etcd restarted",
                rounds=size.restarts,
                objects=fleet.objects,
                spec_writes=fleet.spec_writes,
                restarts="; ".join(figures),
                operator_writes=recorder.operator_writes,
                lost=len(problems),
            )
            assert not problems, "\n".join(problems)
    finally:
        operator.stop()
        admin.run("delete", "namespace", namespace, "--wait=false", check=False)
