"""The conformance kit: built from what the operator wrote (`scenario.Captured`), read by the
Python, TypeScript and Go SDKs' test suites alike.

Every payload in the kit is a ConfigMap value the operator wrote on the real control plane.
The failure cases are derived from those by the edits a ConfigMap can suffer: a template or a
hash changed by hand (the hash no longer verifies), an unknown format, broken JSON, and a few
unsafe templates written with a valid hash (what validation refuses, which every SDK refuses
at load too). Expected renders are the Python SDK's; the other SDKs must match them exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from prompt_release.core import canary as canary_schema
from prompt_release.core.canonical import canonical_json
from prompt_release.core.consumers import response_format_hash
from prompt_release.core.hashing import content_hash, without_null_members
from prompt_release.core.payload import Payload, PayloadError
from prompt_release.core.templates import TemplateError, is_portable
from prompt_release.sdk import RenderError, parse_canary, parse_payload
from prompt_release.sdk.consumer import consumer_annotations
from tests.conformance.outcomes import outcome_cases
from tests.conformance.scenario import SPECS, Captured

KIT = Path(__file__).resolve().parents[2] / "conformance"
FILES = (
    "hashes.json",
    "payloads.json",
    "renders.json",
    "assignments.json",
    "reloads.json",
    "consumers.json",
    "outcomes.json",
)
KEY_COUNT = 10_000
KEY_PREFIX = "user-"
BIG_OUTPUT = 4096
"""Outputs longer than this are kept as their SHA-256 and length, not their text."""

RENDERS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "text",
        "mustache-text",
        {"customer": "Ada", "count": 3, "ticket": "Printer <b>on</b> fire & \"smoking\" 'now'"},
    ),
    ("text-missing-variable", "mustache-text", {"customer": "Ada", "count": 3}),
    (
        "text-unexpected-variable",
        "mustache-text",
        {"customer": "Ada", "count": 3, "ticket": "t", "extra": 1},
    ),
    (
        "text-list-interpolated",
        "mustache-text",
        {"customer": "Ada", "count": [1, 2], "ticket": "t"},
    ),
    (
        "text-object-interpolated",
        "mustache-text",
        {"customer": {"name": "Ada"}, "count": 1, "ticket": "t"},
    ),
    (
        "sections-full",
        "mustache-sections",
        {
            "urgent": True,
            "id": 42,
            "user": {"name": "Ada", "plan": "pro"},
            "history": [
                {"date": "2026-01-02", "note": "opened"},
                {"date": "2026-01-03", "note": "escalated"},
            ],
            "tags": ["billing", "vip"],
        },
    ),
    (
        "sections-empty",
        "mustache-sections",
        {
            "urgent": False,
            "id": "7",
            "user": {"name": "Bo", "plan": "free"},
            "history": [],
            "tags": [],
        },
    ),
    ("raw-no-escaping", "mustache-raw", {"snippet": '<a href="x">&amp; \' ` = /</a>'}),
    ("delimiters", "mustache-delimiters", {"name": "Ada"}),
    ("standalone-admin", "mustache-standalone", {"name": "Ada", "admin": True}),
    ("standalone-not-admin", "mustache-standalone", {"name": "Ada", "admin": False}),
    (
        "values",
        "mustache-values",
        {
            "i": 3,
            "f": 1.5,
            "huge": 1e21,
            "tiny": 1e-7,
            "neg": -2.5,
            "zero": 0,
            "max": 9007199254740991,
            "yes": True,
            "no": False,
            "nothing": None,
            "obj": {},
        },
    ),
    ("unicode", "mustache-unicode", {"name": "Zoë", "emoji": "🦄"}),
    (
        "chat",
        "mustache-chat",
        {
            "persona": "a support agent",
            "language": "Deutsch",
            "items": ["a", "b"],
            "question": "Why?",
        },
    ),
    ("chat-missing-variable", "mustache-chat", {"persona": "p", "language": "l", "items": []}),
    ("big", "mustache-big", {"ticket": "Printer on fire"}),
    ("float-sum", "hash-numbers", {"x": 0.30000000000000004}),
    ("typed-defaults", "mustache-typed", {"ticket": "Printer on fire"}),
    (
        "typed-given",
        "mustache-typed",
        {
            "ticket": "t",
            "count": 5,
            "tone": "dry",
            "customer": {"name": "Ada"},
            "score": 0.5,
            "urgent": True,
            "tags": ["billing", "vip"],
        },
    ),
    ("typed-whole-float-is-an-integer", "mustache-typed", {"ticket": "t", "count": 2.0}),
    ("typed-wrong-type", "mustache-typed", {"ticket": "t", "count": "5"}),
    ("typed-fraction-not-an-integer", "mustache-typed", {"ticket": "t", "count": 2.5}),
    ("typed-boolean-not-a-number", "mustache-typed", {"ticket": "t", "score": True}),
    ("typed-missing-required", "mustache-typed", {"count": 1}),
    ("fstring", "fstring", {"customer": "Ada", "ticket": "t"}),
    ("jinja2", "jinja2", {"tickets": ["a", "b"]}),
]

UNSAFE = {
    "unsafe-partial": "Hello {{> footer}} {{name}}",
    "unsafe-dot-outside-section": "Everything: {{.}} {{name}}",
    "unsafe-not-a-name": "Hello {{user-name}} {{name}}",
    "unsafe-unclosed-section": "{{#items}}{{name}}",
    "unsafe-mismatched-close": "{{#a}}{{name}}{{/b}}",
    "unsafe-unclosed-tag": "Hello {{name",
}

ATTRIBUTE_SETS: list[dict[str, str]] = [
    {},
    {"region": "us"},
    {"plan": "enterprise", "region": "us"},
    {"beta": "1", "region": "ca"},
    {"region": "eu"},
    {"plan": "free", "region": "us", "tier": "gold"},
]


CONSUMERS: list[tuple[str, str, list[str] | None]] = [
    ("typed-every-variable", "mustache-typed", None),
    ("typed-supplied", "mustache-typed", ["tone", "ticket", "tone", "customer"]),
    ("typed-supplies-nothing", "mustache-typed", []),
    ("text-every-variable", "mustache-text", None),
    ("chat-every-variable", "mustache-chat", None),
]
"""(case, payload case, the variables the workload supplies: None for every declared one)."""


def consumer_cases(
    payload_files: dict[str, dict[str, str]], hashes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """consumers.json: the annotations a workload using each payload carries, and the hash of
    response formats whose schemas are the hash vectors' specs (unicode, numbers, nulls)."""
    found: list[dict[str, Any]] = []
    for name, case, supplies in CONSUMERS:
        prompt = parse_payload(payload_files[case]["prompt.json"])
        entry: dict[str, Any] = {"name": name, "payload": case}
        if supplies is not None:
            entry["supplies"] = supplies
        entry["expect"] = {"annotations": consumer_annotations(prompt, supplies)}
        found.append(entry)
    for vector in hashes:
        if "canonical" not in vector:
            continue  # the big one: the hash vectors cover it
        response_format = {"name": "vector", "strict": True, "schema": vector["spec"]}
        found.append(
            {
                "name": f"response-format-{vector['name']}",
                "responseFormat": response_format,
                "expect": {"hash": response_format_hash(response_format)},
            }
        )
    return found


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def _rehashed(payload: dict[str, Any]) -> str:
    """A payload written back with a hash that verifies (what a forger with the rules can do)."""
    spec = {key: payload[key] for key in payload["specFields"]}
    payload = {**payload, "hash": content_hash(spec)}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _kind_of(error: BaseException) -> str:
    """The error kinds every SDK reports: how the Python SDK's messages map onto them."""
    text = str(error)
    if isinstance(error, PayloadError):
        if any(
            reason in text
            for reason in (
                "not valid JSON",
                "must hold a JSON object",
                "malformed",
                "lacks the key",
            )
        ):
            return "malformed"
        if "has format" in text:
            return "format"
        if "altered" in text or "cannot be re-hashed" in text or "cannot verify" in text:
            return "hash"
        return "unsafe-template"
    if "missing variable" in text or "unexpected variable" in text or "wrong type" in text:
        return "variables"
    return "value"


