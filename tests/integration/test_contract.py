"""The prompt's contract on the real API server with the operator running: typed variables,
tools and the response format, from `kubectl apply` to the SDK reading the ConfigMap."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core.hashing import content_hash
from prompt_release.sdk import OutputError, RenderError, parse_payload
from tests.conformance.scenario import SNIPPET, SNIPPET_NAME
from tests.integration.conftest import Prompt
from tests.kube import Kubectl, KubectlError, OperatorProcess, eventually
from tests.prompts import apply, condition, ready, release, released, version, wait_reason

pytestmark = pytest.mark.integration

KIT = Path(__file__).resolve().parents[2] / "conformance" / "hashes.json"
TYPED: list[Any] = [
    "ticket",
    {"name": "count", "type": "integer", "default": 3, "description": "How many bullets."},
    {"name": "tone", "type": "string", "required": False},
]
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
SUMMARY: dict[str, Any] = {
    "name": "ticket_summary",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"bullets": {"type": "array", "items": {"type": "string"}}},
        "required": ["bullets"],
    },
}


def typed_version(name: str, **spec: Any) -> dict[str, Any]:
    return version(
        name,
        templateFormat="mustache",
        template="{{#tone}}[{{tone}}] {{/tone}}Summarize {{ticket}} in {{count}} bullets.",
        variables=TYPED,
        **spec,
    )


def _invalid(kubectl: Kubectl, name: str) -> str:
    """The Ready=False message of an Invalid version."""

    def probe() -> str | None:
        found = condition(kubectl.get("promptversion", name))
        return found.get("message") if found.get("reason") == "Invalid" else None

    return str(eventually(probe, timeout=60, what=f"{name} to be Invalid"))


def test_a_typed_variable_version_releases_and_the_sdk_renders_it_with_defaults(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    v1 = typed_version("summarizer-v1", tools=[WEATHER], responseFormat=SUMMARY)
    apply(kubectl, v1, release("summarizer-v1"))
    live = released(kubectl, "summarizer-production", 1)
    stored = kubectl.get("promptversion", "summarizer-v1")
    assert stored["spec"]["variables"] == TYPED  # kept as written, nothing pruned or defaulted
    assert live["status"]["hash"] == content_hash(v1["spec"]) == stored["status"]["hash"]

    text = kubectl.get("configmap", "summarizer-production")["data"]["prompt.json"]
    assert json.loads(text)["format"] == 2
    prompt = parse_payload(text)  # verifies the hash, tools and responseFormat included
    assert prompt.render(ticket="Printer on fire") == "Summarize Printer on fire in 3 bullets."
    assert prompt.render(ticket="t", count=5, tone="dry") == "[dry] Summarize t in 5 bullets."
    with pytest.raises(RenderError, match="count must be integer, not string"):
        prompt.render(ticket="t", count="five")
    with pytest.raises(RenderError, match=r"missing variable\(s\): ticket"):
        prompt.render()
    assert prompt.tools == (WEATHER,) and prompt.response_format == SUMMARY
    assert prompt.validate_output('{"bullets": ["a"]}') == {"bullets": ["a"]}
    with pytest.raises(OutputError, match=r"at \$\.bullets\[0\]: 1 is not of type 'string'"):
        prompt.validate_output({"bullets": [1]})


def test_a_tool_schema_that_is_not_json_schema_is_invalid_naming_its_path(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    bad_tool = json.loads(json.dumps(WEATHER))
    bad_tool["function"]["parameters"]["properties"]["city"]["type"] = "strin"
    apply(kubectl, version("summarizer-v1"), release("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    before = kubectl.get("configmap", "summarizer-production")
    apply(kubectl, version("summarizer-v2", tools=[bad_tool]), release("summarizer-v2"))
    message = _invalid(kubectl, "summarizer-v2")
    assert "tools[0].function.parameters.properties.city.type: 'strin' is not valid" in message
    refused = wait_reason(kubectl, "summarizer-production", "VersionInvalid")
    assert "tools[0].function.parameters.properties.city.type" in condition(refused)["message"]
    after = kubectl.get("configmap", "summarizer-production")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    schema = {"type": "object", "required": "bullets"}
    apply(kubectl, version("summarizer-v3", responseFormat={"name": "s", "schema": schema}))
    assert "responseFormat.schema.required: 'bullets' is not of type 'array'" in _invalid(
        kubectl, "summarizer-v3"
    )


def test_the_api_server_refuses_what_the_schema_can_say(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    """The entry's type enum, its name, a tool's kind and a response format without a schema
    are refused at apply; the rest is the operator's (Invalid)."""
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        (
            version("summarizer-a", variables=[{"name": "ticket", "type": "text"}]),
            ("spec.variables[0].type", "Unsupported value"),
        ),
        (version("summarizer-b", variables=[{"type": "string"}]), ("spec.variables[0].name",)),
        (version("summarizer-c", variables=["ticket.title"]), ("spec.variables[0]",)),
        (
            version("summarizer-e", tools=[{**WEATHER, "type": "retrieval"}]),
            ("spec.tools[0].type", "Unsupported value"),
        ),
        (
            version("summarizer-f", responseFormat={"name": "x"}),
            ("spec.responseFormat.schema", "Required value"),
        ),
    ]
    for manifest, says in cases:
        with pytest.raises(KubectlError) as caught:
            apply(kubectl, manifest)
        assert all(part in str(caught.value) for part in says), (says, str(caught.value))

    apply(
        kubectl,
        version("summarizer-g", variables=[{"name": "ticket", "type": "integer", "default": "3"}]),
        version("summarizer-h", variables=[{"name": "ticket", "kind": "string"}]),
        version("summarizer-i", variables=["ticket", {"name": "ticket"}]),
        version("summarizer-j", tools=[WEATHER, WEATHER]),
    )
    assert "variables[0] (ticket): default is string, not integer" in _invalid(
        kubectl, "summarizer-g"
    )
    assert "variables[0] (ticket): unknown field(s) kind" in _invalid(kubectl, "summarizer-h")
    assert "variables lists a name more than once: ticket" in _invalid(kubectl, "summarizer-i")
    assert "tools: more than one function named get_weather" in _invalid(kubectl, "summarizer-j")


