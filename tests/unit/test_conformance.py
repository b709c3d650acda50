"""The conformance kit (`conformance/`), run by the Python SDK: every case must pass.

The TypeScript (`sdk/typescript/test/conformance.test.ts`) and Go (`sdk/go/conformance_test.go`)
SDKs run the same files; `make test` runs all three.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from prompt_release.core import canary as canary_schema
from prompt_release.core.canonical import canonical_json
from prompt_release.core.consumers import response_format_hash
from prompt_release.core.hashing import content_hash, without_null_members
from prompt_release.core.payload import PayloadError
from prompt_release.core.templates import is_portable
from prompt_release.sdk import MountedPrompt, RenderError, parse_payload
from prompt_release.sdk.consumer import consumer_annotations
from tests.conformance import kit
from tests.conformance.kit import expected_payload
from tests.conformance.outcomes import python_samples

KIT = kit.load()


def _cases(file: str) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in KIT[file]["cases"]]


def test_the_kit_covers_every_promise() -> None:
    assert len(KIT["hashes.json"]["cases"]) >= 3
    assert {c["expect"].get("error") for c in KIT["payloads.json"]["cases"]} >= {
        None,
        "hash",
        "format",
        "malformed",
        "unsafe-template",
    }
    counts = {c["keys"]["count"] for c in KIT["assignments.json"]["cases"]}
    assert counts == {10_000}
    assert any(c["expect"]["weight"] == 10 for c in KIT["assignments.json"]["cases"])


@pytest.mark.parametrize("case", _cases("hashes.json"))
def test_hashes(case: dict[str, Any]) -> None:
    canonical = canonical_json(without_null_members(case["spec"]))
    if "canonical" in case:
        assert canonical.decode() == case["canonical"]
    else:
        assert hashlib.sha256(canonical).hexdigest() == case["canonicalSha256"]
    assert content_hash(case["spec"]) == case["hash"]


@pytest.mark.parametrize("case", _cases("payloads.json"))
def test_payloads(case: dict[str, Any]) -> None:
    assert expected_payload(case["files"]) == case["expect"]


@pytest.mark.parametrize("case", _cases("renders.json"))
def test_renders(case: dict[str, Any]) -> None:
    files = next(c for c in KIT["payloads.json"]["cases"] if c["name"] == case["payload"])
    prompt = parse_payload(files["files"]["prompt.json"])
    assert ("pythonOnly" in case) == (not is_portable(prompt.template_format))
    expect = case["expect"]
    try:
        if prompt.is_chat:
            found: dict[str, Any] = {"messages": prompt.render_messages(**case["variables"])}
        else:
            output = prompt.render(**case["variables"])
            found = (
                {"output": output}
                if "output" in expect
                else {
                    "outputSha256": hashlib.sha256(output.encode()).hexdigest(),
                    "outputLength": len(output.encode()),
                }
            )
    except RenderError:
        assert "error" in expect, expect
        return
    assert found == expect


@pytest.mark.parametrize("case", _cases("assignments.json"))
def test_assignments(case: dict[str, Any]) -> None:
    split = canary_schema.parse(case["canary"]).split
    keys = case["keys"]
    chosen = "".join(
        "1" if split.serves_candidate(f"{keys['prefix']}{n}", case["attributes"]) else "0"
        for n in range(keys["count"])
    )
    assert split.weight_for(case["attributes"]) == case["expect"]["weight"]
    assert chosen == case["expect"]["assignment"]
    assert chosen.count("1") == case["expect"]["candidates"]


def lay_out(root: Path, step: int, files: dict[str, str]) -> None:
    """The files as the kubelet lays out a ConfigMap volume: `..data` -> a timestamped folder."""
    stamp = root / f"..2026_01_01_00_00_{step:02d}.{os.getpid()}"
    stamp.mkdir()
    for key, text in files.items():
        (stamp / key).write_text(text, encoding="utf-8")
    (root / "..data_tmp").symlink_to(stamp.name)
    os.rename(root / "..data_tmp", root / "..data")
    for key in ("prompt.json", "canary.json"):
        link = root / key
        if not link.is_symlink():
            link.symlink_to(Path("..data") / key)


@pytest.mark.parametrize("case", _cases("reloads.json"))
def test_reloads(case: dict[str, Any], tmp_path: Path) -> None:
    mounted: MountedPrompt | None = None
    for number, step in enumerate(case["steps"]):
        lay_out(tmp_path, number, step["files"])
        if mounted is None:
            mounted = MountedPrompt(tmp_path, check_interval=0)
        served = mounted.current
        candidate = mounted.candidate
        found = {
            "version": served.version,
            "hash": served.hash,
            "canary": None if candidate is None else candidate.version,
        }
        assert found == step["expect"], step["name"]


def test_a_tampered_payload_is_refused_at_start(tmp_path: Path) -> None:
    tampered = next(c for c in KIT["payloads.json"]["cases"] if c["name"] == "tampered-template")
    lay_out(tmp_path, 0, tampered["files"])
    with pytest.raises(PayloadError, match="altered"):
        MountedPrompt(tmp_path)


def test_the_kit_is_valid_json_with_one_trailing_newline() -> None:
    for name in kit.FILES:
        text = (kit.KIT / name).read_text(encoding="utf-8")
        assert text.endswith("}\n") and json.loads(text)


@pytest.mark.parametrize("case", _cases("consumers.json"))
def test_consumers(case: dict[str, Any]) -> None:
    if "responseFormat" in case:
        assert response_format_hash(case["responseFormat"]) == case["expect"]["hash"]
        return
    files = next(c for c in KIT["payloads.json"]["cases"] if c["name"] == case["payload"])
    prompt = parse_payload(files["files"]["prompt.json"])
    found = consumer_annotations(prompt, case.get("supplies"))
    assert found == case["expect"]["annotations"]


@pytest.mark.parametrize("case", _cases("outcomes.json"))
def test_outcomes(case: dict[str, Any]) -> None:
    files = next(c for c in KIT["payloads.json"]["cases"] if c["name"] == case["payload"])
    found = python_samples({"prompt.json": files["files"]["prompt.json"]}, case["steps"])
    expected = case["expect"]["samples"]
    assert [(s["name"], s["labels"]) for s in found] == [(s["name"], s["labels"]) for s in expected]
    assert [s["value"] for s in found] == pytest.approx([s["value"] for s in expected])
