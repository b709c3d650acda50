"""Token counts for lint, offline.

o200k_base, the vocabulary of OpenAI's GPT-4o, GPT-4.1, o-series and GPT-5 models, counted by
tiktoken from ranks shipped inside this package (`vocabulary/`, made by `make vocabulary`) and
checked against the SHA-256 tiktoken itself pins for them: tiktoken is handed the ranks, never
a URL, so nothing is fetched. For other providers' models a count is an estimate. The ranks
are loaded the first time a count is needed (docs/performance.md has what they cost).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files

import tiktoken

ENCODING = "o200k_base"
SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
"""The SHA-256 of `o200k_base.tiktoken`, as `tiktoken_ext.openai_public` pins it."""
PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
"""o200k_base's pre-tokenizer, as `tiktoken_ext.openai_public` defines it."""
SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


class VocabularyError(RuntimeError):
    """The shipped ranks are missing or aren't the ones tiktoken pins (a damaged install)."""


def ranks_file() -> bytes:
    """The ranks as tiktoken's `.tiktoken` file (a base64 token and its rank per line), checked."""
    packed = files("prompt_release.core").joinpath("vocabulary", f"{ENCODING}.tiktoken.gz")
    try:
        contents = gzip.decompress(packed.read_bytes())
    except (OSError, EOFError) as error:
        raise VocabularyError(f"the {ENCODING} vocabulary can't be read: {error}") from error
    digest = hashlib.sha256(contents).hexdigest()
    if digest != SHA256:
        raise VocabularyError(
            f"the {ENCODING} vocabulary has SHA-256 {digest}, not {SHA256}: reinstall the package"
        )
    return contents


@cache
def encoding() -> tiktoken.Encoding:
    """o200k_base, built once from the shipped ranks."""
    ranks: dict[bytes, int] = {}
    for line in io.BytesIO(ranks_file()):
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=ENCODING, pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=SPECIAL_TOKENS
    )


def count(text: str) -> int:
    """The tokens of `text`, special-token markers counted as plain text."""
    return len(encoding().encode_ordinary(text))


def count_all(texts: Sequence[str]) -> list[int]:
    """The tokens of each text, in this process."""
    return [count(text) for text in texts]


Counter = Callable[[Sequence[str]], list[int]]
_counter: Counter = count_all


def counter() -> Counter:
    """What lint counts with: `count_all` unless the process chose another (`use`)."""
    return _counter


def use(chosen: Counter) -> None:
    """Count with `chosen` from now on: the operator counts in a process of its own
    (`operator/token_counter.py`), so the vocabulary's memory leaves with it."""
    global _counter
    _counter = chosen


def most(text: str) -> int:
    """An upper bound on `count(text)` that needs no vocabulary: every token is at least one
    byte of UTF-8, so a text within a limit by this bound is within it by count."""
    return len(text.encode("utf-8", "surrogatepass"))
