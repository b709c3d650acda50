"""The conformance kit's source: versions and releases applied to the real operator, and the
ConfigMaps it writes for them, captured.

`python -m tests.conformance.generate` runs it on a fresh local control plane and writes the
kit (`conformance/`); `tests/integration/test_conformance_kit.py` runs it again and checks the
committed kit still holds what the operator writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from prompt_release.core.hashing import content_hash
from tests.kube import Kubectl, eventually
from tests.prompts import release, released, version

LABEL = "production"

BIG_PARAGRAPH = (
    "Read the ticket below and answer in the customer's language. Keep it short, quote the "
    "order number, and never promise a refund the policy does not allow. "
)

SNIPPET_NAME = "kit-snippet-v1"
SNIPPET: dict[str, Any] = {
    "prompt": "kit-snippet",
    "templateFormat": "mustache",
    "template": "Be brief with {{customer}}.\n",
    "variables": ["customer"],
}
"""A version the `mustache-composed` case includes (applied first; never released itself)."""

SPECS: dict[str, dict[str, Any]] = {
    # renders: every construct of the portable format
    "mustache-text": {
        "templateFormat": "mustache",
        "template": "Summarize this ticket for {{customer}} in {{count}} bullet points:\n"
        "{{ticket}}\n",
        "variables": ["customer", "count", "ticket"],
    },
    "mustache-sections": {
        "templateFormat": "mustache",
        "template": "{{#urgent}}URGENT: {{/urgent}}Ticket {{id}} from {{user.name}} "
        "({{user.plan}})\n{{#history}}\n- {{date}}: {{note}}\n{{/history}}\n{{^history}}\n"
        "No history.\n{{/history}}\nTags:{{#tags}} {{.}}{{/tags}}\n",
        "variables": ["urgent", "id", "user", "history", "tags"],
    },
    "mustache-raw": {
        "templateFormat": "mustache",
        "template": "{{{snippet}}} | {{snippet}} | {{& snippet}}",
        "variables": ["snippet"],
    },
    "mustache-delimiters": {
        "templateFormat": "mustache",
        "template": '{{=<% %>=}}Reply as JSON: {"name": "<% name %>", "note": "{{not a tag}}"}',
        "variables": ["name"],
    },
    "mustache-standalone": {
        "templateFormat": "mustache",
        "template": "{{! a comment the model never sees }}\nHello {{name}}\n  {{#admin}}\n"
        "  You may close tickets.\n  {{/admin}}\nBye\n",
        "variables": ["name", "admin"],
    },
    "mustache-values": {
        "templateFormat": "mustache",
        "template": "int={{i}} float={{f}} huge={{huge}} tiny={{tiny}} neg={{neg}} "
        "zero={{zero}} max={{max}} yes={{yes}} no={{no}} null=[{{nothing}}] "
        "missing=[{{obj.absent}}]{{#zero}}never{{/zero}}{{^no}} (no is false){{/no}}",
        "variables": [
            "i",
            "f",
            "huge",
            "tiny",
            "neg",
            "zero",
            "max",
            "yes",
            "no",
            "nothing",
            "obj",
        ],
    },
    "mustache-unicode": {
        "templateFormat": "mustache",
        "template": "Grüße, {{name}}! 你好 {{name}} 👋🏽 e\u0301 "
        "\u200f\u05e9\u05dc\u05d5\u05dd\u200e {{emoji}}",
        "variables": ["name", "emoji"],
    },
    "mustache-chat": {
        "templateFormat": "mustache",
        "messages": [
            {"role": "system", "content": "You are {{persona}}. Answer in {{language}}."},
            {"role": "user", "content": "{{#items}}* {{.}}\n{{/items}}{{question}}"},
        ],
        "variables": ["persona", "language", "items", "question"],
    },
    "mustache-big": {
        "templateFormat": "mustache",
        "template": BIG_PARAGRAPH * 1500 + "\nTicket: {{ticket}}\n",
        "variables": ["ticket"],
    },
    # the prompt's contract: typed variables (a format-2 payload), tools, a response format
    "mustache-typed": {
        "templateFormat": "mustache",
        "template": "{{#tone}}[{{tone}}] {{/tone}}{{count}} bullets for {{customer.name}}, "
        "score {{score}}, urgent={{urgent}}: {{ticket}}{{#tags}} #{{.}}{{/tags}}",
        "variables": [
            "ticket",
            {"name": "count", "type": "integer", "default": 3, "description": "Bullets."},
            {"name": "tone", "type": "string", "required": False},
            {"name": "customer", "type": "object", "default": {"name": "guest"}},
            {"name": "score", "type": "number", "required": False},
            {"name": "urgent", "type": "boolean", "default": False},
            {"name": "tags", "type": "array", "required": False},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup_order",
                    "parameters": {
                        "type": "object",
                        "properties": {"order": {"type": "string"}},
                        "required": ["order"],
                    },
                },
            }
        ],
        "responseFormat": {
            "name": "summary",
            "schema": {"type": "object", "properties": {"bullets": {"type": "array"}}},
        },
    },
    # composition: a format-3 payload, its text composed from an included version
    "mustache-composed": {
        "templateFormat": "mustache",
        "template": "{{> kit-snippet-v1}}\nSummarize {{ticket}}{{#tags}} #{{.}}{{/tags}}",
        "variables": ["customer", "ticket", "tags"],
        "includes": [{"name": SNIPPET_NAME, "hash": content_hash(SNIPPET)}],
    },
    # Python-only formats: every SDK verifies them; only Python renders them
    "fstring": {
        "template": "Summarize for {customer}: {ticket}",
        "variables": ["customer", "ticket"],
    },
    "jinja2": {
        "templateFormat": "jinja2",
        "template": "{% for t in tickets %}- {{ t }}\n{% endfor %}",
        "variables": ["tickets"],
    },
    # hashes: what RFC 8785 makes of the tricky parts of a spec
    "hash-unicode": {
        "templateFormat": "mustache",
        "template": "{{q}} — «ü» 𝄞 😀 \u2028 </script>&<b>",
        "variables": ["q"],
        "description": 'Quotes " and \\ backslashes, tabs\tand newlines\n, '
        "RTL \u200f\u05de\u05e8\u05e7\u200e",
        "model": {
            "provider": "openai",
            "name": "gpt-4o-mini",
            "parameters": {
                "é": 1,
                "e\u0301": 2,
                "\U0001f600": "astral key (sorts before U+FF61 in UTF-16)",
                "\uff61": "halfwidth ideographic full stop",
                "control": "\u0001\u001f\u007f",
                "line separator": "\u2028\u2029",
            },
        },
    },
    "hash-numbers": {
        "templateFormat": "mustache",
        "template": "{{x}}",
        "variables": ["x"],
        "model": {
            "parameters": {
                "temperature": 0.2,
                "top_p": 1.0,
                "max_tokens": 400,
                "huge": 1e21,
                "tiny": 1e-7,
                "small": 0.000001,
                "negative_zero": -0.0,
                "max_safe": 9007199254740991,
                "avogadro": 6.02214076e23,
                "third": 1 / 3,
                "smallest": 5e-324,
                "largest": 1.7976931348623157e308,
                "list": [1.5, -2, 3e-10, 100],
            }
        },
    },
    "hash-nulls": {
        "templateFormat": "mustache",
        "template": "{{x}}",
        "variables": ["x"],
        "description": None,
        "model": {
            "name": "m",
            "provider": None,
            "parameters": {"a": None, "keep": [1, None, {"b": None, "c": 2}], "d": {"e": None}},
        },
    },
}

CANARY_SEGMENTS = [
    {"attribute": "plan", "operator": "In", "values": ["enterprise"], "weight": 50},
    {"attribute": "beta", "operator": "Exists", "weight": 100},
    {"attribute": "region", "operator": "NotIn", "values": ["us", "ca"], "weight": 0},
    {"attribute": "tier", "operator": "DoesNotExist", "weight": 5},
]
CANARY_WEIGHTS = [10, 1, 33.333, 50, 100]
"""The weights a canary is captured at: 10 (with segments) first, then each of the others."""


def _prompt_of(case: str) -> str:
    return f"kit-{case}"


@dataclass
class Captured:
    """What the operator wrote: per case, the version's status hash and the ConfigMap data."""

    hashes: dict[str, str] = field(default_factory=dict)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    configmaps: dict[str, dict[str, str]] = field(default_factory=dict)
    canaries: list[tuple[float, list[dict[str, Any]], dict[str, str]]] = field(default_factory=list)
    reloads: list[dict[str, str]] = field(default_factory=list)