def test_the_hashes_of_versions_made_before_the_contract_are_unchanged(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    """Every hash vector of the conformance kit (captured before typed variables, tools and
    responseFormat existed) is still what the operator computes, and a typed version's hash
    is the offline one."""
    cases = json.loads(KIT.read_text(encoding="utf-8"))["cases"]
    items = [
        {
            "apiVersion": "promptrelease.io/v1alpha1",
            "kind": "PromptVersion",
            "metadata": {"name": f"old-{case['name']}"},
            "spec": case["spec"],
        }
        for case in cases
    ]
    items.append(version(SNIPPET_NAME, **SNIPPET))  # what the composed case includes
    # one JSON List: escapes of astral characters and controls reach the server as written
    kubectl.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    for case in cases:
        found = ready(kubectl, "promptversion", f"old-{case['name']}")
        assert found["status"]["hash"] == case["hash"], case["name"]
    known = (
        '{"prompt":"summarizer","template":"Summarize for summarizer-v9: {ticket}",'
        '"variables":["ticket"]}'
    )
    apply(kubectl, version("summarizer-v9"))
    assert ready(kubectl, "promptversion", "summarizer-v9")["status"]["hash"] == (
        "sha256:" + hashlib.sha256(known.encode()).hexdigest()
    )


def test_the_plugin_hashes_and_creates_typed_versions(
    prompt: Prompt, kubectl: Kubectl, operator: OperatorProcess, tmp_path: Path
) -> None:
    manifest = tmp_path / "v1.json"
    manifest.write_text(json.dumps(typed_version("summarizer-v1", tools=[WEATHER])))
    offline = prompt("hash", str(manifest), namespaced=False)
    assert offline.returncode == 0, offline.stderr
    apply(kubectl, json.loads(manifest.read_text()), release("summarizer-v1"))
    live = ready(kubectl, "promptversion", "summarizer-v1")["status"]["hash"]
    assert offline.stdout.split()[0] == live
    released(kubectl, "summarizer-production", 1)

    rendered = prompt("render", "summarizer", "-l", "production", "--var", "ticket=t")
    assert rendered.stdout == "Summarize t in 3 bullets.", rendered.stderr
    typed = prompt(
        "render", "summarizer", "-l", "production", "--var", "ticket=t", "--var", "count=5"
    )
    assert typed.stdout == "Summarize t in 5 bullets.", typed.stderr
    wrong = prompt(
        "render", "summarizer", "-l", "production", "--var", "ticket=t", "--var", "count=x"
    )
    assert wrong.returncode == 2 and "count must be integer, not string" in wrong.stderr

    template = tmp_path / "template.txt"
    template.write_text("Summarize {{ticket}} in {{count}} bullets for {{city}}.")
    schema = tmp_path / "schema.yaml"
    schema.write_text(json.dumps(SUMMARY["schema"]))
    created = prompt(
        "new-version",
        "summarizer",
        "--from",
        "summarizer-v1",
        "-f",
        str(template),
        "--tools",
        str(tmp_path / "none.yaml"),
        "--response-format",
        str(schema),
    )
    assert created.returncode == 2 and "none.yaml" in created.stderr  # a missing file is named
    (tmp_path / "none.yaml").write_text("[]\n")
    created = prompt(
        "new-version",
        "summarizer",
        "--from",
        "summarizer-v1",
        "-f",
        str(template),
        "--tools",
        str(tmp_path / "none.yaml"),
        "--response-format",
        str(schema),
    )
    assert created.returncode == 0, created.stderr
    spec = ready(kubectl, "promptversion", "summarizer-v2")["spec"]
    assert spec["variables"] == [TYPED[0], TYPED[1], "city"]  # typed entries kept, tone dropped
    assert "tools" not in spec and spec["responseFormat"] == {"schema": SUMMARY["schema"]}


def test_the_contract_example_releases_and_renders(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    example = Path(__file__).resolve().parents[2] / "manifests/examples/contract/ticket-triage.yaml"
    kubectl("apply", "-f", str(example))
    released(kubectl, "ticket-triage-production", 1)
    text = kubectl.get("configmap", "ticket-triage-production")["data"]["prompt.json"]
    prompt = parse_payload(text)
    system, user = prompt.render_messages(ticket="Printer on fire")
    assert system["content"].endswith(
        "at most 3 bullets. Look orders up with lookup_order before you cite one."
    )
    assert "tone" not in system["content"] and user["content"] == "Printer on fire"
    assert prompt.openai_response_format()["json_schema"]["name"] == "ticket_triage"
    assert prompt.validate_output({"bullets": ["Replace the fuser"], "priority": "high"})
    with pytest.raises(OutputError, match=r"at \$\.priority: 'urgent' is not one of"):
        prompt.validate_output({"bullets": [], "priority": "urgent"})
