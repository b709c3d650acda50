"""Transitions delivered through Flux: the operator posts Flux-format events to a real Flux
notification-controller (built from its pinned Go module, tests/controlplane/fluxnotification),
whose Alert selects the Kustomization that applied the release and whose generic Provider
posts to a receiver process here.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.notify import Subject, Transition
from prompt_release.core.notify_flux import flux_event
from tests.conftest import Cluster
from tests.controlplane.binaries import FLUX_NOTIFICATION, _go_env, ensure_binaries
from tests.controlplane.cluster import _die_with_parent, free_port
from tests.integration.test_notifications import Receiver
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, release, released, version

pytestmark = pytest.mark.integration

FLUX_LABELS = {
    "kustomize.toolkit.fluxcd.io/name": "prompts",
    "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
}


def module_dir() -> Path:
    """Where Go keeps the pinned notification-controller module (its CRDs are in it)."""
    found = subprocess.run(
        ["go", "mod", "download", "-json", FLUX_NOTIFICATION.source],
        cwd=FLUX_NOTIFICATION.path,
        env=_go_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(json.loads(found.stdout)["Dir"])


class NotificationController:
    def __init__(self, cluster: Cluster, folder: Path) -> None:
        binary = ensure_binaries(["notification-controller"])["notification-controller"]
        self.events = free_port()
        self.health = free_port()
        self.log = folder / "notification-controller.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    f"--events-addr=127.0.0.1:{self.events}",
                    f"--health-addr=127.0.0.1:{self.health}",
                    f"--metrics-addr=127.0.0.1:{free_port()}",
                    f"--receiverAddr=127.0.0.1:{free_port()}",
                    "--enable-leader-election=false",
                    "--log-level=debug",
                ],
                env=dict(
                    os.environ, KUBECONFIG=str(cluster.kubeconfig), RUNTIME_NAMESPACE="default"
                ),
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        eventually(self._healthy, timeout=60, what="the notification-controller to be healthy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.events}/"

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"notification-controller exited:\n{self.output()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health}/readyz", timeout=1):
                return True
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def flux(cluster: Cluster, admin_kubectl: Kubectl, tmp_path_factory: Any) -> Iterator[Any]:
    crds = module_dir() / "config" / "crd" / "bases"
    admin_kubectl("apply", "--server-side", "-f", str(crds))
    admin_kubectl.run("create", "namespace", "flux-system", check=False)
    for plural in ("alerts", "providers"):
        admin_kubectl(
            "wait", "--for=condition=Established", f"crd/{plural}.notification.toolkit.fluxcd.io"
        )
    controller = NotificationController(cluster, tmp_path_factory.mktemp("flux"))
    yield controller
    controller.stop()


def flux_objects(namespace: str, receiver_url: str) -> list[dict[str, Any]]:
    api = "notification.toolkit.fluxcd.io/v1beta3"
    provider = {
        "apiVersion": api,
        "kind": "Provider",
        "metadata": {"name": "hooks", "namespace": namespace},
        "spec": {"type": "generic", "address": receiver_url},
    }
    alert = {
        "apiVersion": api,
        "kind": "Alert",
        "metadata": {"name": "prompts", "namespace": namespace},
        "spec": {
            "providerRef": {"name": "hooks"},
            "eventSeverity": "info",
            "eventSources": [{"kind": "Kustomization", "name": "*", "namespace": "flux-system"}],
        },
    }
    return [provider, alert]


def received(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(json.loads(line)["body"]) for line in receiver.log.read_text().splitlines()]


def test_each_transition_reaches_a_flux_provider_through_the_kustomization_that_applied_it(
    kubectl: Kubectl,
    flux: NotificationController,
    run_operator: Callable[..., OperatorProcess],
    namespace: str,
    tmp_path: Path,
) -> None:
    receiver = Receiver(tmp_path)
    try:
        apply(kubectl.in_namespace("flux-system"), *flux_objects("flux-system", receiver.url))
        # Flux's event server reads Alerts from its cache: wait until one of our events passes.
        probe = Subject(namespace, "probe", "uid-probe", "probe", "production")

        def passes() -> bool:
            sent = Transition("Released", f"probe {len(received(receiver))}", None, 1, {})
            body = json.dumps(flux_event(probe, sent, "2026-12-05T00:00:00Z", FLUX_LABELS))
            request = urllib.request.Request(
                flux.url, body.encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                assert answer.status == 202
            return bool(eventually(lambda: received(receiver), timeout=3, what="probe"))

        eventually(passes, timeout=60, interval=1, what="an event through Flux's Alert")
        probes = len(received(receiver))

        config = tmp_path / "notifications.yaml"
        config.write_text(json.dumps({"sinks": {"flux": {"url": flux.url, "format": "flux"}}}))
        run_operator("--notifications-config", str(config))
        apply(kubectl, version("summarizer-v1"), version("summarizer-v2"))
        subscribed = release("summarizer-v1")
        subscribed["metadata"]["labels"] = dict(FLUX_LABELS)
        subscribed["metadata"]["annotations"] = {
            "notifications.promptrelease.io/subscribe.on-any.flux": ""
        }
        apply(kubectl, subscribed)
        released(kubectl, "summarizer-production", 1)
        subscribed["spec"]["version"] = "summarizer-v2"
        apply(kubectl, subscribed)
        released(kubectl, "summarizer-production", 2)

        def both() -> list[dict[str, Any]] | None:
            found = received(receiver)[probes:]
            return found if len(found) >= 2 else None

        events = eventually(both, timeout=30, what="both revisions through Flux")
    finally:
        receiver.stop()
    assert len(events) == 2, events
    first, second = events
    for event, revision, name in ((first, "1", "summarizer-v1"), (second, "2", "summarizer-v2")):
        assert event["involvedObject"]["kind"] == "Kustomization"
        assert event["involvedObject"]["name"] == "prompts"
        assert event["reason"] == "Released"
        assert event["reportingController"] == "prompt-release-operator"
        # Flux hands the event API group's metadata to its Providers without the prefix.
        metadata = event["metadata"]
        assert metadata["promptrelease"] == f"{namespace}/summarizer-production"
        assert (metadata["promptrevision"], metadata["version"]) == (revision, name)
        assert metadata["hash"].startswith("sha256:")
        assert f"Released revision {revision}: {name}" in event["message"]