def expected_payload(files: dict[str, str]) -> dict[str, Any]:
    try:
        prompt = parse_payload(files["prompt.json"])
    except PayloadError as error:
        return {"error": _kind_of(error)}
    found: dict[str, Any] = {
        "prompt": prompt.name,
        "label": prompt.label,
        "version": prompt.version,
        "hash": prompt.hash,
        "revision": prompt.revision,
        "templateFormat": prompt.template_format,
        "portable": is_portable(prompt.template_format),
        "variables": list(prompt.variables),
        "canary": None,
    }
    if prompt.payload.get("format") == 2 or prompt.tools or prompt.response_format is not None:
        found["contract"] = {
            "inputs": [
                {"name": v.name, "type": v.type or "", "required": v.required}
                for v in prompt.inputs
            ],
            "tools": [str(tool["function"]["name"]) for tool in prompt.tools],
            "responseFormat": (prompt.response_format or {}).get("name"),
        }
    if "canary.json" in files:
        try:
            canary = parse_canary(files["canary.json"])
            found["canary"] = {
                "version": canary.prompt.version,
                "hash": canary.prompt.hash,
                "weight": canary.weight,
            }
        except PayloadError as error:
            found["canaryError"] = _kind_of(error)
    return found


def _output(value: str) -> dict[str, Any]:
    if len(value) > BIG_OUTPUT:
        return {
            "outputSha256": hashlib.sha256(value.encode()).hexdigest(),
            "outputLength": len(value.encode()),
        }
    return {"output": value}


