"""The objects the bench submits: prompts (a PromptVersion and its PromptRelease), large
prompts, and ConfigMaps that have nothing to do with the operator."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prompt_release.core import payload

API = "promptrelease.io/v1alpha1"
LABEL = "production"
LARGE_BYTES = 300 * 1024

_WORDS = [
    "summarize",
    "ticket",
    "customer",
    "priority",
    "answer",
    "context",
    "refund",
    "order",
    "delivery",
    "account",
    "policy",
    "escalate",
    "tone",
    "concise",
    "bullet",
    "evidence",
    "detail",
    "product",
    "issue",
    "resolution",
    "history",
    "agent",
    "reply",
    "draft",
    "clarify",
    "verify",
    "language",
    "polite",
    "brief",
]


def large_text(seed: str, size: int = LARGE_BYTES) -> str:
    """About `size` bytes of prompt text, different per seed (so every hash differs), with one
    placeholder and no other braces."""
    rng = random.Random(seed)
    words: list[str] = [f"Prompt {seed}. Ticket: {{ticket}}."]
    length = len(words[0])
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def version(namespace: str, name: str, prompt: str, template: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "PromptVersion",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "prompt": prompt,
            "template": template or f"Summarize for {name}: {{ticket}}",
            "variables": ["ticket"],
            "model": {"provider": "openai", "name": "gpt-4o-mini"},
        },
    }


def release(namespace: str, prompt: str, version_name: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "PromptRelease",
        "metadata": {"name": f"{prompt}-{LABEL}", "namespace": namespace},
        "spec": {"prompt": prompt, "label": LABEL, "version": version_name},
    }


def release_status(version: str, revision: int, generation: int) -> dict[str, Any]:
    """A Ready status of the size the operator writes for a new revision (history of ten)."""
    at = "2026-01-01T00:00:00Z"
    digest = f"{revision:064x}"
    return {
        "observedGeneration": generation,
        "conditions": [
            {
                "type": kind,
                "status": "True" if kind == "Ready" else "False",
                "reason": "Released" if kind == "Ready" else kind,
                "message": f"revision {revision} ({version}) is live in ConfigMap path-{LABEL}",
                "lastTransitionTime": at,
                "observedGeneration": generation,
            }
            for kind in ("Ready", "Reconciling", "Stalled")
        ],
        "version": version,
        "hash": f"sha256:{digest}",
        "shortHash": digest[:12],
        "revision": revision,
        "releasedAt": at,
        "configMap": f"path-{LABEL}",
        "history": [
            {
                "revision": n,
                "version": f"path-v{n}",
                "hash": f"sha256:{n:064x}",
                "changelog": f"revision {n} of the path floor",
                "releasedAt": at,
                "releasedBy": "prompt-bench",
            }
            for n in range(revision, max(revision - 10, 0), -1)
        ],
    }


@dataclass(frozen=True)
class Prompt:
    namespace: str
    prompt: str
    large: bool = False

    @property
    def version(self) -> str:
        return f"{self.prompt}-v1"

    @property
    def release(self) -> str:
        return f"{self.prompt}-{LABEL}"

    def objects(self) -> list[dict[str, Any]]:
        text = large_text(f"{self.namespace}/{self.prompt}") if self.large else None
        return [
            version(self.namespace, self.version, self.prompt, text),
            release(self.namespace, self.prompt, self.version),
        ]


def prompts(namespace: str, count: int, large: int = 0) -> list[Prompt]:
    """`count` prompts, `large` of them (spread evenly) with a 300 KiB template."""
    step = count // large if large else 0
    return [
        Prompt(
            namespace, f"p{n:05d}", large=bool(step) and n % step == step // 2 and n // step < large
        )
        for n in range(count)
    ]


def large_data(seed: str) -> dict[str, str]:
    """The data of the ConfigMap the operator writes for a 300 KiB text prompt, in shape and
    size: the template in prompt.json (JSON-escaped, among the payload's other fields) and again
    in template.txt. The 300 KiB latency floor writes this, as no operator can write less."""
    spec = version("bench", seed, "big", large_text(seed))["spec"]
    body = payload.build(
        spec,
        label=LABEL,
        version=seed,
        content_hash="sha256:" + "0" * 64,
        revision=1,
        released_at="2026-01-01T00:00:00Z",
        changelog=None,
    )
    return payload.data(body)


def unrelated_config_map(namespace: str, n: int, size: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"unrelated-{n:05d}", "namespace": namespace},
        "data": {"settings.txt": large_text(f"unrelated-{n}", size)},
    }


def write(
    path: Path, objects: list[dict[str, Any]], annotate: dict[str, str] | None = None
) -> Path:
    """A multi-document manifest (JSON documents, which YAML reads), in the order given."""
    with path.open("w") as out:
        for obj in objects:
            if annotate:
                meta = obj["metadata"]
                obj = {
                    **obj,
                    "metadata": {
                        **meta,
                        "annotations": {**meta.get("annotations", {}), **annotate},
                    },
                }
            out.write(json.dumps(obj))
            out.write("\n---\n")
    return path
