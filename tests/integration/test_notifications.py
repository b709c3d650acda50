"""Webhook notifications end to end: the operator as its own process, a real HTTP receiver as
another (tests/integration/webhook_receiver.py), the real API server between them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from prometheus_client.parser import text_string_to_metric_families

from prompt_release.core import notify
from prompt_release.core.evaluation import dataset_hash
from prompt_release.core.notify_ledger import ledger_name
from tests.controlplane.cluster import free_port
from tests.integration.test_canary import analysis, patch_canary, promote_in_git
from tests.integration.test_install import _can_i, _install, _operator_as
from tests.integration.test_rollout import RESTART, available, deployment, hold_pods
from tests.kube import Kubectl, OperatorProcess, eventually
from tests.prompts import apply, release, released, version

pytestmark = pytest.mark.integration

RECEIVER = Path(__file__).with_name("webhook_receiver.py")
EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
KEY = b"s3cret-signing-key"
SECRET = "webhook-hmac"
SUBSCRIBE_ALL = {f"{notify.PREFIX}on-any.audit": ""}


@dataclass
class Delivery:
    at: float
    id: str
    type: str
    revision: int | None
    data: dict[str, Any]


class Receiver:
    def __init__(self, folder: Path) -> None:
        self.log = folder / "received.jsonl"
        self.behaviour = folder / "behaviour.json"
        self.log.touch()
        self.behave(200)
        self.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), str(self.log), str(self.behaviour)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}/hooks/prompts"

    def behave(self, status: int, delay: float = 0) -> None:
        self.behaviour.write_text(json.dumps({"status": status, "delay": delay}))

    def deliveries(self) -> list[Delivery]:
        """Every request that arrived, each checked: a structured CloudEvent (read by the
        CloudEvents SDK) signed with the sink's key over its exact body."""
        found = []
        for line in self.log.read_text().splitlines():
            record = json.loads(line)
            body = record["body"].encode()
            headers = record["headers"]
            expected = "sha256=" + hmac.new(KEY, body, hashlib.sha256).hexdigest()
            assert headers["x-prompt-release-signature"] == expected
            event = from_http(
                HTTPMessage(headers={"content-type": headers["content-type"]}, body=body),
                JSONFormat(),
            )
            found.append(
                Delivery(
                    record["at"],
                    event.get_id(),
                    event.get_type().removeprefix(notify.EVENT_TYPE),
                    json.loads(body).get("promptreleaserevision"),
                    json.loads(body)["data"],
                )
            )
        return found

    def unique(self) -> dict[str, Delivery]:
        """What a receiver deduping by id keeps: the first delivery of each id."""
        kept: dict[str, Delivery] = {}
        for delivery in self.deliveries():
            kept.setdefault(delivery.id, delivery)
        return kept

    def of_revision(self, revision: int) -> list[Delivery]:
        return [d for d in self.deliveries() if d.revision == revision]

    def unique_when(self, count: int) -> dict[str, Delivery] | None:
        found = self.unique()
        return found if len(found) == count else None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    running = Receiver(tmp_path)
    yield running
    running.stop()


Start = Callable[..., OperatorProcess]


@pytest.fixture
def notifying(
    run_operator: Callable[..., OperatorProcess],
    receiver: Receiver,
    namespace: str,
    tmp_path: Path,
) -> Start:
    """Start (again) an operator whose one sink, `audit`, is the receiver."""

    def start(timeout: str = "1s", *extra: str) -> OperatorProcess:
        config = tmp_path / f"notifications-{timeout}.yaml"
        sink = {
            "url": receiver.url,
            "timeout": timeout,
            "secret": {"namespace": namespace, "name": SECRET, "key": "key"},
        }
        retry = {"base": "500ms", "cap": "2s"}
        config.write_text(json.dumps({"sinks": {"audit": sink}, "retry": retry}))
        return run_operator("--notifications-config", str(config), *extra)

    return start


def signing_secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET},
        "data": {"key": base64.b64encode(KEY).decode()},
    }


def subscribed(version_name: str, **spec: Any) -> dict[str, Any]:
    body = release(version_name, **spec)
    body["metadata"]["annotations"] = dict(SUBSCRIBE_ALL)
    return body


