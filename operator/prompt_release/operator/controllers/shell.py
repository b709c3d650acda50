"""What every reconciler is handed: the client, the stores, Events and our own writes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from prompt_release.kube import ApiError, Kube
from prompt_release.operator.runtime.events import EventRecorder
from prompt_release.operator.runtime.expectations import Expectations
from prompt_release.operator.stores import Stores


@dataclass(frozen=True)
class Shell:
    kube: Kube
    stores: Stores
    events: EventRecorder
    written: Expectations


def api_message(error: ApiError) -> str:
    """The API server's own words for a refusal."""
    try:
        found = json.loads(error.body)
    except ValueError:
        found = None
    if isinstance(found, dict) and found.get("message"):
        return str(found["message"])
    return str(error.reason or error)
