"""The consumer contract gate: `consumers.check` and its place in `decide`, without a cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prompt_release import API_VERSION as API
from prompt_release.core import consumers, payload
from prompt_release.core.consumers import (
    ACCEPTS_RESPONSE_FORMAT,
    SUPPLIES_VARIABLES,
    annotations_for,
    response_format_hash,
)
from prompt_release.core.decision import Observed, decide
from prompt_release.core.hashing import content_hash
from prompt_release.core.views import VersionView
from prompt_release.core.workloads import Workload
from prompt_release.plugin import parser as plugin
from prompt_release.sdk import consumer, load_payload
from prompt_release.sdk.consumer import consumer_annotations
from tests.unit.payloads import released
from tests.unit.test_decision import NOW, live
from tests.unit.test_release_plan import release, version

SCHEMA = {"type": "object", "properties": {"bullets": {"type": "array"}}}
FORMAT = {"name": "summary", "strict": True, "schema": SCHEMA}


def workload(name: str, annotations: dict[str, str] | None = None) -> Workload:
    """A Deployment mounting the ConfigMap p-production, its pod template annotated."""
    template = {
        "metadata": {"annotations": annotations or {}},
        "spec": {
            "containers": [{"name": "app"}],
            "volumes": [{"name": "p", "configMap": {"name": "p-production"}}],
        },
    }
    body = {"kind": "Deployment", "metadata": {"name": name}, "spec": {"template": template}}
    return Workload.of(body)


def check(spec: dict[str, Any], *found: Workload) -> consumers.Verdict:
    return consumers.check("p-v2", content_hash(spec), spec, found)


def test_a_required_variable_a_consumer_does_not_supply_makes_it_incompatible() -> None:
    spec = {"template": "{x} {y}", "variables": ["x", {"name": "y"}, {"name": "z", "default": 1}]}
    verdict = check(spec, workload("api", {SUPPLIES_VARIABLES: "x"}))
    (api,) = verdict.consumers
    assert api.state == consumers.INCOMPATIBLE and api.missing_variables == ("y",)
    assert not verdict.passed
    assert "Deployment api doesn't supply required variable(s) y" in verdict.message()


def test_variables_with_defaults_or_not_required_are_never_missing() -> None:
    spec = {"variables": ["x", {"name": "y", "required": False}, {"name": "z", "default": "a"}]}
    verdict = check(spec, workload("api", {SUPPLIES_VARIABLES: " x , ,"}))
    assert verdict.passed and verdict.consumers[0].state == consumers.COMPATIBLE


def test_a_consumer_that_declares_nothing_is_unchecked_and_never_blocks() -> None:
    verdict = check({"variables": ["x"], "responseFormat": FORMAT}, workload("quiet"))
    (quiet,) = verdict.consumers
    assert quiet.state == consumers.UNCHECKED and verdict.passed
    status = verdict.to_status()
    assert status["unchecked"] == ["Deployment quiet"] and status["incompatible"] == []
    assert "unchecked" in status["message"] and "quiet" in status["message"]


def test_the_response_format_must_be_one_the_consumer_accepts() -> None:
    spec = {"variables": ["x"], "responseFormat": FORMAT}
    wanted = response_format_hash(FORMAT)
    refused = check(spec, workload("p", {ACCEPTS_RESPONSE_FORMAT: "sha256:" + "0" * 64}))
    assert refused.consumers[0].unaccepted_response_format == wanted
    assert refused.consumers[0].unchecked == ("variables",)  # it says nothing of variables
    accepted = check(spec, workload("p", {ACCEPTS_RESPONSE_FORMAT: f"sha256:{'0' * 64},{wanted}"}))
    assert accepted.passed and accepted.consumers[0].state == consumers.COMPATIBLE


def test_a_version_without_a_response_format_asks_nothing_of_a_parser() -> None:
    verdict = check({"variables": ["x"]}, workload("p", {ACCEPTS_RESPONSE_FORMAT: "sha256:a"}))
    assert verdict.passed and verdict.consumers[0].unchecked == ("variables",)


def test_the_response_format_hash_is_the_canonical_hash_of_its_schema() -> None:
    reordered = {"schema": {"properties": {"bullets": {"type": "array"}}, "type": "object"}}
    assert response_format_hash(FORMAT) == response_format_hash(reordered)
    assert response_format_hash(FORMAT) == response_format_hash({**FORMAT, "name": "other"})
    with_null = {"schema": {**SCHEMA, "description": None}}
    assert response_format_hash(with_null) == response_format_hash(FORMAT)
    assert response_format_hash({"schema": {"type": "array"}}) != response_format_hash(FORMAT)
    assert response_format_hash(FORMAT).startswith("sha256:")


def test_the_annotations_for_a_version_satisfy_its_gate() -> None:
    spec = {"variables": ["x", {"name": "y", "default": 2}], "responseFormat": FORMAT}
    found = annotations_for(spec)
    assert found == {
        SUPPLIES_VARIABLES: "x,y",
        ACCEPTS_RESPONSE_FORMAT: response_format_hash(FORMAT),
    }
    assert check(spec, workload("api", found)).passed
    assert annotations_for(spec, supplies=["x"])[SUPPLIES_VARIABLES] == "x"
    assert annotations_for({"variables": []}) == {SUPPLIES_VARIABLES: ""}


def needs_y() -> dict[str, Any]:
    return version("p-v2", template="{x} {y}", variables=["x", "y"])


def test_decide_keeps_the_last_good_revision_while_a_consumer_is_incompatible() -> None:
    rel, config_map = live(release(), version())
    moved = {**rel, "spec": {**rel["spec"], "version": "p-v2"}}
    api = workload("api", {SUPPLIES_VARIABLES: "x"})
    seen = Observed(
        body=moved, version=VersionView.of(needs_y()), config_map=config_map, consumers=[api]
    )
    held = decide(seen, NOW)
    assert held.config_map is None and not held.ready
    assert held.status is not None and held.status["revision"] == 1
    ready = next(c for c in held.status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == consumers.CONSUMER_INCOMPATIBLE
    assert "Deployment api" in ready["message"] and "y" in ready["message"]
    assert held.status["consumers"]["incompatible"] == ["Deployment api"]
    assert [e.reason for e in held.events] == [consumers.CONSUMER_INCOMPATIBLE]

    supplied = workload("api", {SUPPLIES_VARIABLES: "x,y"})
    goes = decide(
        Observed(
            body={**moved, "status": held.status},
            version=VersionView.of(needs_y()),
            config_map=config_map,
            consumers=[supplied],
        ),
        NOW,
    )
    assert goes.config_map is not None and goes.ready
    assert goes.status is not None and goes.status["revision"] == 2
    assert goes.status["consumers"]["passed"] is True


def test_a_release_without_consumers_lists_none() -> None:
    rel, config_map = live(release(), version())
    assert "consumers" not in rel["status"]
    moved = {**rel, "spec": {**rel["spec"], "version": "p-v2"}}
    seen = Observed(body=moved, version=VersionView.of(needs_y()), config_map=config_map)
    goes = decide(seen, NOW)
    assert goes.ready and goes.status is not None and "consumers" not in goes.status


def test_decide_never_holds_the_live_revision_back() -> None:
    rel, config_map = live(release(), version())
    api = workload("api", {SUPPLIES_VARIABLES: "other"})
    again = decide(
        Observed(
            body=rel, version=VersionView.of(version()), config_map=config_map, consumers=[api]
        ),
        NOW,
    )
    assert again.ready and again.config_map is None
    assert again.planned_status["consumers"]["incompatible"] == ["Deployment api"]


def test_warn_releases_an_incompatible_version_with_a_warning() -> None:
    rel, config_map = live(release(consumerCheck="Warn"), version())
    moved = {**rel, "spec": {**rel["spec"], "version": "p-v2"}}
    api = workload("api", {SUPPLIES_VARIABLES: "x"})
    decided = decide(
        Observed(
            body=moved, version=VersionView.of(needs_y()), config_map=config_map, consumers=[api]
        ),
        NOW,
    )
    assert decided.ready and decided.config_map is not None
    assert consumers.CONSUMER_INCOMPATIBLE in [e.reason for e in decided.events]


def test_a_canary_candidate_passes_the_same_gate() -> None:
    rel, config_map = live(release(), version())
    canaried = {**rel, "spec": {**rel["spec"], "canary": {"version": "p-v2", "weight": 10}}}
    api = workload("api", {SUPPLIES_VARIABLES: "x"})
    seen = Observed(
        body=canaried,
        version=VersionView.of(version()),
        config_map=config_map,
        consumers=[api],
        candidate=VersionView.of(needs_y()),
    )
    held = decide(seen, NOW)
    assert held.config_map is None and held.status is not None
    ready = next(c for c in held.status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == consumers.CONSUMER_INCOMPATIBLE and "canary" in ready["message"]
    supplied = workload("api", {SUPPLIES_VARIABLES: "x,y"})
    started = decide(
        Observed(
            body=canaried,
            version=VersionView.of(version()),
            config_map=config_map,
            consumers=[supplied],
            candidate=VersionView.of(needs_y()),
        ),
        NOW,
    )
    assert started.config_map is not None and "canary.json" in started.config_map["data"]


def test_the_sdk_prints_the_annotations_of_a_mounted_prompt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "prompt": "p",
        "template": "{x}",
        "variables": [{"name": "x", "type": "string"}],
        "responseFormat": FORMAT,
    }
    for key, text in payload.data(released(spec)).items():
        (tmp_path / key).write_text(text)
    found = consumer_annotations(tmp_path)
    assert found == annotations_for(spec)
    assert consumer_annotations(load_payload(tmp_path), supplies=[]) == {
        SUPPLIES_VARIABLES: "",
        ACCEPTS_RESPONSE_FORMAT: response_format_hash(FORMAT),
    }
    assert consumer.main([str(tmp_path), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == found
    assert consumer.main([str(tmp_path / "absent")]) == 1


def test_the_plugin_prints_the_annotations_of_a_manifest_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"prompt": "p", "template": "{x}", "variables": ["x"], "responseFormat": FORMAT}
    manifest = {"apiVersion": API, "kind": "PromptVersion", "metadata": {"name": "p-v2"}}
    (tmp_path / "v.json").write_text(json.dumps({**manifest, "spec": spec}))
    argv = ["consumer-annotations", "-f", str(tmp_path / "v.json")]
    assert plugin.main([*argv, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == annotations_for(spec)
    assert plugin.main([*argv, "--supplies", "x,extra"]) == 0
    printed = capsys.readouterr().out
    assert f'{SUPPLIES_VARIABLES}: "extra,x"' in printed
    assert f'{ACCEPTS_RESPONSE_FORMAT}: "{response_format_hash(FORMAT)}"' in printed
    assert plugin.main([*argv, "p-v9"]) != 0
    assert "found 0 matching" in capsys.readouterr().err
