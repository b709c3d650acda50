"""Manifests and waits shared by the integration tests and the benchmarks."""

from __future__ import annotations

import json
from typing import Any

from tests.kube import Kubectl, eventually

API = "promptrelease.io/v1alpha1"


def version(name: str, prompt: str = "summarizer", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt}
    if "messages" not in spec:
        body["template"] = f"Summarize for {name}: {{ticket}}"
        body["variables"] = ["ticket"]
    body.update(spec)
    return {"apiVersion": API, "kind": "PromptVersion", "metadata": {"name": name}, "spec": body}


def release(
    version_name: str, label: str = "production", prompt: str = "summarizer", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "PromptRelease",
        "metadata": {"name": f"{prompt}-{label}"},
        "spec": {"prompt": prompt, "label": label, "version": version_name, **spec},
    }


def apply(kubectl: Kubectl, *objects: dict[str, Any]) -> None:
    kubectl.apply("\n---\n".join(json.dumps(obj) for obj in objects))


def ready(kubectl: Kubectl, kind: str, name: str) -> dict[str, Any]:
    kubectl("wait", "--for=condition=Ready", f"{kind}/{name}", "--timeout=60s")
    return kubectl.get(kind, name)


def condition(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    found = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind]
    return found[0] if found else {}


def wait_reason(kubectl: Kubectl, name: str, reason: str, timeout: float = 60) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", name)
        return obj if condition(obj).get("reason") == reason else None

    return eventually(probe, timeout=timeout, what=f"{name} Ready reason {reason}")


def released(kubectl: Kubectl, name: str, revision: int, interval: float = 0.2) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = kubectl.get("promptrelease", name)
        status = obj.get("status", {})
        ok = status.get("revision") == revision and condition(obj).get("status") == "True"
        return obj if ok else None

    return eventually(probe, timeout=60, interval=interval, what=f"{name} at revision {revision}")