def events(kubectl: Kubectl, reason: str) -> list[dict[str, Any]]:
    listed = kubectl("get", "events", "--field-selector", f"reason={reason}", "-o", "json")
    return list(json.loads(listed)["items"])


def ledger(kubectl: Kubectl, release_name: str) -> dict[str, Any]:
    found = kubectl.get("configmap", ledger_name(release_name))
    return dict(json.loads(found["data"]["ledger.json"]))


def revisions(found: dict[str, Delivery]) -> list[tuple[int | None, str]]:
    return sorted((d.revision, d.type) for d in found.values())


def test_each_transition_arrives_once_as_a_signed_cloudevent(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    apply(kubectl, signing_secret(), *(version(f"summarizer-v{n}") for n in (1, 2)))
    notifying()
    latencies = []
    flips = ["summarizer-v1", "summarizer-v2"] * 4
    for revision, name in enumerate(flips, 1):
        before = time.time()
        apply(kubectl, subscribed(name))
        arrived = eventually(
            partial(receiver.of_revision, revision),
            interval=0.02,
            what=f"revision {revision} at the receiver",
        )
        latencies.append(arrived[0].at - before)
    released(kubectl, "summarizer-production", len(flips))
    time.sleep(2)  # anything more would have arrived by now
    expected = [(1, "Released"), (2, "Released")] + [(r, "RolledBack") for r in range(3, 9)]
    assert revisions(receiver.unique()) == expected
    assert len(receiver.deliveries()) == len(flips)  # no failure, no kill: not even a repeat
    third = next(d for d in receiver.unique().values() if d.revision == 3)
    assert third.data["transition"]["restores"] == 1
    assert third.data["release"]["name"] == "summarizer-production"
    state = ledger(kubectl, "summarizer-production")
    assert len(state["sinks"]["audit"]["delivered"]) == len(flips)
    owner = kubectl.get("configmap", ledger_name("summarizer-production"))["metadata"]
    assert owner["ownerReferences"][0]["kind"] == "PromptRelease"
    latencies.sort()
    print(
        f"notification latency, kubectl apply to receipt: median "
        f"{statistics.median(latencies):.2f} s, max {latencies[-1]:.2f} s over "
        f"{len(latencies)} transitions"
    )


def test_a_canarys_transitions_arrive_each_once(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    """Started, aborted by hand, started again and failed by its analysis, started a third
    time and promoted: each transition once, in the order the status recorded them."""
    apply(kubectl, signing_secret(), version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, subscribed("summarizer-v1"))
    notifying()

    def arrived(count: int, step: str) -> list[str]:
        found = eventually(
            lambda: receiver.unique_when(count), timeout=60, what=f"{count} events: {step}"
        )
        ordered = sorted(found.values(), key=lambda d: d.at)
        return [d.type for d in ordered]

    arrived(1, "released")
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 10})
    arrived(2, "canary started")
    patch_canary(kubectl, None)
    arrived(3, "canary aborted")
    time.sleep(1.1)  # a run is known by its candidate's hash and its start, to the second
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 10, "steps": [analysis(1)]})
    arrived(5, "started, then its analysis failed")
    patch_canary(kubectl, None)
    time.sleep(1.1)
    patch_canary(kubectl, {"version": "summarizer-v2", "weight": 25})
    arrived(6, "started a third time")
    promote_in_git(kubectl)
    types = arrived(8, "promoted")
    assert types[:6] == [
        "Released",
        "CanaryStarted",
        "CanaryAborted",
        "CanaryStarted",
        "AnalysisFailed",
        "CanaryStarted",
    ]
    assert sorted(types[6:]) == ["CanaryPromoted", "Released"]
    promoted = [d for d in receiver.unique().values() if d.type == "CanaryPromoted"]
    assert promoted[0].revision == 2 and promoted[0].data["transition"]["canary"]["weight"] == 25
    time.sleep(2)
    assert len(receiver.deliveries()) == 8


