"""The notification controller: the one writer of each release's delivery ledger
(`notified.<release>`), delivering the transitions its recorded status holds to the webhook
sinks it subscribes to, as signed CloudEvents.

It has its own queue and workers: a receiver that fails or hangs delays only the notifications
of its releases, never a release's reconcile. A pass reads the ledger from the API server (not
a cache: after a restart it must see the last delivery recorded), plans with
`core.notify_ledger.plan`, then per sink delivers oldest first and records each delivery at
once; a failure is recorded with its reason and the time of the next try, and the sink's later
transitions wait behind it (in order).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prompt_release.core import notify, notify_flux, notify_ledger
from prompt_release.core.notify import Subject, Subscriptions, Transition
from prompt_release.core.notify_config import FLUX, NotifyConfig, Sink
from prompt_release.core.notify_ledger import Ledger
from prompt_release.kube import ApiError, is_status
from prompt_release.operator import metrics
from prompt_release.operator.controllers.shell import Shell
from prompt_release.operator.runtime import webhook
from prompt_release.operator.runtime.controller import Result
from prompt_release.operator.runtime.informer import Key

log = logging.getLogger("prompt_release")

DELIVERED = "Delivered"
REJECTED = "WebhookRejected"
UNREACHABLE = "WebhookUnreachable"
SECRET_MISSING = "WebhookSecretMissing"
RECOVERED = "WebhookDelivered"
SUBSCRIPTION_INVALID = "SubscriptionInvalid"
LEDGER_CONFLICT = "NotificationLedgerConflict"
NAMESPACE_TTL = 10.0
"""Seconds a namespace's subscriptions are reused before they are read again."""

Post = Callable[[str, bytes, Mapping[str, str], float], webhook.Answer]


class DeliveryError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Gathered:
    body: Mapping[str, Any] | None


