"""The PromptVersion models: an immutable snapshot of a prompt, and its status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue

from prompt_release.core.api_common import ApiModel, Condition, Hash, ObjectName, PromptName

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

MAX_TEMPLATE_CHARS = 1_048_576
MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 262_144
MAX_VARIABLES = 100
MAX_TOOLS = 128
MAX_INCLUDES = 32
FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"
JSON_SCHEMA: dict[str, JsonValue] = {"x-kubernetes-preserve-unknown-fields": True, "type": "object"}
"""A JSON Schema as written: kept whole by the API server, checked by the operator."""


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
    context_window: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="The model's context window in tokens (prompt and answer): a prompt that "
        "with the answer's share (max_tokens, ...) takes more gets a ContextWindow warning. "
        "Unset: the window documented for a well-known model name, else unchecked.",
    )
    token_budget: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="The most tokens the prompt's texts, tools and response schema may take "
        "(o200k_base, before variables are filled in); a larger one gets a TokenBudget warning.",
    )


class VariableSpec(ApiModel):
    """A typed variable. A plain name in `variables` is a required variable of any type."""

    name: str = Field(max_length=128, pattern=IDENTIFIER, description="The placeholder's name.")
    type: Literal["string", "number", "integer", "boolean", "object", "array"] | None = Field(
        default=None, description="The JSON type a value must have; any type when unset."
    )
    required: bool | None = Field(
        default=None,
        description="Whether a render must give it; true unless a default is given.",
    )
    default: Any = Field(
        default=None,
        description="The value a render uses when none is given; must be of `type`.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    description: str | None = Field(default=None, max_length=1024, description="What it is.")


Variable = Annotated[str, Field(max_length=128, pattern=IDENTIFIER)] | VariableSpec


class FunctionDefinition(ApiModel):
    """A function a model may call: its name, what it does, and its arguments' JSON Schema."""

    name: str = Field(pattern=FUNCTION_NAME, max_length=64, description="The function's name.")
    description: str | None = Field(default=None, max_length=4096, description="What it does.")
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="A JSON Schema of the arguments object (its root is `type: object`).",
        json_schema_extra=JSON_SCHEMA,
    )
    strict: bool | None = Field(default=None, description="Ask the API for strict arguments.")


class Tool(ApiModel):
    """A tool in the shape OpenAI-compatible APIs take: `{type: function, function: ...}`."""

    type: Literal["function"] = Field(
        description="function: the one kind of tool.", json_schema_extra={"enum": ["function"]}
    )
    function: FunctionDefinition = Field(description="The function definition.")


class ResponseFormat(ApiModel):
    """The structured output a consumer parses: a JSON Schema and the name APIs want for it."""

    name: str | None = Field(
        default=None, pattern=FUNCTION_NAME, max_length=64, description="The schema's name."
    )
    description: str | None = Field(default=None, max_length=4096, description="What it is.")
    schema_: dict[str, Any] = Field(
        alias="schema",
        description="The JSON Schema a model's output must satisfy.",
        json_schema_extra=JSON_SCHEMA,
    )
    strict: bool | None = Field(default=None, description="Ask the API for strict adherence.")


class Include(ApiModel):
    """Another PromptVersion whose template this one includes, pinned by its content hash."""

    name: ObjectName = Field(
        description="The included PromptVersion (same namespace); `{{> name}}` in the text "
        "marks where its template goes."
    )
    hash: Hash = Field(
        description="Its content hash: the include is refused when the version hashes otherwise."
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
    variables: list[Variable] | None = Field(
        default=None,
        max_length=MAX_VARIABLES,
        description="Declared inputs; must match the placeholders in the template. Each is a "
        "name or {name, type, required, default, description}.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    tools: list[Tool] | None = Field(
        default=None,
        max_length=MAX_TOOLS,
        description="Functions the model may call, with JSON Schema parameters.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
    response_format: ResponseFormat | None = Field(
        default=None, description="The JSON Schema a model's output must satisfy."
    )
    model: ModelSpec | None = Field(default=None, description="The model this prompt targets.")
    includes: list[Include] | None = Field(
        default=None,
        max_length=MAX_INCLUDES,
        description="Other PromptVersions this one includes, each pinned by name and hash; "
        "the operator composes them into the template at release time.",
        json_schema_extra={"x-kubernetes-list-type": "atomic"},
    )
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


class IncludedStatus(ApiModel):
    """One version of a composed version's closure."""

    name: str = Field(description="The included PromptVersion.")
    prompt: str | None = Field(default=None, description="The prompt it belongs to.")
    hash: str = Field(description="Its pinned content hash.")
    depth: int | None = Field(
        default=None, description="1 for a direct include, 2 for one of its includes, ..."
    )


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
    warnings: list[str] | None = Field(
        default=None,
        description="What looks wrong but doesn't stop a release (e.g. text that looks like an "
        "API key); `kubectl prompt lint` gives the same verdicts offline.",
    )
    includes: list[IncludedStatus] | None = Field(
        default=None,
        description="Every version this one includes, directly or not, as pinned: the closure "
        "a release of it serves.",
    )
    portable: bool | None = Field(
        default=None,
        description="Whether every SDK (Python, TypeScript, Go) renders this version alike: "
        "true for mustache, false for the Python-only f-string and jinja2.",
    )