def test_a_promotion_awaiting_evidence_then_promoted_arrives_each_once(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    apply(kubectl, signing_secret(), version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, release("summarizer-v1", label="staging"), subscribed("summarizer-v1"))
    notifying()
    eventually(lambda: receiver.unique_when(1), what="production's first revision")
    apply(kubectl, release("summarizer-v2", label="staging"))
    released(kubectl, "summarizer-staging", 2)
    gated = subscribed("summarizer-v2", promotion={"from": "staging", "evidence": {}})
    apply(kubectl, gated)
    waiting = eventually(lambda: receiver.unique_when(2), what="AwaitingEvidence")
    assert sorted(d.type for d in waiting.values()) == ["AwaitingEvidence", "Released"]
    evaluation = {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptEvaluation",
        "metadata": {"name": "summarizer-v2-passed"},
        "spec": {
            "version": "summarizer-v2",
            "hash": kubectl.get("promptversion", "summarizer-v2")["status"]["hash"],
            "dataset": {"name": "tickets", "hash": dataset_hash([{"ticket": "t"}])},
            "evaluator": {"name": "judge", "version": "1.0.0"},
            "score": 0.97,
            "passed": True,
        },
    }
    apply(kubectl, evaluation)
    released(kubectl, "summarizer-production", 2)
    found = eventually(lambda: receiver.unique_when(4), what="the promotion")
    assert revisions(found) == [  # what waits is on the live revision, 1
        (1, "AwaitingEvidence"),
        (1, "Released"),
        (2, "Promoted"),
        (2, "Released"),
    ]
    time.sleep(2)
    assert len(receiver.deliveries()) == 4


def test_a_version_held_for_approval_arrives_once(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    apply(kubectl, signing_secret(), version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, subscribed("summarizer-v1"))
    notifying()
    eventually(lambda: receiver.unique_when(1), what="the first revision")
    two_person = {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptPolicy",
        "metadata": {"name": "two-person"},
        "spec": {
            "labels": ["production"],
            "requireApproval": True,
            "approvers": {"users": ["bob@example.com"]},
        },
    }
    apply(kubectl, two_person, subscribed("summarizer-v2"))
    found = eventually(lambda: receiver.unique_when(2), what="AwaitingApproval")
    held = next(d for d in found.values() if d.type == "AwaitingApproval")
    assert held.revision == 1 and held.data["transition"]["version"] == "summarizer-v2"
    assert held.data["transition"]["state"] == "Pending"
    time.sleep(2)  # the release stays held: nothing more
    assert len(receiver.deliveries()) == 2


def test_an_automatic_rollback_arrives_as_rolled_back_on_failure(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    apply(kubectl, signing_secret(), version("summarizer-v1"), version("summarizer-v2"))
    apply(kubectl, deployment("web", replicas=2, deadline=10))
    apply(kubectl, subscribed("summarizer-v1", rollout=RESTART))
    notifying()
    released(kubectl, "summarizer-production", 1)
    available(kubectl, "web", 2, 1)
    hold_pods(kubectl, "web")  # v2's pods never become Ready: past the 10 s deadline
    apply(kubectl, subscribed("summarizer-v2", rollout=RESTART))
    found = eventually(lambda: receiver.unique_when(3), timeout=120, what="the rollback")
    assert revisions(found) == [(1, "Released"), (2, "Released"), (3, "RolledBackOnFailure")]
    rollback = next(d for d in found.values() if d.revision == 3)
    assert rollback.data["transition"]["restores"] == 1
    assert rollback.data["transition"]["changelog"].startswith("Automatic rollback")


def test_the_example_subscribes_a_namespace_and_a_bad_annotation_is_named(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    """manifests/examples/notifications/subscriptions.yaml over the examples: both releases
    of the namespace hear their live revision; an annotation with a typo is named."""
    typo = release("other-v1", prompt="other")
    typo["metadata"]["annotations"] = {f"{notify.PREFIX}on-relesed.audit": ""}
    apply(kubectl, signing_secret(), version("other-v1", prompt="other"), typo)
    kubectl("apply", "-f", str(EXAMPLES / "ticket-summarizer.yaml"))
    kubectl("apply", "-f", str(EXAMPLES / "notifications" / "subscriptions.yaml"))
    notifying()
    found = eventually(lambda: receiver.unique_when(3), what="three releases delivering")
    assert sorted((d.data["release"]["name"], d.type) for d in found.values()) == [
        ("other-production", "Released"),  # the namespace's subscription still holds
        ("ticket-summarizer-production", "Released"),
        ("ticket-summarizer-staging", "Released"),
    ]
    (invalid,) = eventually(
        lambda: events(kubectl, "SubscriptionInvalid"), what="SubscriptionInvalid"
    )
    assert "on-relesed" in invalid["message"] and invalid["type"] == "Warning"


def test_failures_are_named_retried_and_block_no_other_release(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    versions = [version(f"summarizer-v{n}") for n in (1, 2)]
    others = [version(f"other-v{n}", prompt="other") for n in (1, 2, 3)]
    apply(kubectl, *versions, *others)
    metrics_port = free_port()
    notifying("1s", "--metrics-port", str(metrics_port))
    # No Secret yet: named, retried, nothing sent.
    apply(kubectl, subscribed("summarizer-v1"))
    released(kubectl, "summarizer-production", 1)
    eventually(lambda: events(kubectl, "WebhookSecretMissing"), what="WebhookSecretMissing")
    failure = ledger(kubectl, "summarizer-production")["sinks"]["audit"]["failure"]
    assert failure["reason"] == "WebhookSecretMissing" and SECRET in failure["message"]
    assert receiver.deliveries() == []
    # The receiver answers 500: named, retried with the same id.
    receiver.behave(500)
    apply(kubectl, signing_secret())
    eventually(lambda: events(kubectl, "WebhookRejected"), what="WebhookRejected")
    eventually(lambda: len(receiver.deliveries()) >= 3, what="retries of the 500s")
    assert len(receiver.unique()) == 1
    # The receiver hangs past the sink's timeout: named; other releases go on meanwhile.
    receiver.behave(200, delay=5)
    eventually(lambda: events(kubectl, "WebhookUnreachable"), what="WebhookUnreachable")
    took = []
    for revision, name in enumerate(("other-v1", "other-v2", "other-v3"), 1):
        started = time.monotonic()
        apply(kubectl, release(name, prompt="other"))
        released(kubectl, "other-production", revision)
        took.append(time.monotonic() - started)
    assert max(took) < 10
    print(f"while a receiver hangs, another release Ready in at most {max(took):.2f} s")
    # The receiver recovers: delivered, said so, and the next transition follows in order.
    receiver.behave(200)
    eventually(lambda: events(kubectl, "WebhookDelivered"), timeout=30, what="recovery")
    apply(kubectl, subscribed("summarizer-v2"))
    released(kubectl, "summarizer-production", 2)
    found = eventually(lambda: receiver.unique_when(2), what="revision 2 delivered")
    assert revisions(found) == [(1, "Released"), (2, "Released")]
    assert "failure" not in ledger(kubectl, "summarizer-production")["sinks"]["audit"]
    counted = deliveries_counted(metrics_port)
    assert counted["Delivered"] >= 2
    for reason in ("WebhookSecretMissing", "WebhookRejected", "WebhookUnreachable"):
        assert counted[reason] >= 1, counted


def deliveries_counted(port: int) -> dict[str, float]:
    """The operator's `promptrelease_notifications_total` of sink `audit`, by result."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        sample.labels["result"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "promptrelease_notifications"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["sink"] == "audit"
    }


def test_operator_kills_mid_delivery_lose_none_and_each_id_arrives(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    """Each round the operator is SIGKILLed while the receiver holds its request (it answers
    after 1.5 s): the delivery is not recorded, so the next operator sends it again under the
    same id. A receiver deduping by id sees exactly one event per transition."""
    apply(kubectl, signing_secret(), *(version(f"summarizer-v{n}") for n in (1, 2, 3, 4)))
    receiver.behave(200, delay=1.5)
    running = notifying(timeout="10s")
    plan = [
        "summarizer-v1",
        "summarizer-v2",
        "summarizer-v3",
        "summarizer-v2",
        "summarizer-v4",
        "summarizer-v1",
    ]
    kills = 0
    for revision, name in enumerate(plan, 1):
        apply(kubectl, subscribed(name))
        eventually(partial(receiver.of_revision, revision), timeout=60, what=f"revision {revision}")
        running.process.kill()  # SIGKILL, mid-delivery
        running.process.wait()
        kills += 1
        running = notifying(timeout="10s")
    expected = [
        (1, "Released"),
        (2, "Released"),
        (3, "Released"),
        (4, "RolledBack"),
        (5, "Released"),
        (6, "RolledBack"),
    ]
    eventually(
        lambda: ledger(kubectl, "summarizer-production")["sinks"]["audit"]["delivered"][5:],
        timeout=60,
        what="all six recorded as delivered",
    )
    time.sleep(2)
    unique = receiver.unique()
    assert revisions(unique) == expected  # none lost, none extra
    per_id = Counter(d.id for d in receiver.deliveries())
    assert all(count >= 1 for count in per_id.values())
    raw = sum(per_id.values())
    print(
        f"notifications across {kills} SIGKILLs mid-delivery: {len(unique)} transitions, "
        f"{raw} deliveries ({raw / len(unique):.2f} per transition), "
        f"{len(unique)} ids after dedupe, 0 lost"
    )


def test_the_charts_rbac_lets_the_operator_read_its_signing_secret_only(
    admin_kubectl: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    receiver: Receiver,
    tmp_path: Path,
    run_operator: Callable[..., OperatorProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chart installed with one sink (its Secret in the operator's namespace, here the
    test's): the operator runs as the chart's service account and delivers; it may get that
    Secret by name and no other Secret."""
    name, sa = _install(
        admin_kubectl,
        namespace,
        "notifications.enabled=true",
        f"notifications.sinks.audit.url={receiver.url}",
        f"notifications.sinks.audit.secret.name={SECRET}",
        "notifications.sinks.audit.secret.key=key",
        "notifications.sinks.audit.timeout=1s",
    )
    rendered = kubectl.get("configmap", f"{name}-notifications")["data"]["notifications.yaml"]
    config = tmp_path / "rendered-notifications.yaml"
    config.write_text(rendered)
    monkeypatch.setenv("POD_NAMESPACE", namespace)  # what the chart's Deployment sets
    apply(kubectl, signing_secret(), version("summarizer-v1"), subscribed("summarizer-v1"))
    operator = _operator_as(
        admin_kubectl, namespace, sa, tmp_path, run_operator, "--notifications-config", str(config)
    )
    released(kubectl, "summarizer-production", 1)
    found = eventually(receiver.unique, what="the delivery under the chart's RBAC")
    assert revisions(found) == [(1, "Released")]
    assert "Forbidden" not in operator.output()
    who = f"{namespace}:{sa}"
    assert _can_i(admin_kubectl, who, "get", f"secrets/{SECRET}", "-n", namespace)
    assert not _can_i(admin_kubectl, who, "get", "secrets/other", "-n", namespace)
    assert not _can_i(admin_kubectl, who, "list", "secrets", "-n", namespace)


def test_kills_at_random_moments_of_a_burst_lose_no_recorded_transition(
    kubectl: Kubectl, receiver: Receiver, notifying: Start
) -> None:
    """Flips applied as fast as a person or a pipeline might, the operator SIGKILLed at random
    moments among them: every revision the history records arrives under exactly one id."""
    rng = random.Random(27)
    apply(kubectl, signing_secret(), *(version(f"summarizer-v{n}") for n in (1, 2, 3, 4)))
    receiver.behave(200, delay=0.3)
    running = notifying(timeout="10s")
    choices = [f"summarizer-v{n}" for n in (1, 2, 3, 4)]
    names = ["summarizer-v1"]
    while len(names) < 12:
        names.append(rng.choice([name for name in choices if name != names[-1]]))
    kills = 0
    for n, name in enumerate(names, 1):
        apply(kubectl, subscribed(name, historyLimit=100))
        time.sleep(rng.uniform(0, 0.8))
        if n % 4 == 0:
            running.process.kill()
            running.process.wait()
            kills += 1
            running = notifying(timeout="10s")

    def settled() -> dict[str, Any] | None:
        found = kubectl.get("promptrelease", "summarizer-production")
        status = found.get("status") or {}
        return status if status.get("version") == names[-1] else None

    status = eventually(settled, timeout=60, what="the last flip live")
    expected = sorted(
        (e["revision"], "RolledBack" if "restores" in e else "Released") for e in status["history"]
    )
    eventually(
        lambda: receiver.unique_when(len(expected)), timeout=60, what="every revision delivered"
    )
    time.sleep(2)
    unique = receiver.unique()
    assert revisions(unique) == expected  # none lost, none extra
    raw = len(receiver.deliveries())
    print(
        f"{len(names)} flips, {kills} SIGKILLs at random moments: {len(expected)} revisions, "
        f"{raw} deliveries ({raw / len(expected):.2f} per transition), 0 lost"
    )
