"""How many tokens a model takes (prompt and answer together), for lint's `ContextWindow`.

`spec.model.contextWindow` says it for any model; without it, a model named in `WINDOWS` (by
the longest prefix of its name, after any `provider/`) has the window its provider documents,
and any other model is not checked. The answer's share is the largest output limit among the
parameters that set one (`max_tokens`, `max_completion_tokens`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WINDOWS: tuple[tuple[str, int], ...] = (
    ("gpt-3.5-turbo", 16_385),
    ("gpt-4", 8_192),
    ("gpt-4-32k", 32_768),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-1106", 128_000),
    ("gpt-4-0125", 128_000),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.5", 128_000),
    ("gpt-5", 400_000),
    ("o1", 200_000),
    ("o1-mini", 128_000),
    ("o1-preview", 128_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
    ("claude-", 200_000),
    ("gemini-1.5-pro", 2_097_152),
    ("gemini-1.5-flash", 1_048_576),
    ("gemini-2.0-flash", 1_048_576),
    ("gemini-2.5", 1_048_576),
    ("mistral-large", 131_072),
    ("llama-3.1", 131_072),
    ("llama-3.2", 131_072),
    ("llama-3.3", 131_072),
)
"""(name prefix, tokens) as the providers document them."""
OUTPUT_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens")


@dataclass(frozen=True)
class Window:
    """A model's context window and where the figure comes from."""

    tokens: int
    source: str


def integer(value: Any) -> int | None:
    """`value` when it is a JSON integer (a boolean is not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def window_of(model: Mapping[str, Any]) -> Window | None:
    """The window of `spec.model`: as declared, else from `WINDOWS`, else None."""
    declared = integer(model.get("contextWindow"))
    if declared is not None:
        return Window(declared, "spec.model.contextWindow")
    name = model.get("name")
    if not isinstance(name, str):
        return None
    bare = name.rsplit("/", 1)[-1].lower()
    known = [(prefix, tokens) for prefix, tokens in WINDOWS if bare.startswith(prefix)]
    if not known:
        return None
    prefix, tokens = max(known, key=lambda entry: len(entry[0]))
    return Window(tokens, f"the documented window of {prefix}* models")


def answer_share(model: Mapping[str, Any]) -> int:
    """The tokens the parameters keep for the answer (0 when none sets a limit)."""
    parameters = model.get("parameters")
    if not isinstance(parameters, Mapping):
        return 0
    limits = [integer(parameters.get(key)) for key in OUTPUT_LIMITS]
    return max([limit for limit in limits if limit is not None], default=0)
