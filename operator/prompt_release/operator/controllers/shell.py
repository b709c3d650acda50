"""What every reconciler is handed: the client, the stores, Events and our own writes."""

from __future__ import annotations

from dataclasses import dataclass

from prompt_release.kube import Kube
from prompt_release.operator.runtime.events import EventRecorder
from prompt_release.operator.runtime.expectations import Expectations
from prompt_release.operator.stores import Stores


@dataclass(frozen=True)
class Shell:
    kube: Kube
    stores: Stores
    events: EventRecorder
    written: Expectations
