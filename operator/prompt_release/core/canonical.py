"""RFC 8785 (JSON Canonicalization Scheme) in the standard library alone.

The workload SDK verifies hashes with it, so it must not need any third-party package.
"""

from __future__ import annotations

import json
import math
from typing import Any

_SAFE_INTEGER = 2**53


class CanonicalizationError(ValueError):
    """The value has no canonical JSON form (NaN, infinity, huge integer, bad key)."""


def _number(value: float) -> str:
    """ECMAScript's Number::toString: shortest round-trip digits, JS exponent rules."""
    if math.isnan(value) or math.isinf(value):
        raise CanonicalizationError(f"{value!r} is not a JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")  # repr is shortest round-trip
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)  # the decimal point's position
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exp = n - 1
        fraction = f".{digits[1:]}" if k > 1 else ""
        text = f"{digits[0]}{fraction}e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return sign + text


def number_text(value: int | float) -> str:
    """A JSON number as RFC 8785 writes it (ECMAScript's shortest form)."""
    if isinstance(value, int) and abs(value) >= _SAFE_INTEGER:
        raise CanonicalizationError(
            f"integer {value} is outside the range JSON numbers keep exactly (|n| < 2^53)"
        )
    return _number(float(value))


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) >= _SAFE_INTEGER:
            raise CanonicalizationError(
                f"integer {value} is outside the range JSON numbers keep exactly (|n| < 2^53)"
            )
        out.append(_number(float(value)))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise CanonicalizationError("object keys must be strings")
        out.append("{")
        for index, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise CanonicalizationError(f"{type(value).__name__} has no JSON form")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    out: list[str] = []
    _encode(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalizationError(f"text is not valid Unicode: {error.reason}") from error
