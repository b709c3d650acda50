"""A transition as Flux's event API carries it: routed to the Flux object that applied the
release, the release named in metadata Flux keeps."""

from __future__ import annotations

from prompt_release.core.notify import Subject, Transition
from prompt_release.core.notify_flux import flux_event, involved_object

SUBJECT = Subject("support", "summarizer-production", "uid-1", "summarizer", "production")
RELEASED = Transition(
    "Released",
    "revision 3",
    "2026-12-05T10:00:00Z",
    3,
    {"version": "summarizer-v2", "hash": "sha256:" + "ab" * 32, "changelog": "Shorter bullets"},
)
KUSTOMIZED = {
    "kustomize.toolkit.fluxcd.io/name": "prompts",
    "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
}


def test_an_event_of_a_release_flux_applied_names_its_kustomization() -> None:
    event = flux_event(SUBJECT, RELEASED, "2026-12-05T10:00:01Z", KUSTOMIZED)
    assert event["involvedObject"] == {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "namespace": "flux-system",
        "name": "prompts",
    }
    assert (event["severity"], event["reason"], event["timestamp"]) == (
        "info",
        "Released",
        "2026-12-05T10:00:00Z",
    )
    assert event["message"] == (
        "PromptRelease support/summarizer-production: Released revision 3: summarizer-v2 "
        "(sha256:abababababab). Shorter bullets"
    )
    assert event["metadata"]["event.toolkit.fluxcd.io/promptrelease"] == (
        "support/summarizer-production"
    )
    assert event["metadata"]["event.toolkit.fluxcd.io/promptrevision"] == "3"
    assert event["metadata"]["event.toolkit.fluxcd.io/id"] == RELEASED.id("uid-1")
    assert all(key.startswith("event.toolkit.fluxcd.io/") for key in event["metadata"])
    assert event["reportingController"] == "prompt-release-operator"


def test_a_helm_release_applies_too_and_a_release_nobody_applied_is_its_own_object() -> None:
    helm = {"helm.toolkit.fluxcd.io/name": "app", "helm.toolkit.fluxcd.io/namespace": "apps"}
    assert involved_object(SUBJECT, helm)["kind"] == "HelmRelease"
    own = involved_object(SUBJECT, {"kustomize.toolkit.fluxcd.io/name": "half"})
    assert (own["kind"], own["name"], own["uid"]) == ("PromptRelease", SUBJECT.name, "uid-1")


def test_an_aborted_canary_is_an_error() -> None:
    aborted = Transition("CanaryAborted", "canary sha256:cd 2026", "2026-12-05T10:00:00Z", None, {})
    event = flux_event(SUBJECT, aborted, "2026-12-05T10:00:01Z", None)
    assert event["severity"] == "error"
    assert "promptrevision" not in str(event["metadata"])
