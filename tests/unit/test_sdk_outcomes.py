"""`MountedPrompt.record`, `track` and `feedback`: outcomes per variant, version and hash, in
Prometheus's text format (read back with prometheus_client's own parser)."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from prompt_release.core import canary, payload
from prompt_release.core.hashing import content_hash
from prompt_release.sdk import MountedPrompt, metrics_text
from prompt_release.sdk.outcomes import BUCKETS, Outcomes

SALT = canary.salt_for("uid", "h")


def _payload(version: str, name: str = "summarizer") -> dict[str, Any]:
    body = {"prompt": name, "template": f"{version}: {{x}}", "variables": ["x"]}
    return payload.build(
        body,
        label="production",
        version=version,
        content_hash=content_hash(body),
        revision=1,
        released_at="2026-11-28T00:00:00Z",
        changelog=None,
    )


def _mount(folder: Path, weight: float = 50) -> MountedPrompt:
    for key, text in payload.data(_payload("v1")).items():
        (folder / key).write_text(text)
    document = canary.document(
        _payload("v2"), weight=weight, salt=SALT, segments=(), started_at="t"
    )
    (folder / canary.CANARY_KEY).write_text(canary.text(document))
    return MountedPrompt(folder, check_interval=0)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, parsed by prometheus_client (which refuses bad text)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(text: str, name: str, **labels: str) -> float:
    matches = [
        value
        for (sample, found), value in _samples(text).items()
        if sample == name and set(labels.items()) <= set(found)
    ]
    return sum(matches)


def test_outcomes_are_counted_per_variant_with_version_and_hash(tmp_path: Path) -> None:
    prompt = _mount(tmp_path)
    stable, candidate = prompt.current, prompt.candidate
    assert candidate is not None
    prompt.record(stable, success=True, latency=0.3)
    prompt.record(candidate, success=False, latency=1.5, input_tokens=120, output_tokens=40)
    prompt.record(candidate, success=True, latency=0.05, cost=0.002, feedback=1)
    text = metrics_text(prompt)
    total = "promptrelease_responses_total"
    assert _value(text, total, variant="stable", outcome="success") == 1
    assert _value(text, total, variant="canary", outcome="error") == 1
    assert _value(text, total, variant="canary", hash=candidate.hash, version="v2") == 2
    assert _value(text, "promptrelease_tokens_total", variant="canary", type="input") == 120
    assert _value(text, "promptrelease_tokens_total", variant="canary", type="output") == 40
    assert _value(text, "promptrelease_cost_total", variant="canary") == pytest.approx(0.002)
    assert _value(text, "promptrelease_feedback_score_count", variant="canary") == 1
    duration = "promptrelease_response_duration_seconds"
    assert _value(text, f"{duration}_count", variant="canary") == 2
    assert _value(text, f"{duration}_sum", variant="canary") == pytest.approx(1.55)
    assert _value(text, f"{duration}_bucket", variant="canary", le="0.08") == 1
    assert _value(text, f"{duration}_bucket", variant="canary", le="+Inf") == 2
    assert _value(text, "promptrelease_prompt_info") == 1  # the info metric stays


def test_a_plain_read_is_the_stable_variant(tmp_path: Path) -> None:
    prompt = _mount(tmp_path)
    prompt.record(prompt.current)
    text = metrics_text(prompt)
    assert _value(text, "promptrelease_responses_total", variant="stable", version="v1") == 1


def test_track_times_the_block_and_an_exception_is_an_error(tmp_path: Path) -> None:
    prompt = _mount(tmp_path)
    chosen = prompt.current
    with prompt.track(chosen) as call:
        call.tokens(10, 5)
        call.cost(0.5)
    with pytest.raises(RuntimeError), prompt.track(chosen):
        raise RuntimeError("the model timed out")
    with prompt.track(chosen) as call:
        call.fail()
    text = metrics_text(prompt)
    total = "promptrelease_responses_total"
    assert _value(text, total, outcome="success") == 1
    assert _value(text, total, outcome="error") == 2
    assert _value(text, "promptrelease_response_duration_seconds_count") == 3
    assert _value(text, "promptrelease_tokens_total", type="output") == 5


def test_feedback_arrives_after_the_response(tmp_path: Path) -> None:
    prompt = _mount(tmp_path)
    prompt.feedback(prompt.current, 0.25)
    prompt.feedback(prompt.current, -1)
    text = metrics_text(prompt)
    assert _value(text, "promptrelease_feedback_score_sum") == -0.75
    assert _value(text, "promptrelease_feedback_score_count") == 2


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("latency", -1.0, "latency must be a finite number >= 0"),
        ("latency", math.nan, "latency must be a finite number >= 0"),
        ("input_tokens", 1.5, "input_tokens must be a whole number"),
        ("output_tokens", -3, "output_tokens must be a finite number >= 0"),
        ("cost", math.inf, "cost must be a finite number >= 0"),
        ("cost", "0.1", "cost must be a number, not str"),
        ("feedback", math.nan, "feedback must be a finite number"),
    ],
)
def test_bad_numbers_are_refused_naming_them_and_count_nothing(
    tmp_path: Path, field: str, value: Any, said: str
) -> None:
    prompt = _mount(tmp_path)
    with pytest.raises(ValueError, match=said):
        prompt.record(prompt.current, **{field: value})
    assert "promptrelease_responses_total" not in metrics_text(prompt)


def test_another_prompts_outcome_is_refused(tmp_path: Path) -> None:
    prompt = _mount(tmp_path)
    other = MountedPrompt(tmp_path, check_interval=0).current
    stranger = type(other)(**{**other.__dict__, "name": "translator"})
    with pytest.raises(ValueError, match="translator/production is not this prompt"):
        prompt.record(stranger)


def test_series_are_bounded_least_recently_used_first() -> None:
    outcomes = Outcomes(max_versions=3)

    class Chosen:
        name, label, variant = "p", "production", "canary"

        def __init__(self, version: str) -> None:
            self.version, self.hash = version, f"sha256:{version}"

    for version in ("v1", "v2", "v3", "v1", "v4"):
        outcomes.record(Chosen(version))
    kept = [key[1] for key, _ in outcomes.snapshot()]
    assert kept == ["v3", "v1", "v4"]  # v2 was used least recently
    assert outcomes.evicted == 1
    assert dict(outcomes.snapshot())[("canary", "v1", "sha256:v1")].responses["success"] == 2


def test_concurrent_records_all_count(tmp_path: Path) -> None:
    prompt = _mount(tmp_path)
    chosen = prompt.current

    def serve() -> None:
        for _ in range(500):
            prompt.record(chosen, latency=0.01)

    threads = [threading.Thread(target=serve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = metrics_text(prompt)
    assert _value(text, "promptrelease_responses_total", outcome="success") == 2000
    assert _value(text, "promptrelease_response_duration_seconds_bucket", le="0.01") == 2000
    assert len(BUCKETS) == 14
