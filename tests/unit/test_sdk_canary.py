"""`MountedPrompt.select`: the stable prompt or the canary's candidate, from mounted files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prompt_release.core import canary, payload
from prompt_release.core.hashing import content_hash
from prompt_release.sdk import MountedPrompt, metrics_text

SALT = canary.salt_for("uid", "h")


def _payload(version: str) -> dict[str, Any]:
    body = {"prompt": "summarizer", "template": f"{version}: {{x}}", "variables": ["x"]}
    return payload.build(
        body,
        label="production",
        version=version,
        content_hash=content_hash(body),
        revision=1,
        released_at="2026-11-28T00:00:00Z",
        changelog=None,
    )


def _mount(
    folder: Path, weight: float, segments: tuple[canary.Segment, ...] = (), salt: str = SALT
) -> MountedPrompt:
    for key, text in payload.data(_payload("v1")).items():
        (folder / key).write_text(text)
    document = canary.document(
        _payload("v2"), weight=weight, salt=salt, segments=segments, started_at="t"
    )
    (folder / canary.CANARY_KEY).write_text(canary.text(document))
    return MountedPrompt(folder, check_interval=0)


def test_select_is_sticky_per_key_and_close_to_the_weight(tmp_path: Path) -> None:
    prompt = _mount(tmp_path, 20)
    keys = [f"k{n}" for n in range(10_000)]
    first = {k for k in keys if prompt.select(key=k).variant == "canary"}
    again = {k for k in keys if prompt.select(key=k).variant == "canary"}
    assert first == again
    assert abs(len(first) / len(keys) - 0.20) < 0.015
    assert first == {k for k in keys if canary.bucket(SALT, k) < canary.threshold(20)}


def test_raising_the_weight_only_adds_keys_and_a_new_salt_reshuffles(tmp_path: Path) -> None:
    keys = [f"k{n}" for n in range(5000)]
    low = {k for k in keys if _mount(tmp_path, 10).select(key=k).variant == "canary"}
    prompt = _mount(tmp_path, 40)
    high = {k for k in keys if prompt.select(key=k).variant == "canary"}
    assert low < high
    other = _mount(tmp_path, 10, salt=canary.salt_for("uid", "another"))
    moved = {k for k in keys if other.select(key=k).variant == "canary"}
    assert len(moved & low) < len(low) / 2


def test_without_a_key_each_call_draws(tmp_path: Path) -> None:
    prompt = _mount(tmp_path, 50)
    variants = [prompt.select().variant for _ in range(400)]
    assert 100 < variants.count("canary") < 300


def test_segments_pick_their_weight_by_attribute(tmp_path: Path) -> None:
    segment = canary.Segment("plan", "In", ("enterprise",), 100)
    prompt = _mount(tmp_path, 0, (segment,))
    assert prompt.select(key="a", attributes={"plan": "enterprise"}).variant == "canary"
    assert prompt.select(key="a", attributes={"plan": "free"}).variant == "stable"
    assert prompt.select(key="a").variant == "stable"


def test_variants_in_traces_metrics_and_render_serves_stable(tmp_path: Path) -> None:
    prompt = _mount(tmp_path, 100)
    chosen = prompt.select(key="a")
    assert chosen.version == "v2" and chosen.render(x="1") == "v2: 1"
    assert chosen.tracing_attributes()["promptrelease.variant"] == "canary"
    assert prompt.render(x="1") == "v1: 1"  # plain render: the stable version
    assert "promptrelease.variant" not in prompt.tracing_attributes()
    text = metrics_text(prompt)
    (line,) = [x for x in text.splitlines() if x.startswith("promptrelease_prompt_selections")]
    assert 'variant="canary",version="v2"' in line and line.endswith(" 1")
    assert prompt.candidate is not None and prompt.candidate.version == "v2"


def test_a_bad_canary_json_serves_stable_to_all(tmp_path: Path) -> None:
    prompt = _mount(tmp_path, 100)
    document = json.loads((tmp_path / canary.CANARY_KEY).read_text())
    document["prompt"]["template"] = "tampered: {x}"
    (tmp_path / canary.CANARY_KEY).write_text(json.dumps(document))
    fresh = MountedPrompt(tmp_path, check_interval=0)
    assert fresh.canary is None and fresh.select(key="a").variant == "stable"
    assert prompt.select(key="a").variant in ("canary", "stable")
