"""The release payload (`prompt.json`): the one schema the operator writes and the SDK reads.

Standard library only, so the workload SDK can import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prompt_release.core import variables as declared_variables
from prompt_release.core.canonical import CanonicalizationError
from prompt_release.core.hashing import content_hash
from prompt_release.core.templates import template_format_of
from prompt_release.core.variables import Variable

PAYLOAD_FORMAT = 1
TYPED_FORMAT = 2
"""The format of a payload whose `variables` hold typed entries: a reader that predates them
refuses it by its format (an upgrade message) instead of misreading the entries."""
COMPOSED_FORMAT = 3
"""The format of a payload composed from includes: its texts are composed, and `source` holds
them as written (what its hash covers); a reader that predates it refuses it by its format."""
READABLE_FORMATS = (PAYLOAD_FORMAT, TYPED_FORMAT, COMPOSED_FORMAT)
PAYLOAD_KEY = "prompt.json"
TEMPLATE_KEY = "template.txt"
SPEC_FIELDS = (
    "prompt",
    "template",
    "messages",
    "templateFormat",
    "variables",
    "model",
    "description",
    "tools",
    "responseFormat",
    "includes",
)
SOURCE_KEY = "source"
COMPOSED_HASH_KEY = "composedHash"


def composed_hash(payload: Mapping[str, Any]) -> str:
    """The content hash of a composed payload's served texts ({template} or {messages}): a
    reader checks the composed texts with it, as it checks the source with `hash`."""
    key = "template" if "template" in payload else "messages"
    return content_hash({key: payload.get(key)})


class PromptError(Exception):
    """Base of the errors a reader of released prompts sees."""


class PayloadError(PromptError):
    """The payload is missing, unreadable, of an unknown format, or fails its hash check."""


def build(
    version_spec: Mapping[str, Any],
    *,
    label: str,
    version: str,
    content_hash: str,
    revision: int,
    released_at: str,
    changelog: str | None,
    composed: Mapping[str, Any] | None = None,
    included: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The release payload (prompt.json). `specFields` lets a reader re-hash the spec.

    `variables` holds the entries as written (names, typed entries), so the payload re-hashes;
    a payload with typed entries is of format 2. `tools` and `responseFormat` are copied when
    the version has them: a reader that knows nothing of them reads the rest as before.
    A version with includes is served `composed` (format 3): `template` or `messages` hold the
    composed texts, `includes` names each `included` version with its hash, and `source` the
    texts and pins as written, so the payload still re-hashes to the version's hash."""
    entries = list(version_spec.get("variables") or [])
    payload: dict[str, Any] = {
        "format": _format_of(entries, composed),
        "prompt": version_spec["prompt"],
        "label": label,
        "version": version,
        "hash": content_hash,
        "revision": revision,
        "releasedAt": released_at,
        "changelog": changelog or "",
        "templateFormat": template_format_of(version_spec),
        "variables": entries,
        "model": version_spec.get("model"),
    }
    served = version_spec if composed is None else composed
    text_key = "template" if version_spec.get("template") is not None else "messages"
    payload[text_key] = served.get(text_key) or []
    for key in ("description", "tools", "responseFormat"):
        if version_spec.get(key) is not None:
            payload[key] = version_spec[key]
    if composed is not None:
        payload["includes"] = [
            {"prompt": item["prompt"], "version": item["name"], "hash": item["hash"]}
            for item in included
        ]
        payload[SOURCE_KEY] = {
            text_key: version_spec.get(text_key),
            "includes": version_spec.get("includes"),
        }
        payload[COMPOSED_HASH_KEY] = composed_hash(payload)
    payload["specFields"] = [key for key in SPEC_FIELDS if key in version_spec]
    return payload


def _format_of(entries: Sequence[Any], composed: Mapping[str, Any] | None) -> int:
    if composed is not None:
        return COMPOSED_FORMAT
    return TYPED_FORMAT if declared_variables.has_typed_entries(entries) else PAYLOAD_FORMAT


def data(payload: Mapping[str, Any]) -> dict[str, str]:
    """The ConfigMap keys: prompt.json always, template.txt for text prompts."""
    keys = {PAYLOAD_KEY: json.dumps(payload, indent=2, ensure_ascii=False) + "\n"}
    if "template" in payload:
        keys[TEMPLATE_KEY] = str(payload["template"])
    return keys


