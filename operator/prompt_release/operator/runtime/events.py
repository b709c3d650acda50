"""Kubernetes Events about the operator's objects, posted by the pass that decided them.

A pass posts its Events after its writes, on its own worker: what is in flight is bounded by
the workers, and an operator quiet on the wire has nothing left to say. A failed post is
logged, never retried: Events are for humans, and the status already says what happened."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from prompt_release.kube import namespace_terminating
from prompt_release.operator.clock import now_text

log = logging.getLogger("prompt_release")

Post = Callable[[str, dict[str, Any]], object]
"""Create one Event in a namespace (the Kubernetes client's call)."""


def event_body(
    involved: Mapping[str, Any], type: str, reason: str, message: str, component: str, now: str
) -> dict[str, Any]:
    """A core/v1 Event about `involved` (an object's body)."""
    meta = involved.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta.get('name')}.{secrets.token_hex(8)}",
            "namespace": meta.get("namespace"),
        },
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "type": type,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class EventRecorder:
    def __init__(self, post: Post, component: str) -> None:
        self._post = post
        self._component = component

    def event(self, involved: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        body = event_body(involved, type, reason, message, self._component, now_text())
        try:
            self._post(str(body["metadata"]["namespace"]), body)
        except Exception as error:
            if namespace_terminating(error):
                log.debug("Event %s not posted: its namespace is being deleted", reason)
            else:
                log.warning("Event %s not posted: %s", reason, error)
