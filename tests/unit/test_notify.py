"""Notifications: subscriptions, the transitions a status records, the ledger's plan, the
CloudEvent and its signature."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

from prompt_release.core import notify, notify_config, notify_ledger
from prompt_release.core.notify import Subject, Subscriptions, Transition
from prompt_release.core.notify_config import ConfigError, Retry
from prompt_release.core.notify_ledger import Ledger

SINKS = ("audit", "chat")
P = notify.PREFIX
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def entry(revision: int, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "revision": revision,
        "version": f"v{revision}",
        "hash": f"sha256:{revision}",
        "releasedAt": at,
        **extra,
    }


def reasons(found: list[Transition]) -> list[str]:
    return [t.reason for t in found]


# -- subscriptions -------------------------------------------------------------------------


def test_the_subscribe_annotations_name_a_trigger_and_a_sink() -> None:
    found = notify.subscriptions(
        {f"{P}on-released.audit": "", f"{P}on-any.chat": "", "other": "x"}, "here", SINKS
    )
    assert found.problems == ()
    assert found.sinks() == ["audit", "chat"]
    assert found.wants("audit", "Released") and not found.wants("audit", "CanaryStarted")
    assert found.wants("chat", "CanaryStarted")


def test_an_unknown_trigger_or_sink_is_a_problem_naming_the_annotation() -> None:
    found = notify.subscriptions(
        {f"{P}on-relesed.audit": "", f"{P}on-released.pager": ""}, "PromptRelease x", SINKS
    )
    assert not found.found
    second, first = found.problems  # in the order of the annotations (sorted)
    assert "on-relesed.audit" in first and "no trigger 'on-relesed'" in first
    assert "no sink 'pager'" in second and "audit, chat" in second


def test_release_and_namespace_subscriptions_add_up() -> None:
    own = notify.subscriptions({f"{P}on-released.audit": ""}, "r", SINKS)
    shared = notify.subscriptions({f"{P}on-canary-started.chat": ""}, "ns", SINKS)
    both = own | shared
    assert both.wants("audit", "Released") and both.wants("chat", "CanaryStarted")


# -- transitions from the recorded status ---------------------------------------------------


def test_each_revision_is_released_rolled_back_or_rolled_back_on_failure() -> None:
    status = {
        "revision": 4,
        "history": [
            entry(
                4,
                "2026-12-05T10:04:00Z",
                restores=1,
                releasedBy="prompt-release-operator",
                changelog="Automatic rollback: web failed",
            ),
            entry(3, "2026-12-05T10:03:00Z", restores=1, releasedBy="alice"),
            entry(2, "2026-12-05T10:02:00Z", canary={"weight": 10}, promotion={"from": "s"}),
            entry(1, "2026-12-05T10:01:00Z"),
        ],
    }
    found = notify.transitions(status)
    assert reasons(found) == [
        "Released",
        "Released",
        "CanaryPromoted",
        "Promoted",
        "RolledBack",
        "RolledBackOnFailure",
    ]
    assert [t.revision for t in found] == [1, 2, 2, 2, 3, 4]


def test_a_canary_seen_running_then_ended_is_one_start_and_one_end() -> None:
    run = {"version": "v2", "hash": "sha256:2", "startedAt": "2026-12-05T10:00:00Z"}
    running = {"canary": {**run, "phase": "Progressing"}}
    aborted = {"canary": {**run, "phase": "Aborted", "reason": "AnalysisFailed"}}
    ended = {"lastCanary": {**run, "outcome": "AnalysisFailed", "endedAt": "2026-12-05T10:05Z"}}
    uid = "u"
    started = [t.id(uid) for t in notify.transitions(running)]
    while_aborted = {t.reason: t.id(uid) for t in notify.transitions(aborted)}
    after = {t.reason: t.id(uid) for t in notify.transitions(ended)}
    assert started == [while_aborted["CanaryStarted"]] == [after["CanaryStarted"]]
    assert while_aborted["AnalysisFailed"] == after["AnalysisFailed"]
    removed = {"lastCanary": {**run, "outcome": "Aborted", "endedAt": "2026-12-05T10:05:00Z"}}
    assert reasons(notify.transitions(removed)) == ["CanaryStarted", "CanaryAborted"]
    promoted = {"lastCanary": {**run, "outcome": "Promoted", "endedAt": "2026-12-05T10:05:00Z"}}
    assert reasons(notify.transitions(promoted)) == ["CanaryStarted"]  # the revision says it


def test_a_held_candidate_never_started_and_waits_for_approval() -> None:
    status = {
        "revision": 3,
        "canary": {
            "version": "v4",
            "hash": "sha256:4",
            "phase": "AwaitingApproval",
            "approval": {"version": "v4", "hash": "sha256:4", "state": "Pending"},
        },
        "approval": {"version": "v5", "hash": "sha256:5", "state": "Pending"},
        "promotion": {"state": "AwaitingEvidence", "candidate": "v6", "candidateHash": "h6"},
    }
    found = notify.transitions(status)
    assert reasons(found) == ["AwaitingApproval", "AwaitingApproval", "AwaitingEvidence"]
    assert all(t.time is None and t.revision == 3 for t in found)
    assert len({t.id("u") for t in found}) == 3


def test_the_id_depends_on_the_release_and_the_transition_only() -> None:
    one = notify.transitions({"history": [entry(1, "2026-12-05T10:00:00Z")]})[0]
    again = notify.transitions(
        {"history": [entry(2, "2026-12-05T11:00:00Z"), entry(1, "2026-12-05T10:00:00Z")]}
    )[0]
    assert one.id("a") == again.id("a") != one.id("b")


# -- the ledger's plan ----------------------------------------------------------------------


HISTORY: dict[str, Any] = {
    "revision": 3,
    "releasedAt": "2026-12-05T10:03:00Z",
    "history": [
        entry(3, "2026-12-05T10:03:00Z"),
        entry(2, "2026-12-05T10:02:00Z"),
        entry(1, "2026-12-05T10:01:00Z"),
    ],
}


def subs(*pairs: tuple[str, str]) -> Subscriptions:
    return notify.subscriptions({f"{P}{t}.{s}": "" for t, s in pairs}, "r", SINKS)


def test_a_new_subscription_hears_the_live_revision_not_the_whole_history() -> None:
    found = notify.transitions(HISTORY)
    chosen = notify_ledger.plan(
        found, subs(("on-released", "audit")), Ledger(), "u", HISTORY["releasedAt"], NOW
    )
    assert [t.revision for t in chosen.due["audit"]] == [3]
    assert chosen.ledger.sinks["audit"].since == "2026-12-05T10:03:00Z"


def test_what_was_delivered_is_not_due_again_and_ids_no_longer_recorded_go() -> None:
    found = notify.transitions(HISTORY)
    ledger = Ledger({"audit": notify_ledger.SinkState("2026-12-05T10:00:00Z", ("gone",))})
    for t in found[:2]:
        ledger = notify_ledger.delivered(ledger, "audit", t.id("u"))
    chosen = notify_ledger.plan(found, subs(("on-released", "audit")), ledger, "u", "", NOW)
    assert [t.revision for t in chosen.due["audit"]] == [3]
    assert "gone" in chosen.ledger.sinks["audit"].delivered  # one of the last RECENT
    assert notify_ledger.Ledger.of_data(chosen.ledger.to_data()) == chosen.ledger


def test_a_failing_sink_waits_for_its_retry_time_and_backs_off() -> None:
    found = notify.transitions(HISTORY)
    first = found[0].id("u")
    ledger = Ledger({"audit": notify_ledger.SinkState("2026-12-05T10:00:00Z")})
    retry = Retry(base=2, cap=5)
    ledger, delay, news = notify_ledger.failed(
        ledger, "audit", first, ("WebhookRejected", "500"), NOW, retry
    )
    assert (delay, news) == (2, True)
    chosen = notify_ledger.plan(found, subs(("on-released", "audit")), ledger, "u", "", NOW)
    assert "audit" not in chosen.due and chosen.wait == 2
    later = NOW + dt.timedelta(seconds=3)
    chosen = notify_ledger.plan(found, subs(("on-released", "audit")), ledger, "u", "", later)
    assert chosen.due["audit"][0].id("u") == first
    ledger, delay, news = notify_ledger.failed(
        ledger, "audit", first, ("WebhookRejected", "500"), later, retry
    )
    assert (delay, news) == (4, False)
    ledger, delay, news = notify_ledger.failed(
        ledger, "audit", first, ("WebhookUnreachable", "timeout"), later, retry
    )
    assert (delay, news) == (5, True)  # capped; another cause is news
    assert ledger.sinks["audit"].failure is not None
    assert ledger.sinks["audit"].failure.attempts == 3
    ledger = notify_ledger.delivered(ledger, "audit", first)
    assert ledger.sinks["audit"].failure is None


def test_subscription_problems_are_told_once() -> None:
    bad = notify.subscriptions({f"{P}on-nothing.audit": ""}, "r", SINKS)
    chosen = notify_ledger.plan([], bad, Ledger(), "u", "", NOW)
    assert chosen.problems is not None and "on-nothing" in chosen.problems
    again = notify_ledger.plan([], bad, chosen.ledger, "u", "", NOW)
    assert again.problems is None


def test_the_ledger_name_never_is_a_release_configmap_name() -> None:
    assert notify_ledger.ledger_name("summarizer-production") == "notified.summarizer-production"
    long = notify_ledger.ledger_name("a-" + "b" * 250)
    assert len(long) == 253 and long.startswith("notified.a-b")


# -- the CloudEvent -------------------------------------------------------------------------


def test_the_event_is_structured_cloudevents_signed_over_the_exact_body() -> None:
    subject = Subject("support", "summarizer-production", "uid-1", "summarizer", "production")
    transition = notify.transitions(HISTORY)[-1]
    body = notify.encode(notify.cloud_event(subject, transition, "2026-12-05T12:00:00Z"))
    headers = notify.headers(b"k3y", body)
    event = from_http(
        HTTPMessage(headers={"content-type": headers["Content-Type"]}, body=body), JSONFormat()
    )
    assert event.get_id() == transition.id("uid-1")
    assert event.get_type() == "io.promptrelease.release.Released"
    assert event.get_source() == (
        "/apis/promptrelease.io/v1alpha1/namespaces/support/promptreleases/summarizer-production"
    )
    data = json.loads(body)["data"]
    assert data["revision"] == 3 and data["transition"]["version"] == "v3"
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert headers[notify.SIGNATURE_HEADER] == f"sha256={expected}"


# -- the operator's sinks -------------------------------------------------------------------


def test_sinks_parse_with_their_secret_in_the_operators_namespace_by_default() -> None:
    config = notify_config.parse(
        {
            "sinks": {
                "audit": {
                    "url": "https://hooks.example/p",
                    "timeout": "2s",
                    "secret": {"name": "hmac", "key": "audit"},
                }
            },
            "retry": {"base": "500ms", "cap": "1m"},
        },
        "prompt-system",
    )
    sink = config.sinks["audit"]
    assert sink.secret is not None and sink.format == "cloudevents"
    assert (sink.secret.namespace, sink.secret.name, sink.timeout) == ("prompt-system", "hmac", 2)
    assert config.retry == Retry(0.5, 60)
    assert config.retry.delay(1) == 0.5 and config.retry.delay(20) == 60


@pytest.mark.parametrize(
    ("found", "named"),
    [
        ({"sinks": {"a": {"url": "ftp://x", "secret": {"name": "s", "key": "k"}}}}, "sinks.a.url"),
        ({"sinks": {"a": {"url": "http://x"}}}, "sinks.a.secret"),
        ({"sinks": {"A_b": {}}}, "sinks.A_b"),
        ({"retry": {"base": "soon"}}, "retry.base"),
        ({"retry": {"base": 10, "cap": 1}}, "retry"),
        ({"sinks": {"a": {"url": "http://x", "format": "slack"}}}, "sinks.a.format"),
        (
            {
                "sinks": {
                    "a": {"url": "http://x", "format": "flux", "secret": {"name": "s", "key": "k"}}
                }
            },
            "sinks.a.secret",
        ),
    ],
)
def test_a_bad_sinks_file_names_the_field(found: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        notify_config.parse(found, "ns")


def test_each_transition_is_an_event_reason_the_core_posts_and_the_api_lists() -> None:
    from pathlib import Path

    from prompt_release.core import canary_spec, governance, promotion_gates, release

    posted = {
        release.RELEASED,
        "RolledBack",  # release.py's Event of a revision that restores one
        release.ROLLED_BACK_ON_FAILURE,
        canary_spec.CANARY_STARTED,
        canary_spec.CANARY_PROMOTED,
        canary_spec.CANARY_ABORTED,
        canary_spec.ANALYSIS_FAILED,
        governance.AWAITING_APPROVAL,
        promotion_gates.AWAITING_EVIDENCE,
        promotion_gates.PROMOTED,
    }
    assert set(notify.TRIGGERS.values()) == posted
    table = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    events = table[table.index("### Events") : table.index("## PromptPolicy")]
    for reason in posted:
        assert f"`{reason}`" in events, reason
    guide = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    for trigger, reason in notify.TRIGGERS.items():
        assert f"| `{trigger}` | `{notify.EVENT_TYPE}{reason}` |" in guide, trigger


def test_a_ledger_is_the_releases_by_owner_and_an_orphaned_one_is_adopted() -> None:
    body = notify_ledger.ledger_config_map("ns", "p-production", "uid-1", Ledger())
    assert notify_ledger.owned(body, "uid-1") and not notify_ledger.owned(body, "uid-2")
    orphaned = {**body, "metadata": {**body["metadata"], "ownerReferences": []}}
    assert notify_ledger.orphaned_for(orphaned, "p-production")
    assert not notify_ledger.orphaned_for(orphaned, "q-production")
    stranger = {"metadata": {"name": "notified.p-production", "labels": {}}}
    assert not notify_ledger.owned(stranger, "uid-1")
    assert not notify_ledger.orphaned_for(stranger, "p-production")


def test_a_flux_sink_needs_no_secret() -> None:
    config = notify_config.parse(
        {"sinks": {"flux": {"url": "http://nc:80/", "format": "flux"}}}, "ns"
    )
    assert config.sinks["flux"].secret is None and config.sinks["flux"].format == "flux"