def expected_render(payload_text: str, variables: dict[str, Any]) -> dict[str, Any]:
    prompt = parse_payload(payload_text)
    try:
        if prompt.is_chat:
            return {"messages": prompt.render_messages(**variables)}
        return _output(prompt.render(**variables))
    except RenderError as error:
        return {"error": _kind_of(error.__cause__ or error)}


def build(captured: Captured) -> dict[str, Any]:
    """The kit's files, as JSON values, from what the operator wrote."""
    hashes = []
    for case in SPECS:
        canonical = canonical_json(without_null_members(captured.specs[case]))
        entry: dict[str, Any] = {"name": case, "spec": captured.specs[case]}
        if len(canonical) > BIG_OUTPUT:
            entry["canonicalSha256"] = hashlib.sha256(canonical).hexdigest()
        else:
            entry["canonical"] = canonical.decode()
        entry["hash"] = captured.hashes[case]
        assert content_hash(entry["spec"]) == entry["hash"], case
        hashes.append(entry)

    payload_files: dict[str, dict[str, str]] = {
        case: {"prompt.json": data["prompt.json"]} for case, data in captured.configmaps.items()
    }
    base = json.loads(captured.configmaps["mustache-text"]["prompt.json"])
    other = json.loads(captured.configmaps["mustache-raw"]["prompt.json"])
    tampered_template = {**base, "template": base["template"].replace("three", "four") + "!"}
    derived = {
        "tampered-template": json.dumps(tampered_template, indent=2) + "\n",
        "tampered-hash": json.dumps({**base, "hash": other["hash"]}, indent=2) + "\n",
        "tampered-variables": json.dumps({**base, "variables": ["customer", "count"]}, indent=2),
        "tampered-spec-fields": json.dumps(
            {**base, "specFields": [f for f in base["specFields"] if f != "template"]}, indent=2
        ),
        "no-spec-fields": json.dumps({k: v for k, v in base.items() if k != "specFields"}),
        "unknown-format": json.dumps({**base, "format": 99}, indent=2),
        "not-json": captured.configmaps["mustache-text"]["prompt.json"][:-20],
        "not-an-object": "[1, 2, 3]\n",
    }
    for case, template in UNSAFE.items():
        derived[case] = _rehashed({**base, "template": template, "variables": ["name"]})
    for case, text in derived.items():
        payload_files[case] = {"prompt.json": text}

    reloads = captured.reloads
    canary10 = captured.canaries[0][2]
    candidate = json.loads(canary10["canary.json"])
    tampered_canary = json.dumps(
        {**candidate, "prompt": {**candidate["prompt"], "template": "tampered {{customer}}"}},
        indent=2,
    )
    payload_files["canary"] = {
        "prompt.json": canary10["prompt.json"],
        "canary.json": canary10["canary.json"],
    }
    payload_files["canary-tampered"] = {
        "prompt.json": canary10["prompt.json"],
        "canary.json": tampered_canary,
    }
    payloads = [
        {"name": case, "files": files, "expect": expected_payload(files)}
        for case, files in payload_files.items()
    ]

    renders = []
    for name, case, variables in RENDERS:
        text = payload_files[case]["prompt.json"]
        entry = {
            "name": name,
            "payload": case,
            "variables": variables,
            "expect": expected_render(text, variables),
        }
        if not is_portable(parse_payload(text).template_format):
            entry["pythonOnly"] = True
        renders.append(entry)

    keys = [f"{KEY_PREFIX}{n}" for n in range(KEY_COUNT)]
    assignments = []
    for weight, segments, data in captured.canaries:
        parsed: canary_schema.Canary[Payload] = canary_schema.parse(data["canary.json"])
        for attributes in ATTRIBUTE_SETS if segments else [{}]:
            chosen = [parsed.split.serves_candidate(key, attributes) for key in keys]
            assignments.append(
                {
                    "name": f"weight-{weight}" + (f"-{json.dumps(attributes)}" if segments else ""),
                    "canary": data["canary.json"],
                    "attributes": attributes,
                    "keys": {"prefix": KEY_PREFIX, "count": KEY_COUNT},
                    "expect": {
                        "weight": parsed.split.weight_for(attributes),
                        "candidates": sum(chosen),
                        "assignment": "".join("1" if c else "0" for c in chosen),
                    },
                }
            )

    def served(files: dict[str, str]) -> dict[str, Any]:
        found = json.loads(files["prompt.json"])
        canary = json.loads(files["canary.json"])["version"] if "canary.json" in files else None
        return {"version": found["version"], "hash": found["hash"], "canary": canary}

    v1, v2 = reloads
    good_pair = {"prompt.json": canary10["prompt.json"], "canary.json": canary10["canary.json"]}
    steps = [
        ("v1 released", dict(v1), served(v1)),
        (
            "v2 tampered: v1 kept",
            {
                "prompt.json": json.dumps(
                    {
                        **json.loads(v2["prompt.json"]),
                        "template": "tampered {{customer}} {{ticket}}",
                    }
                )
            },
            served(v1),
        ),
        ("v2 released", dict(v2), served(v2)),
        (
            "v2 with a tampered canary: v2 alone kept",
            {"prompt.json": v2["prompt.json"], "canary.json": tampered_canary},
            served(v2),
        ),
        ("v2 with a canary", good_pair, served(good_pair)),
        (
            "broken JSON: the last good pair kept",
            {"prompt.json": v1["prompt.json"][:-30]},
            served(good_pair),
        ),
        ("prompt.json missing: the last good pair kept", {}, served(good_pair)),
        (
            "unsafe template with a valid hash: kept",
            {"prompt.json": derived["unsafe-partial"]},
            served(good_pair),
        ),
        ("v1 again (a rollback)", dict(v1), served(v1)),
    ]
    reload_cases = [
        {
            "name": "swaps",
            "steps": [{"name": n, "files": f, "expect": e} for n, f, e in steps],
        }
    ]
    return {
        "hashes.json": {"cases": hashes},
        "payloads.json": {"cases": payloads},
        "renders.json": {"cases": renders},
        "assignments.json": {"cases": assignments},
        "reloads.json": {"cases": reload_cases},
        "consumers.json": {"cases": consumer_cases(payload_files, hashes)},
        "outcomes.json": {"cases": outcome_cases(payload_files)},
    }


def write(kit: dict[str, Any], folder: Path = KIT) -> None:
    folder.mkdir(exist_ok=True)
    for name in FILES:
        (folder / name).write_text(_json(kit[name]), encoding="utf-8")


def load(folder: Path = KIT) -> dict[str, Any]:
    return {name: json.loads((folder / name).read_text(encoding="utf-8")) for name in FILES}


__all__ = ["KIT", "TemplateError", "build", "load", "write"]
