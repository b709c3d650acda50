"""The CRDs in crds/ are generated from the models, and say what the API promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompt_release.core import crdgen
from prompt_release.core.api import KINDS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("folder", ["crds", "charts/prompt-release-operator/crds"])
def test_committed_crds_match_the_models(folder: str) -> None:
    generated = crdgen.files()
    committed = {
        path.name: path.read_text()
        for path in (REPO / folder).glob("*.yaml")
        if path.name in generated
    }
    assert committed == generated, f"{folder}/ drifted from the models: run `make crds`"


def test_names_categories_and_columns() -> None:
    version, release = (crdgen.crd(kind) for kind in KINDS)
    assert version["spec"]["names"]["shortNames"] == ["pver"]
    assert release["spec"]["names"]["shortNames"] == ["prel"]
    for crd in (version, release):
        assert crd["spec"]["names"]["categories"] == ["prompts"]
        assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    columns = [c["name"] for c in release["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["Prompt", "Label", "Version", "Revision", "Ready", "Age"]


def test_schema_bounds_and_rules() -> None:
    version, release = (crdgen.crd(kind) for kind in KINDS)
    vspec = version["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert vspec["required"] == ["prompt"]
    assert vspec["properties"]["templateFormat"]["enum"] == ["f-string", "jinja2", "mustache"]
    assert (
        vspec["properties"]["model"]["properties"]["parameters"][
            "x-kubernetes-preserve-unknown-fields"
        ]
        is True
    )
    assert {r["rule"] for r in vspec["x-kubernetes-validations"]} == {
        "self == oldSelf",
        "has(self.template) != has(self.messages)",
    }
    root = release["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    limit = root["properties"]["spec"]["properties"]["historyLimit"]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    assert "self.metadata.name == self.spec.prompt + '-' + self.spec.label" in {
        r["rule"] for r in root["x-kubernetes-validations"]
    }
    assert "default" not in str(root)  # nothing is defaulted: what is written is hashed


def test_a_variable_is_a_name_or_a_typed_entry() -> None:
    """One node for both: a name meets the string rules, an entry the object's properties."""
    version = crdgen.crd(KINDS[0])
    vspec = version["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    variables = vspec["properties"]["variables"]
    assert variables["x-kubernetes-list-type"] == "atomic"
    item = variables["items"]
    assert "type" not in item and item["x-kubernetes-preserve-unknown-fields"] is True
    assert item["pattern"] == "^[A-Za-z_][A-Za-z0-9_]*$" and item["maxLength"] == 128
    assert item["required"] == ["name"]
    assert item["properties"]["type"]["enum"] == [
        "string",
        "number",
        "integer",
        "boolean",
        "object",
        "array",
    ]
    assert item["properties"]["default"] == {
        "description": "The value a render uses when none is given; must be of `type`.",
        "x-kubernetes-preserve-unknown-fields": True,
    }


def test_tools_and_response_format_keep_their_schemas_whole() -> None:
    version = crdgen.crd(KINDS[0])
    vspec = version["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    tool = vspec["properties"]["tools"]["items"]
    assert tool["properties"]["type"]["enum"] == ["function"]
    function = tool["properties"]["function"]
    assert function["properties"]["name"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    assert function["properties"]["parameters"]["x-kubernetes-preserve-unknown-fields"] is True
    response = vspec["properties"]["responseFormat"]
    assert response["required"] == ["schema"]
    assert response["properties"]["schema"]["x-kubernetes-preserve-unknown-fields"] is True
