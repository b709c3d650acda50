"""Read YAML manifests the way kubectl does, so an offline hash equals the operator's.

kubectl turns YAML into JSON with go-yaml v2 rules, which differ from PyYAML's YAML 1.1 rules:
`1e3` and `1.5e3` are numbers there (strings in PyYAML), `y`/`n` are booleans, dates stay
strings, `1:30` is not a base-60 number, `08` is the number 8, `1_0.5` is 10.5 and `1e400`
(out of range) stays a string. Keys become strings as sigs.k8s.io/yaml makes them (`1`,
`true`, `0.5`), merge keys (`<<: *base`) are merged, and a JSON surrogate pair (`\ud83d\ude00`)
is one character. This loader resolves plain scalars and keys by kubectl's rules.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterator
from typing import Any

import yaml


class KubectlYAMLLoader(yaml.SafeLoader):
    """A SafeLoader whose implicit types match kubectl's YAML-to-JSON conversion."""


KubectlYAMLLoader.yaml_implicit_resolvers = {}  # start from nothing, add kubectl's rules

_BOOL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
)
_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_INT = re.compile(r"^[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$")
_FLOAT = re.compile(  # go-yaml removes underscores before it reads a number
    r"^(?:[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9_]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)) in _TRUE  # type: ignore[arg-type]


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int | float:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith(("0b", "0x", "0o")):
        return sign * int(digits, 0)
    if len(digits) > 1 and digits.startswith("0"):
        try:
            return sign * int(digits, 8)  # go-yaml: a leading zero means octal
        except ValueError:
            return sign * float(digits)  # `08` is no octal: go-yaml reads it as a float, 8
    return sign * int(digits)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float | str:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    value = float(text.replace("_", "").lower().replace(".inf", "inf").replace(".nan", "nan"))
    if math.isinf(value) and "inf" not in text.lower():
        return text  # out of range: go-yaml keeps the string (`1e400`)
    return value


def _construct_str(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """A string, with JSON-escaped surrogate pairs joined into one character."""
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if any("\ud800" <= char <= "\udfff" for char in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


def _float32_key(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'g', -1, 32): how sigs.k8s.io/yaml names a float key."""
    if math.isinf(value) or math.isnan(value):
        return {math.inf: "+Inf", -math.inf: "-Inf"}.get(value, "NaN")
    single = struct.unpack("f", struct.pack("f", value))[0]
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    for precision in range(10):  # the shortest digits that read back as the same float32
        text = f"{single:.{precision}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, _, exponent_text = text.partition("e")
    exponent = int(exponent_text)
    digits = mantissa.replace("-", "").replace(".", "").rstrip("0") or "0"
    sign = "-" if single < 0 else ""
    if exponent < -4 or exponent >= 6:  # Go uses %e past 6 digits for the shortest form
        fraction = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{fraction}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    if exponent >= len(digits) - 1:
        return sign + digits + "0" * (exponent - len(digits) + 1)
    if exponent >= 0:
        return f"{sign}{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
    return f"{sign}0.{'0' * (-exponent - 1)}{digits}"


def _key(key: Any) -> Any:
    """A mapping key as JSON needs it: sigs.k8s.io/yaml turns scalars into strings."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _float32_key(key)
    if key is None:
        return "null"
    return key


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)  # merge keys (`<<`) first, as go-yaml does
    pairs = loader.construct_pairs(node)
    return {_key(key): value for key, value in pairs}


for tag, pattern, first in (
    ("tag:yaml.org,2002:bool", _BOOL, list("yYnNtTfFoO")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"]),
):
    KubectlYAMLLoader.add_implicit_resolver(tag, pattern, first)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_all(text: str) -> Iterator[Any]:
    """Every non-empty document of a multi-document YAML (or JSON) text."""
    for document in yaml.load_all(text, Loader=KubectlYAMLLoader):
        if document is not None:
            yield document
