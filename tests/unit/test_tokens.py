"""Lint's token counts: the shipped vocabulary is the one tiktoken pins, counted offline, and
the budget and context-window warnings say what they counted against what."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

from prompt_release.core import context_windows, tokens
from prompt_release.core.lint import CONTEXT_WINDOW, TOKEN_BUDGET, flagged, token_limits

LONG = "Summarize the ticket below for the on-call engineer, briefly. " * 200


def test_the_shipped_vocabulary_is_the_one_tiktoken_pins() -> None:
    openai_public = importlib.import_module("tiktoken_ext.openai_public")
    source = inspect.getsource(openai_public.o200k_base)
    assert f'expected_hash="{tokens.SHA256}"' in source
    assert tokens.ranks_file()  # checked against that hash as it is read
    for alternative in tokens.PATTERN.split("|"):
        assert alternative in source.replace('r"""', "").replace('"""', "")


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("Hello, world!", 4), ("hello world", 2), ("<|endoftext|>", 7)],
)
def test_counts_are_o200k_base_counts(text: str, count: int) -> None:
    assert tokens.count(text) == count


def test_the_byte_bound_never_undercounts() -> None:
    for text in ("", "plain words", "ünïcödé 🙂 漢字", LONG, "\n\n  \t"):
        assert tokens.count(text) <= tokens.most(text)


def _spec(**model: Any) -> dict[str, Any]:
    return {"prompt": "p", "template": LONG + "{ticket}", "variables": ["ticket"], "model": model}


def test_over_its_budget_a_prompt_is_flagged_with_its_count() -> None:
    ((kind, message),) = token_limits(_spec(tokenBudget=100))
    taken = tokens.count(LONG + "{ticket}")
    assert kind == TOKEN_BUDGET
    assert message == (
        f"the prompt takes {taken} tokens (o200k_base, before variables are filled in), over "
        "its budget of 100 (spec.model.tokenBudget)"
    )
    assert token_limits(_spec(tokenBudget=taken)) == []


def test_the_answer_share_counts_against_the_context_window() -> None:
    taken = tokens.count(LONG + "{ticket}")
    assert token_limits(_spec(contextWindow=taken)) == []
    ((kind, message),) = token_limits(_spec(contextWindow=taken, parameters={"max_tokens": 1}))
    assert kind == CONTEXT_WINDOW
    expected = f"and 1 kept for the answer: {taken + 1} tokens, over the context window of {taken}"
    assert expected in message
    assert message.endswith("(spec.model.contextWindow)")


def test_tools_and_the_response_schema_are_counted() -> None:
    tool = {"type": "function", "function": {"name": "f", "description": "x " * 50}}
    spec = {"prompt": "p", "template": "hi", "tools": [tool], "model": {"tokenBudget": 20}}
    ((kind, _),) = flagged(spec)
    assert kind == TOKEN_BUDGET


@pytest.mark.parametrize(
    ("name", "window"),
    [
        ("gpt-4o-mini", 128_000),
        ("openai/gpt-4.1-nano", 1_047_576),
        ("gpt-4", 8_192),
        ("gpt-4-32k-0613", 32_768),
        ("claude-sonnet-4-5", 200_000),
        ("o1-mini", 128_000),
        ("o1", 200_000),
        ("my-fine-tune", None),
    ],
)
def test_well_known_models_have_their_documented_window(name: str, window: int | None) -> None:
    found = context_windows.window_of({"name": name})
    assert (found.tokens if found else None) == window


def test_a_declared_window_wins_and_unknown_models_are_unchecked() -> None:
    assert context_windows.window_of({"name": "gpt-4", "contextWindow": 50}) == (
        context_windows.Window(50, "spec.model.contextWindow")
    )
    assert token_limits({"prompt": "p", "template": LONG, "model": {"name": "mine"}}) == []
    assert token_limits({"prompt": "p", "template": LONG}) == []


def test_the_largest_output_limit_is_the_answer_share() -> None:
    parameters = {"max_tokens": 10, "max_completion_tokens": 30, "temperature": 0.2}
    assert context_windows.answer_share({"parameters": parameters}) == 30
    assert context_windows.answer_share({"parameters": {"max_tokens": True}}) == 0
    assert context_windows.answer_share({}) == 0