def apply(kubectl: Kubectl, *objects: dict[str, Any]) -> None:
    """One JSON List (kubectl reads JSON as JSON: escapes of astral characters and controls
    reach the API server as written, never through YAML)."""
    kubectl.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def _data(kubectl: Kubectl, name: str) -> dict[str, str]:
    return dict(kubectl.get("configmap", name)["data"])


def _released(kubectl: Kubectl, case: str, revision: int = 1) -> dict[str, str]:
    name = f"{_prompt_of(case)}-{LABEL}"
    try:
        status = released(kubectl, name, revision)["status"]
    except AssertionError as error:
        found = kubectl.get("promptrelease", name).get("status")
        raise AssertionError(f"{error}; the release says {found}") from error
    found = eventually(
        lambda: (lambda d: d if f'"revision": {revision}' in d.get("prompt.json", "") else None)(
            _data(kubectl, name)
        ),
        timeout=60,
        what=f"{name}'s ConfigMap at revision {revision}",
    )
    assert json.loads(found["prompt.json"])["hash"] == status["hash"]
    return found


def _canary_at(kubectl: Kubectl, name: str, weight: float) -> dict[str, str]:
    def probe() -> dict[str, str] | None:
        found = _data(kubectl, name)
        text = found.get("canary.json")
        return found if text and json.loads(text)["weight"] == weight else None

    return eventually(probe, timeout=60, interval=0.3, what=f"{name}'s canary.json at {weight}")


