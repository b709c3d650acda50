"""What the operator's per-release metrics say, the series the chart's alerts select."""

from __future__ import annotations

from prompt_release.core.views import ReleaseView
from prompt_release.operator.metrics import _LiveReleases

BODY = {
    "apiVersion": "promptrelease.io/v1alpha1",
    "kind": "PromptRelease",
    "metadata": {
        "name": "summarizer-production",
        "namespace": "support",
        "uid": "u",
        "generation": 3,
    },
    "spec": {"prompt": "summarizer", "label": "production", "version": "summarizer-v2"},
}


def samples(status: dict[str, object]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    live = _LiveReleases()
    live.record(ReleaseView.of(BODY), status)
    found = {}
    for family in live.collect():
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


RELEASE = (("label", "production"), ("namespace", "support"), ("prompt", "summarizer"))


def of(
    name: str, found: dict[tuple[str, tuple[tuple[str, str], ...]], float], **extra: str
) -> float | None:
    labels = tuple(sorted({**dict(RELEASE), "release": "summarizer-production", **extra}.items()))
    return found.get((name, labels))


def test_an_aborted_canary_and_a_failed_verification_are_each_one_series_at_1() -> None:
    found = samples(
        {
            "revision": 4,
            "releasedAt": "2026-12-05T10:00:00Z",
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Stalled", "status": "False"},
            ],
            "canary": {
                "version": "summarizer-v3",
                "hash": "sha256:ab",
                "weight": 0,
                "phase": "Aborted",
            },
            "verification": {"phase": "Failed"},
        }
    )
    assert of("promptrelease_release_revision", found) == 4
    assert of("promptrelease_release_ready", found) == 1
    assert of("promptrelease_release_stalled", found) == 0
    assert of("promptrelease_release_released_timestamp_seconds", found) == 1796464800.0
    assert of("promptrelease_release_canary_phase", found, phase="Aborted") == 1
    assert of("promptrelease_release_canary_phase", found, phase="Progressing") is None
    assert of("promptrelease_release_verification_phase", found, phase="Failed") == 1
    assert of("promptrelease_releases", found) is None  # the count is by readiness only


def test_a_stalled_release_without_canary_is_not_ready_and_serves_no_weight() -> None:
    found = samples(
        {
            "conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "Stalled", "status": "True"},
            ]
        }
    )
    assert of("promptrelease_release_ready", found) == 0
    assert of("promptrelease_release_stalled", found) == 1
    assert of("promptrelease_release_canary_weight", found) == 0
    assert of("promptrelease_release_revision", found) is None
    assert found[("promptrelease_releases", (("ready", "false"),))] == 1
