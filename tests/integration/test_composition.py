"""Composition on the real API server with the operator running: a version includes a snippet
pinned by hash, the release serves the composed text and names both hashes, a snippet released
anew changes nothing until an including version pinning it is released, and each way a closure
can fail is named while the last good ConfigMap stays exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.hashing import content_hash
from prompt_release.sdk import parse_payload
from tests.integration.conftest import Prompt
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, condition, release, released, version, wait_reason

pytestmark = pytest.mark.integration

BUSY = "sha256:" + "0" * 64
EXAMPLE = Path(__file__).resolve().parents[2] / "manifests/examples/composition/support-reply.yaml"


def tone(name: str, text: str) -> dict[str, Any]:
    return version(name, prompt="tone", template=text, variables=["customer"])


def summarizer(name: str, *pins: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    marks = " ".join(f"{{{{> {p['metadata']['name']}}}}}" for p in pins)
    return version(
        name,
        template=text or f"{marks}\nSummarize {{ticket}}.",
        variables=["ticket", "customer"],
        includes=[{"name": p["metadata"]["name"], "hash": content_hash(p["spec"])} for p in pins],
    )


def includes_condition(obj: dict[str, Any]) -> dict[str, Any]:
    return condition(obj, "IncludesUpToDate")


def invalid(kubectl: Kubectl, name: str) -> str:
    def probe() -> str | None:
        found = condition(kubectl.get("promptversion", name))
        return found.get("message") if found.get("reason") == "Invalid" else None

    return str(eventually(probe, timeout=60, what=f"{name} to be Invalid"))


def test_a_snippet_released_anew_changes_nothing_until_an_including_version_is_released(
    kubectl: Kubectl, operator: OperatorProcess, prompt: Prompt
) -> None:
    tone_v1 = tone("tone-v1", "Be kind to {customer}.\n")
    summary_v1 = summarizer("summarizer-v1", tone_v1)
    apply(kubectl, tone_v1, release("tone-v1", prompt="tone"), summary_v1, release("summarizer-v1"))
    live = released(kubectl, "summarizer-production", 1)
    tone_hash, summary_hash = content_hash(tone_v1["spec"]), content_hash(summary_v1["spec"])
    assert live["status"]["hash"] == summary_hash
    config_map = kubectl.get("configmap", "summarizer-production")
    body = json.loads(config_map["data"]["prompt.json"])
    assert body["format"] == 3 and body["hash"] == summary_hash
    assert body["template"] == "Be kind to {customer}.\nSummarize {ticket}."
    assert body["includes"] == [{"prompt": "tone", "version": "tone-v1", "hash": tone_hash}]
    assert config_map["data"]["template.txt"] == body["template"]
    read = parse_payload(config_map["data"]["prompt.json"])  # re-hashes the source and the text
    assert read.render(ticket="T-1", customer="Ada") == "Be kind to Ada.\nSummarize T-1."
    stored = kubectl.get("promptversion", "summarizer-v1")["status"]
    assert stored["hash"] == summary_hash
    assert stored["includes"] == [
        {"name": "tone-v1", "prompt": "tone", "hash": tone_hash, "depth": 1}
    ]

    tone_v2 = tone("tone-v2", "Be very kind to {customer}.\n")
    apply(kubectl, tone_v2, release("tone-v2", prompt="tone"))
    released(kubectl, "tone-production", 2)

    def update_available() -> dict[str, Any] | None:
        found = kubectl.get("promptrelease", "summarizer-production")
        return found if includes_condition(found).get("reason") == "UpdateAvailable" else None

    waiting = eventually(update_available, timeout=30, what="UpdateAvailable")
    message = includes_condition(waiting)["message"]
    assert tone_hash in message and content_hash(tone_v2["spec"]) in message
    assert waiting["status"]["revision"] == 1
    assert waiting["status"]["includes"][0]["newer"]["version"] == "tone-v2"
    assert kubectl.get("configmap", "summarizer-production")["data"] == config_map["data"]

    deps = prompt("deps", "summarizer", "-l", "production", "-o", "json")
    assert deps.returncode == 0, deps.stderr
    tree = json.loads(deps.stdout)[0]
    assert tree["version"] == "summarizer-v1" and tree["hash"] == summary_hash
    assert tree["includes"][0]["pinned"] == tone_hash
    assert tree["includes"][0]["newer"][0]["hash"] == content_hash(tone_v2["spec"])
    table = prompt("deps", "summarizer-v1", "-l", "production")
    assert "tone-v1" in table.stdout and "production: tone-v2" in table.stdout

    summary_v2 = summarizer("summarizer-v2", tone_v2)
    apply(kubectl, summary_v2, release("summarizer-v2"))
    live = released(kubectl, "summarizer-production", 2)
    assert includes_condition(live)["status"] == "True"
    body = json.loads(kubectl.get("configmap", "summarizer-production")["data"]["prompt.json"])
    assert body["hash"] == content_hash(summary_v2["spec"])
    assert body["includes"][0]["hash"] == content_hash(tone_v2["spec"])


def test_missing_mismatched_cyclic_and_too_deep_includes_are_named_errors(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    tone_v1 = tone("tone-v1", "Be kind to {customer}.")
    good = summarizer("summarizer-v1", tone_v1)
    apply(kubectl, tone_v1, good, release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    served = kubectl.get("configmap", "summarizer-production")
    kubectl("delete", "promptversion", "tone-v1", "--wait=false")

    def held() -> dict[str, Any] | None:
        found = kubectl.get("promptversion", "tone-v1")
        return found if found.get("status", {}).get("heldBy") else None

    kept = eventually(held, timeout=30, what="tone-v1 held back by the release including it")
    assert kept["status"]["heldBy"] == ["summarizer-production"]

    mismatched = summarizer("summarizer-v2", tone_v1)
    mismatched["spec"]["includes"][0]["hash"] = BUSY
    missing = summarizer("summarizer-v3", tone("tone-gone", "x {customer}"))
    cycle_a = version("cycle-a", prompt="cycle", template="{{> cycle-b}}", variables=[])
    cycle_b = version("cycle-b", prompt="cycle", template="{{> cycle-a}}", variables=[])
    cycle_a["spec"]["includes"] = [{"name": "cycle-b", "hash": BUSY}]
    cycle_b["spec"]["includes"] = [{"name": "cycle-a", "hash": BUSY}]
    chain = [version("deep-0", prompt="deep", template="end", variables=[])]
    for level in range(1, 10):
        below = chain[-1]
        chain.append(
            version(
                f"deep-{level}",
                prompt="deep",
                template=f"{{{{> deep-{level - 1}}}}}",
                variables=[],
                includes=[{"name": f"deep-{level - 1}", "hash": content_hash(below["spec"])}],
            )
        )
    apply(kubectl, mismatched, missing, cycle_a, cycle_b, *chain)
    assert "IncludeHashMismatch" in invalid(kubectl, "summarizer-v2")
    assert "IncludeNotFound: PromptVersion tone-gone" in invalid(kubectl, "summarizer-v3")
    assert "IncludeCycle: includes form a cycle: cycle-a -> cycle-b -> cycle-a" in invalid(
        kubectl, "cycle-a"
    )
    assert "IncludeDepthExceeded" in invalid(kubectl, "deep-9")
    assert condition(kubectl.get("promptversion", "deep-8")).get("status") == "True"

    apply(kubectl, release("summarizer-v2", changelog="pins a hash tone-v1 doesn't have"))
    refused = wait_reason(kubectl, "summarizer-production", "IncludeHashMismatch")
    assert BUSY in condition(refused)["message"]
    assert refused["status"]["revision"] == 1
    apply(kubectl, release("summarizer-v3"))
    wait_reason(kubectl, "summarizer-production", "IncludeNotFound")
    assert kubectl.get("configmap", "summarizer-production")["data"] == served["data"]

    apply(kubectl, tone("tone-gone", "x {customer}"))  # the missing include arrives
    live = released(kubectl, "summarizer-production", 2)
    assert live["status"]["version"] == "summarizer-v3"


def test_the_composition_example_releases_and_renders(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    kubectl("apply", "-f", str(EXAMPLE))
    released(kubectl, "support-reply-production", 1)
    text = kubectl.get("configmap", "support-reply-production")["data"]["prompt.json"]
    read = parse_payload(text)
    assert read.render(customer="Ada", ticket="Printer on fire") == (
        "Answer Ada kindly and plainly; never promise a date you cannot keep.\n"
        "Reply to this ticket: Printer on fire\n"
    )
    assert [item["version"] for item in read.includes] == ["support-tone-v1"]
    live = kubectl.get("promptrelease", "support-reply-production")
    assert includes_condition(live)["reason"] == "UpToDate"