def run(kubectl: Kubectl) -> Captured:
    """Apply every case to the operator watching kubectl's namespace; what it wrote."""
    captured = Captured()
    snippet = version(SNIPPET_NAME, **SNIPPET)
    apply(kubectl, snippet)
    versions = [
        version(f"{_prompt_of(case)}-v1", _prompt_of(case), **spec) for case, spec in SPECS.items()
    ]
    apply(kubectl, *versions)
    apply(kubectl, *(release(f"{_prompt_of(c)}-v1", LABEL, _prompt_of(c)) for c in SPECS))
    for case, spec in SPECS.items():
        captured.configmaps[case] = _released(kubectl, case)
        captured.hashes[case] = kubectl.get("promptversion", f"{_prompt_of(case)}-v1")["status"][
            "hash"
        ]
        captured.specs[case] = {"prompt": _prompt_of(case), **spec}

    # reload: v1 released, then v2 (the kit derives tampered files from these)
    reload = "reload"
    text = "Answer {{customer}} about: {{ticket}}"
    apply(
        kubectl,
        *(
            version(
                f"kit-{reload}-v{n}",
                f"kit-{reload}",
                templateFormat="mustache",
                template=f"v{n}: {text}",
                variables=["customer", "ticket"],
            )
            for n in (1, 2)
        ),
    )
    apply(kubectl, release(f"kit-{reload}-v1", LABEL, f"kit-{reload}"))
    captured.reloads.append(_released(kubectl, reload))
    apply(kubectl, release(f"kit-{reload}-v2", LABEL, f"kit-{reload}"))
    captured.reloads.append(_released(kubectl, reload, 2))

    # canary: the reload prompt's v2 stable, a v3 candidate at each weight
    apply(
        kubectl,
        version(
            f"kit-{reload}-v3",
            f"kit-{reload}",
            templateFormat="mustache",
            template=f"v3 (candidate): {text}",
            variables=["customer", "ticket"],
        ),
    )
    name = f"kit-{reload}-{LABEL}"
    for weight in CANARY_WEIGHTS:
        segments = CANARY_SEGMENTS if weight == CANARY_WEIGHTS[0] else []
        body = {"version": f"kit-{reload}-v3", "weight": weight, "segments": segments}
        patch = json.dumps({"spec": {"canary": body}})
        kubectl("patch", "promptrelease", name, "--type=merge", "-p", patch)
        found = _canary_at(kubectl, name, weight)
        if segments:
            found = eventually(
                lambda: (lambda d: d if json.loads(d["canary.json"])["segments"] else None)(
                    _data(kubectl, name)
                ),
                timeout=60,
                what="canary.json with segments",
            )
        else:
            found = eventually(
                lambda w=weight: (  # type: ignore[misc]
                    lambda d: (
                        d
                        if not json.loads(d["canary.json"])["segments"]
                        and json.loads(d["canary.json"])["weight"] == w
                        else None
                    )
                )(_data(kubectl, name)),
                timeout=60,
                what="canary.json without segments",
            )
        captured.canaries.append((weight, segments, found))
    return captured
