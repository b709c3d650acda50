"""successCondition: a small, safe expression over one query's `result`, parsed, never eval'd.

The grammar is the part of Argo Rollouts' conditions that a single number needs:

    condition  := or
    or         := and (("||" | "or") and)*
    and        := unary (("&&" | "and") unary)*
    unary      := ("!" | "not") unary | "(" or ")" | comparison
    comparison := operand ("<" | "<=" | ">" | ">=" | "==" | "!=") operand
    operand    := "result" | "result[0]" | number          (number: 0.05, -1, 2e-3)

so `result < 0.05`, `result[0] <= 0.02 && result >= 0` and `not (result > 1.5)` parse, and
anything else (a name other than result, a call, an attribute, arithmetic) is refused with
`ConditionError` naming where it stopped. `result[0]` is the single series' value, as Argo
writes it for a vector.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_LENGTH = 512

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<result>result\b(?:\s*\[\s*0\s*\])?)"
    r"|(?P<op><=|>=|==|!=|<|>|&&|\|\||!|\(|\))"
    r"|(?P<word>[A-Za-z_][A-Za-z_0-9]*))"
)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_WORDS = {"and": "&&", "or": "||", "not": "!"}


class ConditionError(ValueError):
    """A successCondition that doesn't parse: says what and where."""


@dataclass(frozen=True)
class Condition:
    """A parsed successCondition: call it with the query's value."""

    text: str
    _test: Callable[[float], bool]

    def __call__(self, result: float) -> bool:
        """True when the value meets the condition; NaN meets none (NaN is never a pass)."""
        if math.isnan(result):
            return False
        return self._test(result)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, column) of each token; ConditionError at the first that isn't one."""
    found: list[tuple[str, str, int]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            column = position + len(text[position:]) - len(text[position:].lstrip())
            raise ConditionError(f"unexpected {text[column]!r} at column {column + 1}")
        kind, value = match.lastgroup, match.group(match.lastgroup)
        column = match.start(kind)
        if kind == "word":
            if value not in _WORDS:
                raise ConditionError(
                    f"unknown name {value!r} at column {column + 1}: only result, numbers, "
                    "comparisons, and, or, not and parentheses"
                )
            kind, value = "op", _WORDS[value]
        found.append((kind, value, column))
        position = match.end()
    return found


class _Parser:
    """Recursive descent over the tokens; each rule returns a function of the result."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def parse(self) -> Callable[[float], bool]:
        if not self.tokens:
            raise ConditionError("it is empty: write a comparison such as result < 0.05")
        test = self._or()
        if self.at < len(self.tokens):
            _, value, column = self.tokens[self.at]
            raise ConditionError(f"unexpected {value!r} at column {column + 1}")
        return test

    def _peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _or(self) -> Callable[[float], bool]:
        parts = [self._and()]
        while self._peek() == "||":
            self.at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def _and(self) -> Callable[[float], bool]:
        parts = [self._unary()]
        while self._peek() == "&&":
            self.at += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def _unary(self) -> Callable[[float], bool]:
        if self._peek() == "!":
            self.at += 1
            inner = self._unary()
            return lambda r: not inner(r)
        if self._peek() == "(":
            self.at += 1
            inner = self._or()
            self._expect(")")
            return inner
        return self._comparison()

    def _comparison(self) -> Callable[[float], bool]:
        left = self._operand()
        _, value, column = self._next("a comparison (<, <=, >, >=, ==, !=)")
        if value not in _COMPARE:
            raise ConditionError(
                f"expected a comparison (<, <=, >, >=, ==, !=) at column {column + 1}, "
                f"found {value!r}"
            )
        right = self._operand()
        compare = _COMPARE[value]
        if left is None and right is not None:
            bound = right
            return lambda r: compare(r, bound)
        if right is None and left is not None:
            bound = left
            return lambda r: compare(bound, r)
        if left is None:
            return lambda r: compare(r, r)
        raise ConditionError(f"the comparison at column {column + 1} never reads result")

    def _operand(self) -> float | None:
        """A number, or None for result."""
        kind, value, column = self._next("result or a number")
        if kind == "result":
            return None
        if kind == "number":
            return float(value)
        raise ConditionError(f"expected result or a number at column {column + 1}, found {value!r}")

    def _next(self, wanted: str) -> tuple[str, str, int]:
        if self.at >= len(self.tokens):
            raise ConditionError(f"it ends where {wanted} was expected")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _expect(self, value: str) -> None:
        _, found, column = self._next(repr(value))
        if found != value:
            raise ConditionError(f"expected {value!r} at column {column + 1}, found {found!r}")


def parse(text: str) -> Condition:
    """The condition, or ConditionError saying why it doesn't parse."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"it is {len(text)} characters, over {MAX_LENGTH}")
    return Condition(text, _Parser(text).parse())
