"""Generate the CustomResourceDefinitions from the pydantic models.

`python -m prompt_release.core.crdgen crds charts/prompt-release-operator/crds` writes one YAML file
per kind into each folder; a unit test fails when the committed files differ from what this
produces, so the models stay the single source of truth.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from prompt_release import CRD_VERSION, GROUP
from prompt_release.core.api import ALL_KINDS, Kind

_KEEP = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "description",
}
LABELS = {
    "app.kubernetes.io/name": "prompt-release-operator",
    "app.kubernetes.io/part-of": "prompt-release-operator",
}


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Turn pydantic's JSON Schema into a Kubernetes structural schema."""
    if "$ref" in node:
        merged = dict(defs[node["$ref"].split("/")[-1]])
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
    if "anyOf" in node:  # Optional[X] -> X: absence, not null, means unset on the wire
        options = [option for option in node["anyOf"] if option.get("type") != "null"]
        if len(options) == 2:
            return _name_or_object(node, options, defs)
        if len(options) != 1:
            raise ValueError(f"unions other than Optional have no structural form: {node}")
        merged = dict(options[0])
        merged.update({k: v for k, v in node.items() if k not in {"anyOf", "default"}})
        return _structural(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _structural(child, defs) for name, child in value.items()}
        elif key == "items":
            out[key] = _structural(value, defs)
        elif key in _KEEP or key.startswith("x-kubernetes-"):
            out[key] = value
    if out.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("properties", None)
    return out


def _name_or_object(
    node: dict[str, Any], options: list[dict[str, Any]], defs: dict[str, Any]
) -> dict[str, Any]:
    """`str | Model` (a variable's plain name or its typed entry): a structural schema gives a
    node one type, so the node keeps any JSON value (x-kubernetes-preserve-unknown-fields) and
    carries both options' value validations, which the API server applies by the value's kind:
    the string's pattern and length to a name, the object's properties to an entry."""
    kinds = sorted(str(_structural(option, defs).get("type")) for option in options)
    if kinds != ["object", "string"]:
        raise ValueError(f"unions other than Optional and str | object have no form: {node}")
    merged: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
    for option in options:
        merged.update(
            {k: v for k, v in _structural(option, defs).items() if k not in {"type", "description"}}
        )
    if node.get("description"):
        merged["description"] = node["description"]
    return merged


def schema_of(model: type[Any]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _structural(raw, raw.get("$defs", {}))


def crd(kind: Kind) -> dict[str, Any]:
    spec = schema_of(kind.spec)
    spec["description"] = (kind.spec.__doc__ or "").strip()
    if kind.spec_rules:
        spec["x-kubernetes-validations"] = kind.spec_rules
    root: dict[str, Any] = {
        "type": "object",
        "description": kind.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
        },
    }
    version: dict[str, Any] = {"name": CRD_VERSION, "served": True, "storage": True}
    if kind.status is not None:
        status = schema_of(kind.status)
        status["description"] = "Observed state, written by the operator."
        root["properties"]["status"] = status
        version["subresources"] = {"status": {}}
    if kind.root_rules:
        root["x-kubernetes-validations"] = kind.root_rules
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{GROUP}", "labels": LABELS},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": kind.short_names,
                "categories": kind.categories,
            },
            "versions": [
                {
                    **version,
                    "additionalPrinterColumns": kind.printer_columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def render(kind: Kind) -> str:
    header = "# Generated by `make crds` from operator/prompt_release/core/api.py; do not edit.\n"
    return header + yaml.safe_dump(crd(kind), sort_keys=False, width=100)


def files() -> dict[str, str]:
    return {f"{kind.plural}.{GROUP}.yaml": render(kind) for kind in ALL_KINDS}


def main(argv: list[str]) -> int:
    for folder in argv or ["crds"]:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, text in files().items():
            (target / name).write_text(text)
            print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
