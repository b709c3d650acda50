"""Read YAML manifests the way kubectl does, so an offline hash equals the operator's.

kubectl turns YAML into JSON with go-yaml v2 rules, which differ from PyYAML's YAML 1.1 rules:
`1e3` and `1.5e3` are numbers there (strings in PyYAML), `y`/`n` are booleans, dates stay
strings, and `1:30` is not a base-60 number. This loader resolves plain scalars by kubectl's
rules.
"""

from __future__ import annotations

import re
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
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)) in _TRUE  # type: ignore[arg-type]


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith(("0b", "0x", "0o")):
        return sign * int(digits, 0)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)  # go-yaml: a leading zero means octal
    return sign * int(digits)


for tag, pattern, first in (
    ("tag:yaml.org,2002:bool", _BOOL, list("yYnNtTfFoO")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
):
    KubectlYAMLLoader.add_implicit_resolver(tag, pattern, first)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
KubectlYAMLLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_all(text: str) -> Iterator[Any]:
    """Every non-empty document of a multi-document YAML (or JSON) text."""
    for document in yaml.load_all(text, Loader=KubectlYAMLLoader):
        if document is not None:
            yield document
