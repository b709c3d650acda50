"""What the kubelet does with a ConfigMap volume, played by a thread for workload processes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tests.integration.test_canary import KubeletVolume, data
from tests.kube import Kubectl

__all__ = ["Kubelet", "KubeletVolume"]


@dataclass
class Kubelet:
    """Copies the release's ConfigMap into a kubelet-style volume twice a second."""

    kubectl: Kubectl
    volume: KubeletVolume
    stop: threading.Event = field(default_factory=threading.Event)
    last: dict[str, str] | None = None

    def sync(self) -> None:
        found = data(self.kubectl)
        if found != self.last:
            self.volume.write(found)
            self.last = found

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.sync()
            except Exception:  # a failed read is retried on the next tick
                continue