class NotificationReconciler:
    def __init__(self, shell: Shell, config: NotifyConfig, post: Post = webhook.post) -> None:
        self.kube = shell.kube
        self.stores = shell.stores
        self.events = shell.events
        self.config = config
        self.post = post
        self._lock = threading.Lock()
        self._namespaces: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._conflicts: set[Key] = set()
        # Per release: the transitions and subscriptions of its last pass that left nothing
        # due. The same again (a canary's weight, a rollout's progress) needs no ledger read.
        self._settled: dict[Key, tuple[frozenset[str], Subscriptions]] = {}

    def gather(self, key: Key) -> Gathered:
        body = self.stores.get("releases", key)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return Gathered(None)
        return Gathered(body)

    def reconcile(self, key: Key, gathered: Gathered) -> Result:
        body = gathered.body
        if body is None:
            self._conflicts.discard(key)
            self._settled.pop(key, None)
            return Result()
        subject = Subject.of(body)
        subscriptions = self._subscriptions(subject, body)
        if not subscriptions.found and not subscriptions.problems:
            return Result()
        status = body.get("status") or {}
        found = notify.transitions(status)
        settled = (frozenset(t.id(subject.uid) for t in found), subscriptions)
        if self._settled.get(key) == settled:
            return Result()
        self._settled.pop(key, None)
        existing: Mapping[str, Any] | None = self.kube.find_config_map(
            subject.namespace, self._name(subject)
        )
        ledger = Ledger.of_data(None if existing is None else existing.get("data"))
        if existing is not None and not notify_ledger.owned(existing, subject.uid):
            if not notify_ledger.orphaned_for(existing, subject.name):
                return self._conflict(key, body, existing)
            ledger = Ledger()  # adopted: what it recorded was its predecessor's
        self._conflicts.discard(key)
        chosen = notify_ledger.plan(
            found,
            subscriptions,
            ledger,
            subject.uid,
            str(status.get("releasedAt") or ""),
            dt.datetime.now(dt.UTC),
        )
        if chosen.problems:
            self.events.event(body, "Warning", SUBSCRIPTION_INVALID, chosen.problems)
        try:
            waits = self._carry_out(body, subject, chosen, ledger, existing)
        except ApiError as error:
            if is_status(error, 409, 404):
                return Result(retry=True)  # another writer, or the release went: read again
            raise
        if not waits:
            self._settled[key] = settled
            return Result()
        return Result(requeue_after=min(waits))

    def _carry_out(
        self,
        body: Mapping[str, Any],
        subject: Subject,
        chosen: notify_ledger.Plan,
        ledger: Ledger,
        existing: Mapping[str, Any] | None,
    ) -> list[float]:
        """Record the planned ledger, then deliver each sink's due transitions; the seconds
        until each failing sink is tried again."""
        if chosen.ledger != ledger:
            existing = self._record(subject, chosen.ledger, existing)
        ledger = chosen.ledger
        waits = [chosen.wait] if chosen.wait is not None else []
        for sink, due in chosen.due.items():
            assert existing is not None  # a sink with something due is in the ledger
            ledger, existing, wait = self._deliver(
                body, subject, self.config.sinks[sink], due, ledger, existing
            )
            if wait is not None:
                waits.append(wait)
        return waits

    # -- the ledger ---------------------------------------------------------------------------

    def _name(self, subject: Subject) -> str:
        return notify_ledger.ledger_name(subject.name)

    def _record(
        self, subject: Subject, ledger: Ledger, existing: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        """Write the ledger: create, or replace guarded by what was read (a 409 means another
        operator delivered meanwhile: the pass starts again from what it wrote)."""
        desired = notify_ledger.ledger_config_map(
            subject.namespace, subject.name, subject.uid, ledger
        )
        return self.kube.write_config_map(desired, existing)

    def _conflict(self, key: Key, body: Mapping[str, Any], existing: Mapping[str, Any]) -> Result:
        if key not in self._conflicts:
            name = existing["metadata"]["name"]
            message = (
                f"ConfigMap {name} exists and is not this release's notification ledger: "
                "nothing is delivered until it is renamed or deleted"
            )
            self.events.event(body, "Warning", LEDGER_CONFLICT, message)
            self._conflicts.add(key)
        return Result(requeue_after=self.config.retry.cap)

    # -- delivering ---------------------------------------------------------------------------

    def _deliver(
        self,
        body: Mapping[str, Any],
        subject: Subject,
        sink: Sink,
        due: Sequence[Transition],
        ledger: Ledger,
        existing: Mapping[str, Any],
    ) -> tuple[Ledger, Mapping[str, Any], float | None]:
        """Deliver a sink's due transitions in order, recording each; stop at a failure."""
        for transition in due:
            event_id = transition.id(subject.uid)
            before = ledger.sinks.get(sink.name)
            failure = None if before is None else before.failure
            started = time.monotonic()
            try:
                self._send(subject, sink, transition, body)
            except DeliveryError as error:
                now = dt.datetime.now(dt.UTC)
                why = (error.reason, error.message)
                ledger, delay, news = notify_ledger.failed(
                    ledger, sink.name, event_id, why, now, self.config.retry
                )
                existing = self._record(subject, ledger, existing)
                if news:
                    self.events.event(body, "Warning", error.reason, error.message)
                log.warning(
                    "PromptRelease %s/%s: %s to sink %s: %s; again in %.1fs",
                    subject.namespace,
                    subject.name,
                    transition.reason,
                    sink.name,
                    error.message,
                    delay,
                )
                return ledger, existing, delay
            ledger = notify_ledger.delivered(ledger, sink.name, event_id)
            existing = self._record(subject, ledger, existing)
            log.info(
                "PromptRelease %s/%s: %s (%s) delivered to sink %s in %.0f ms",
                subject.namespace,
                subject.name,
                transition.reason,
                transition.key,
                sink.name,
                1000 * (time.monotonic() - started),
            )
            if failure is not None and failure.id == event_id:
                message = (
                    f"{transition.reason} delivered to sink {sink.name} after "
                    f"{failure.attempts + 1} attempts (last failure: {failure.reason})"
                )
                self.events.event(body, "Normal", RECOVERED, message)
        return ledger, existing, None

    def _send(
        self, subject: Subject, sink: Sink, transition: Transition, body: Mapping[str, Any]
    ) -> None:
        """Deliver one transition, counted by its outcome (`promptrelease_notifications_total`)."""
        try:
            self._post_event(subject, sink, transition, body)
        except DeliveryError as error:
            metrics.NOTIFICATIONS.labels(sink.name, error.reason).inc()
            raise
        metrics.NOTIFICATIONS.labels(sink.name, DELIVERED).inc()

    def _post_event(
        self, subject: Subject, sink: Sink, transition: Transition, body: Mapping[str, Any]
    ) -> None:
        sent = notify_ledger.time_text(dt.datetime.now(dt.UTC))
        if sink.format == FLUX:
            labels = (body.get("metadata") or {}).get("labels")
            event = notify_flux.flux_event(subject, transition, sent, labels)
            payload = notify.encode(event)
            headers = {"Content-Type": notify_flux.CONTENT_TYPE}
        else:
            payload = notify.encode(notify.cloud_event(subject, transition, sent))
            headers = notify.headers(self._key(sink), payload)
        try:
            answer = self.post(sink.url, payload, headers, sink.timeout)
        except webhook.UnreachableError as error:
            raise DeliveryError(UNREACHABLE, f"sink {sink.name} ({sink.url}): {error}") from error
        if sink.format == FLUX and answer.status == 429:
            return  # Flux's rate limit: the same event, accepted within its interval
        if not 200 <= answer.status <= 299:
            raise DeliveryError(
                REJECTED,
                f"sink {sink.name} ({sink.url}) answered {answer.status} {answer.reason}".strip(),
            )

    def _key(self, sink: Sink) -> bytes:
        """The sink's signing key, read from its Secret at each delivery (rotation applies at
        once); a Secret or key missing is a named failure, retried like any other."""
        if sink.secret is None:
            raise DeliveryError(SECRET_MISSING, f"sink {sink.name} has no secret")
        where = f"Secret {sink.secret.namespace}/{sink.secret.name}"
        try:
            secret = self.kube.find_secret(sink.secret.namespace, sink.secret.name)
        except ApiError as error:
            raise DeliveryError(
                SECRET_MISSING, f"sink {sink.name}: {where} can't be read ({error.status})"
            ) from error
        if secret is None:
            raise DeliveryError(SECRET_MISSING, f"sink {sink.name}: {where} not found")
        encoded = (secret.get("data") or {}).get(sink.secret.key)
        if not encoded:
            raise DeliveryError(
                SECRET_MISSING, f"sink {sink.name}: {where} has no key {sink.secret.key!r}"
            )
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DeliveryError(
                SECRET_MISSING, f"sink {sink.name}: {where} key {sink.secret.key!r} is not base64"
            ) from error

    # -- subscriptions ------------------------------------------------------------------------

    def _subscriptions(self, subject: Subject, body: Mapping[str, Any]) -> Subscriptions:
        sinks = self.config.sinks
        annotations = (body.get("metadata") or {}).get("annotations")
        own = notify.subscriptions(annotations, f"PromptRelease {subject.name}", sinks)
        where = f"ConfigMap {subject.namespace}/{self.config.namespace_config}"
        shared = notify.subscriptions(self._namespace(subject.namespace), where, sinks)
        return own | shared

    def _namespace(self, namespace: str) -> Mapping[str, Any]:
        """The annotations of the namespace's notifications ConfigMap (none: {}), read at
        most every NAMESPACE_TTL seconds."""
        now = time.monotonic()
        with self._lock:
            found = self._namespaces.get(namespace)
        if found is not None and now - found[0] < NAMESPACE_TTL:
            return found[1]
        config_map = self.kube.find_config_map(namespace, self.config.namespace_config)
        annotations = dict(((config_map or {}).get("metadata") or {}).get("annotations") or {})
        with self._lock:
            self._namespaces[namespace] = (now, annotations)
        return annotations