@dataclass(frozen=True)
class Payload:
    """One released prompt, exactly as the operator wrote it. Immutable: safe to share."""

    name: str
    label: str
    version: str
    hash: str
    revision: int
    released_at: str
    changelog: str
    template_format: str
    variables: tuple[str, ...]
    model: Mapping[str, Any] | None
    template: str | None
    messages: tuple[Mapping[str, Any], ...] | None
    payload: Mapping[str, Any] = field(repr=False)
    inputs: tuple[Variable, ...] = ()
    """Every declared variable with its type, whether it is required, and its default."""
    tools: tuple[Mapping[str, Any], ...] = ()
    """The function definitions the model may call, as the version declares them."""
    response_format: Mapping[str, Any] | None = None
    """`{name, schema, ...}`: the JSON Schema a model's output must satisfy, or None."""
    includes: tuple[Mapping[str, Any], ...] = ()
    """`{prompt, version, hash}` of each version composed into the texts (format 3)."""

    @property
    def is_chat(self) -> bool:
        return self.messages is not None


P = TypeVar("P", bound=Payload)


def document_of(text: str, key: str, format: int | tuple[int, ...]) -> dict[str, Any]:
    """The JSON object in the text of one ConfigMap key, refused unless it has this format
    (or one of these)."""
    formats = format if isinstance(format, tuple) else (format,)
    try:
        found = json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(f"{key} is not valid JSON: {error}") from error
    if not isinstance(found, dict):
        raise PayloadError(f"{key} must hold a JSON object")
    if found.get("format") not in formats or isinstance(found.get("format"), bool):
        raise PayloadError(
            f"{key} has format {found.get('format')!r}; this SDK reads format "
            f"{' or '.join(str(n) for n in formats)}: upgrade prompt-release-operator"
        )
    return found


def parse(text: str, *, verify: bool = True, into: type[P] = Payload) -> P:  # type: ignore[assignment]
    """The payload in the text of prompt.json; with `verify`, refused unless it re-hashes."""
    payload = document_of(text, PAYLOAD_KEY, READABLE_FORMATS)
    try:
        if verify:
            _verify(payload)
        messages = payload.get("messages")
        entries = payload.get("variables") or ()
        if not isinstance(entries, list | tuple):
            raise PayloadError(f"{PAYLOAD_KEY}: variables must be a list")
        return into(
            name=str(payload["prompt"]),
            label=str(payload["label"]),
            version=str(payload["version"]),
            hash=str(payload["hash"]),
            revision=int(payload["revision"]),
            released_at=str(payload.get("releasedAt", "")),
            changelog=str(payload.get("changelog") or ""),
            template_format=template_format_of(payload),
            variables=tuple(declared_variables.names(entries)),
            model=payload.get("model"),
            template=payload.get("template"),
            messages=None if messages is None else tuple(messages),
            payload=payload,
            inputs=declared_variables.declared(entries),
            tools=tuple(payload.get("tools") or ()),
            response_format=payload.get("responseFormat"),
            includes=tuple(payload.get("includes") or ()),
        )
    except KeyError as error:
        raise PayloadError(f"{PAYLOAD_KEY} lacks the key {error}") from error


def _verify(payload: Mapping[str, Any]) -> None:
    fields = payload.get("specFields")
    if not isinstance(fields, list):
        raise PayloadError(f"{PAYLOAD_KEY} lacks specFields: cannot verify its hash")
    source = payload.get(SOURCE_KEY) or {}
    if not isinstance(source, Mapping):
        raise PayloadError(f"{PAYLOAD_KEY}: {SOURCE_KEY} must be an object")
    try:
        spec = {key: source[key] if key in source else payload[key] for key in fields}
        computed = content_hash(spec)
        composed = composed_hash(payload) if source else None
    except (KeyError, CanonicalizationError) as error:
        raise PayloadError(f"{PAYLOAD_KEY} cannot be re-hashed: {error}") from error
    if computed != payload.get("hash"):
        raise PayloadError(
            f"{PAYLOAD_KEY} was altered: its content hashes to {computed}, not "
            f"{payload.get('hash')}"
        )
    if composed is not None and composed != payload.get(COMPOSED_HASH_KEY):
        raise PayloadError(
            f"{PAYLOAD_KEY} was altered: its composed text hashes to {composed}, not "
            f"{payload.get(COMPOSED_HASH_KEY)}"
        )
