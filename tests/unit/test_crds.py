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
