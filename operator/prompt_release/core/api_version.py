"""The PromptVersion models: an immutable snapshot of a prompt, and its status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from prompt_release.core.api_common import ApiModel, Condition, Hash, PromptName

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

MAX_TEMPLATE_CHARS = 1_048_576
MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 262_144
MAX_VARIABLES = 100


class ChatMessage(ApiModel):
    """One message of a chat prompt; `content` may hold placeholders."""

    role: Literal["system", "developer", "user", "assistant", "tool"] = Field(
        description="Who speaks: system, developer, user, assistant or tool."
    )
    content: str = Field(max_length=MAX_MESSAGE_CHARS, description="The message text.")
    name: str | None = Field(default=None, max_length=64, description="Optional participant name.")


class ModelSpec(ApiModel):
    """The model a prompt is written for; parameters are free-form and hashed as written."""

    provider: str | None = Field(default=None, max_length=63, description="e.g. openai.")
    name: str | None = Field(default=None, max_length=253, description="e.g. gpt-4o-mini.")
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="Free-form model parameters (temperature, max_tokens, ...).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True, "type": "object"},
    )


class PromptVersionSpec(ApiModel):
    """An immutable snapshot of a prompt: text or chat, variables, model."""

    prompt: PromptName = Field(description="The prompt family this version belongs to.")
    template: str | None = Field(
        default=None,
        max_length=MAX_TEMPLATE_CHARS,
        description="A text prompt. Exactly one of template and messages is set.",
    )
    messages: list[ChatMessage] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_MESSAGES,
        description="A chat prompt. Exactly one of template and messages is set.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    template_format: Literal["f-string", "jinja2", "mustache"] | None = Field(
        default=None,
        description="How placeholders are written; f-string when unset. mustache is portable: "
        "the Python, TypeScript and Go SDKs render it alike; f-string and jinja2 are "
        "Python-only.",
    )
    variables: list[Annotated[str, Field(max_length=128, pattern=IDENTIFIER)]] | None = Field(
        default=None,
        max_length=MAX_VARIABLES,
        description="Declared inputs; must match the placeholders in the template.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    model: ModelSpec | None = Field(default=None, description="The model this prompt targets.")
    description: str | None = Field(default=None, max_length=4096, description="Free text.")
    hash: Hash | None = Field(
        default=None,
        description="Optional pin: the version is refused when its content hash differs.",
    )


PROMPT_VERSION_SPEC_RULES = [
    {
        "rule": "self == oldSelf",
        "message": "PromptVersion spec is immutable: create a new PromptVersion for a new "
        "prompt text",
    },
    {
        "rule": "has(self.template) != has(self.messages)",
        "message": "set exactly one of spec.template (a text prompt) and spec.messages "
        "(a chat prompt)",
    },
]


class PromptVersionStatus(ApiModel):
    hash: str | None = Field(default=None, description="The content hash (see Hash).")
    short_hash: str | None = Field(default=None, description="The hash's first 12 hex digits.")
    observed_generation: int | None = None
    conditions: list[Condition] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    released_as: list[str] | None = Field(
        default=None, description="Labels of releases that serve this version now."
    )
    held_by: list[str] | None = Field(
        default=None, description="Releases that point here and so hold back its deletion."
    )
    portable: bool | None = Field(
        default=None,
        description="Whether every SDK (Python, TypeScript, Go) renders this version alike: "
        "true for mustache, false for the Python-only f-string and jinja2.",
    )
