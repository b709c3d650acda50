"""The operator's plumbing that holds no Kubernetes: the work queue, the recent bodies, the
indexes kept from the watches and the gate of the handlers."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from typing import Any

import pytest

from prompt_release.core.views import ReleaseView
from prompt_release.operator.echoes import Echoes
from prompt_release.operator.informers import Informers, Listings, OwnIndex
from prompt_release.operator.recent import Recent, text_size
from prompt_release.operator.startup import slim
from prompt_release.operator.workqueue import WorkQueue

# -- WorkQueue ----------------------------------------------------------------------------------


def test_requests_for_a_waiting_key_join_it_and_keep_the_latest_payload() -> None:
    seen: list[tuple[Any, Any]] = []
    gate = threading.Event()
    done = threading.Event()

    def work(key: Any, payload: Any) -> None:
        gate.wait(5)
        seen.append((key, payload))
        if len(seen) == 2:
            done.set()

    queue = WorkQueue(1, work)
    queue.add("a", {"v": 1})  # taken by the worker at once, blocked on the gate
    time.sleep(0.05)
    queue.add("b", {"v": 1})
    queue.add("b", {"v": 2})  # joins the waiting request: the newer payload wins
    queue.add("b")  # None keeps the payload offered before
    assert len(queue) == 1
    gate.set()
    assert done.wait(5)
    assert seen == [("a", {"v": 1}), ("b", {"v": 2})]
    queue.stop()


def test_a_long_queue_keeps_its_payloads_packed_and_hands_them_over_whole() -> None:
    from prompt_release.core.packing import Packed

    gate = threading.Event()
    seen: list[tuple[Any, Any]] = []

    def work(key: Any, payload: Any) -> None:
        gate.wait(5)
        seen.append((key, payload))

    queue = WorkQueue(1, work, pack_after=1)
    queue.add("first", {"n": 0})  # taken by the worker at once, blocked on the gate
    time.sleep(0.05)
    for n in range(1, 4):
        queue.add(f"k{n}", {"n": n, "text": "é" * n})
    waiting = [payload for payload, _ in queue._waiting.values()]
    assert [isinstance(p, Packed) for p in waiting] == [False, False, True]
    gate.set()
    deadline = time.monotonic() + 5
    while len(seen) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.stop()
    assert seen == [("first", {"n": 0})] + [(f"k{n}", {"n": n, "text": "é" * n}) for n in (1, 2, 3)]


def test_a_request_during_its_own_pass_gets_another_pass() -> None:
    passes: list[Any] = []
    running = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def work(key: Any, payload: Any) -> None:
        passes.append(payload)
        if len(passes) == 1:
            running.set()
            release.wait(5)
        else:
            finished.set()

    queue = WorkQueue(2, work)
    queue.add("k", 1)
    assert running.wait(5)
    queue.add("k", 2)  # the pass in progress may have read too early
    release.set()
    assert finished.wait(5)
    assert passes == [1, 2]
    queue.stop()


def test_a_failing_pass_does_not_stop_the_worker() -> None:
    done = threading.Event()

    def work(key: Any, payload: Any) -> None:
        if key == "bad":
            raise RuntimeError("boom")
        done.set()

    queue = WorkQueue(1, work)
    queue.add("bad")
    queue.add("good")
    assert done.wait(5)
    queue.stop()


# -- Recent -------------------------------------------------------------------------------------


def test_recent_keeps_the_latest_bounded_by_count_and_size() -> None:
    recent = Recent(capacity=2, max_bytes=10, packed_bytes=0)
    recent.put(("ns", "a"), "1", {"a": 1}, "x" * 5)
    recent.put(("ns", "b"), "1", {"b": 1}, "x" * 5)
    assert recent.get(("ns", "a")) == ("1", {"a": 1})  # a is now the most recently used
    recent.put(("ns", "c"), "1", {"c": 1}, "x" * 5)  # b goes
    assert recent.get(("ns", "b")) is None
    recent.drop(("ns", "c"))
    assert len(recent) == 1


def test_recent_keeps_only_the_last_few_big_bodies() -> None:
    recent = Recent(
        capacity=2, max_bytes=10, large_capacity=2, packed_bytes=0, packed_large_bytes=0
    )
    recent.put(("ns", "a"), "1", {"a": 1}, "x" * 5)
    recent.put(("ns", "a"), "2", {"a": 2}, "x" * 50)  # grew big: moves to the big ones
    recent.put(("ns", "b"), "1", {"b": 1}, "x" * 5)
    recent.put(("ns", "c"), "1", {"c": 1}, "x" * 5)
    assert recent.get(("ns", "a")) == ("2", {"a": 2})  # the small ones don't push it out
    recent.put(("ns", "d"), "1", {"d": 1}, "y" * 50)
    recent.put(("ns", "e"), "1", {"e": 1}, "y" * 50)  # a was the least recently used big one
    assert recent.get(("ns", "a")) is None and len(recent) == 4
    recent.put(("ns", "e"), "2", {"e": 2}, "y")  # small again: in one tier only
    assert recent.get(("ns", "e")) == ("2", {"e": 2}) and len(recent) == 3  # b made room


def test_recent_packs_what_the_count_pushes_out_up_to_its_bytes() -> None:
    """At a restart over thousands of objects, the bodies listed long before a pass needs them
    wait packed (compressed JSON) instead of being read again."""
    recent = Recent(capacity=2, max_bytes=1000, packed_bytes=40)  # room for one: 24 bytes each

    def body(name: str, text: str = "") -> dict[str, Any]:
        return {"metadata": {"name": name, "resourceVersion": "1"}, "spec": {"template": text}}

    for name in "abc":
        recent.put(("ns", name), "t-" + name, body(name), "x")
    assert recent.get(("ns", "a")) == ("t-a", body("a"))  # pushed out by c, kept packed
    assert len(recent) == 3
    recent.put(("ns", "d"), "t-d", body("d", "é" * 20), "x")  # pushes b out
    assert len(recent) == 3 and recent.get(("ns", "a")) is None  # a went: over 40 bytes
    assert recent.get(("ns", "b")) == ("t-b", body("b"))
    recent.advance(("ns", "b"), lambda held: True, "t-b2", body("b", "new"), "x")
    assert recent.get(("ns", "b")) == ("t-b2", body("b", "new"))  # back among the parsed
    recent.drop(("ns", "b"))
    assert recent.get(("ns", "b")) is None
    noise = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(40))
    recent.put(("ns", "e"), "t-e", body("e", noise), "x")  # too big to pack: not kept
    recent.put(("ns", "f"), "t-f", body("f"), "x")
    recent.put(("ns", "g"), "t-g", body("g"), "x")
    assert recent.get(("ns", "e")) is None


def test_recent_packs_the_big_bodies_the_count_pushes_out_up_to_their_own_bytes() -> None:
    """A big version pushed out by other big ones' events (their finalizers come and go) is
    released later: packed, it is unpacked instead of read again. Its bytes don't take the
    room of the small ones a restart needs."""
    recent = Recent(capacity=2, max_bytes=100, large_capacity=1, packed_bytes=0)
    text = " ".join(f"word{n % 7}" for n in range(2000))  # about 12 KiB, packs to 160 bytes

    def body(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"template": name + text}}

    for name in "abc":
        recent.put(("ns", name), "t-" + name, body(name), body(name)["spec"])
    assert len(recent) == 3  # c as it is, a and b packed
    assert recent.get(("ns", "a")) == ("t-a", body("a"))
    recent.put(("ns", "s"), "t-s", {"small": 1}, "x")
    recent.put(("ns", "t"), "t-t", {"small": 2}, "x")
    recent.put(("ns", "u"), "t-u", {"small": 3}, "x")  # pushes s out: no room for small ones
    assert recent.get(("ns", "s")) is None and recent.get(("ns", "b")) == ("t-b", body("b"))
    tight = Recent(capacity=2, max_bytes=100, large_capacity=1, packed_large_bytes=200)
    for name in "abc":
        tight.put(("ns", name), "t-" + name, body(name), body(name)["spec"])
    assert tight.get(("ns", "a")) is None  # the oldest packed one made room
    assert tight.get(("ns", "b")) == ("t-b", body("b"))


def test_recent_packs_each_body_with_its_tag() -> None:
    """A packed body keeps its tag beside it (a spec state is a tuple, a resourceVersion a
    string): what comes back is equal to what went in."""
    recent = Recent(capacity=1, max_bytes=1000)
    state = ("0b6c3a6e-uid", 3, False)
    recent.put(("ns", "a"), state, {"spec": {"template": "é"}}, "x")
    recent.put(("ns", "b"), "17", {"data": {"k": "v"}}, "x")  # pushes a out: packed
    assert recent.get(("ns", "a")) == (state, {"spec": {"template": "é"}})
    assert recent.get(("ns", "b")) == ("17", {"data": {"k": "v"}})


def test_recent_advances_only_from_the_body_a_write_was_made_from() -> None:
    recent = Recent(capacity=4, max_bytes=10)

    def body(resource_version: str) -> dict[str, Any]:
        return {"metadata": {"resourceVersion": resource_version}}

    def made_from(resource_version: str) -> Any:
        return lambda held: held["metadata"]["resourceVersion"] == resource_version

    recent.advance(("ns", "a"), made_from("1"), "s", body("2"), "x")
    assert recent.get(("ns", "a")) is None  # nothing held: nothing kept
    recent.put(("ns", "a"), "s", body("1"), "x")
    recent.advance(("ns", "a"), made_from("1"), "s", body("2"), "x")
    assert recent.get(("ns", "a")) == ("s", body("2"))  # the write's response replaces it
    recent.advance(("ns", "a"), made_from("1"), "s", body("3"), "x")
    assert recent.get(("ns", "a")) == ("s", body("2"))  # held "2" came in between: kept
    recent.advance(("ns", "a"), made_from("2"), "s", body("4"), "x" * 50)
    assert recent.get(("ns", "a")) == ("s", body("4"))  # big now: kept among the big ones
    recent.advance(("ns", "a"), made_from("4"), "s", body("5"), "x")
    assert recent.get(("ns", "a")) == ("s", body("5")) and len(recent) == 1


def test_protection_patches_from_the_latest_body_and_keeps_its_response() -> None:
    """A version's status write and its finalizer patch follow each other closely: each plans
    from the other's response, not from kopf's index (which lags until the event comes)."""
    from typing import cast

    from prompt_release.core import version as version_core
    from prompt_release.core.protection import FINALIZER
    from prompt_release.kube import Kube
    from prompt_release.operator.options import Options
    from prompt_release.operator.protection import Protection

    patches: list[dict[str, Any]] = []

    class FakeKube:
        def merge_patch(self, plural: str, namespace: str, name: str, patch: Any, _: str) -> Any:
            patches.append(patch)
            return {"metadata": {"resourceVersion": "8", "finalizers": [FINALIZER]}, "spec": {}}

    recent, written = Recent(), Echoes()
    written.note(("ns", "v1"), "7")  # our status write made 7
    in_use = Protection(cast(Kube, FakeKube()), Options(), recent, written)
    links = {("ns", "v1"): [(("v1", version_core.HOLDS, "r"),)]}
    index = {("ns", "v1"): [("5", (), None)]}
    in_use._indexes = {"release_links": links, "version_meta": index}
    recent.put(("ns", "v1"), "s", {"metadata": {"resourceVersion": "7"}, "spec": {}}, {})

    in_use.settle("ns", "v1")  # our status write made 7; the index still says 5
    assert [p["metadata"]["resourceVersion"] for p in patches] == ["7"]
    assert cast(Any, recent.get(("ns", "v1")))[1]["metadata"]["resourceVersion"] == "8"
    assert written.get(("ns", "v1")) == "8"  # our last write now: the status writer plans from it
    in_use.settle("ns", "v1")  # the response says it carries the finalizer: nothing to write
    assert len(patches) == 1


def test_protection_waits_for_its_own_write_when_only_an_older_index_entry_is_known() -> None:
    """Under load a version's latest body may be gone from memory while the index still holds
    the state from before our own status write: a patch from there would only meet a 409. It
    is left to that write's event, which brings the index up to date and settles it."""
    from typing import cast

    from prompt_release.core import version as version_core
    from prompt_release.kube import Kube
    from prompt_release.operator.options import Options
    from prompt_release.operator.protection import Protection

    patches: list[str] = []

    class FakeKube:
        def merge_patch(self, plural: str, namespace: str, name: str, patch: Any, _: str) -> Any:
            patches.append(patch["metadata"]["resourceVersion"])
            return {"metadata": {"resourceVersion": "9"}, "spec": {}}

    written = Echoes()
    written.note(("ns", "v1"), "7")  # our status write made 7; its event isn't back yet
    in_use = Protection(cast(Kube, FakeKube()), Options(), Recent(), written)
    links = {("ns", "v1"): [(("v1", version_core.HOLDS, "r"),)]}
    entry = ("5", (), None)
    index = {("ns", "v1"): [entry]}
    in_use._indexes = {"release_links": links, "version_meta": index}
    in_use.settle("ns", "v1")
    assert patches == []  # 5 is older than our 7: nothing sent
    index[("ns", "v1")] = [("7", (), None)]  # our write's event came
    in_use.settle("ns", "v1")
    assert patches == ["7"]
    written.note(("ns", "v2"), "7")
    index[("ns", "v2")] = [("12", (), None)]  # someone wrote after us
    links[("ns", "v2")] = [(("v2", version_core.HOLDS, "r"),)]
    in_use.settle("ns", "v2")
    assert patches == ["7", "12"]  # newer than ours: patched from it


def test_protection_puts_the_finalizer_on_once_the_release_has_answered_its_spec() -> None:
    """The finalizer patch of the version a release now names writes the whole version: it
    waits for the release's pass to answer (the status says the spec's generation), at most
    `settle_delay`, rather than compete with the pass's writes on the way to Ready."""
    from typing import cast

    from prompt_release.core import version as version_core
    from prompt_release.kube import Kube
    from prompt_release.operator.options import Options
    from prompt_release.operator.protection import Protection

    in_use = Protection(cast(Kube, object()), Options(settle_delay=30), Recent(), Echoes())
    in_use.wakeups.stop()  # nothing is called: what is pending is what is looked at
    links = {("ns", "v2"): [(("v2", version_core.HOLDS, "r"),)]}
    index = {("ns", "v2"): [("5", (), None)]}
    indexes = {"release_links": links, "version_meta": index}
    pending: list[tuple[str, float]] = []
    in_use.later = lambda namespace, name, delay: pending.append((name, delay))  # type: ignore[method-assign]

    def release(generation: int, observed: int) -> dict[str, Any]:
        return {
            "metadata": {"name": "r", "namespace": "ns", "generation": generation},
            "spec": {"prompt": "p", "label": "production", "version": "v2"},
            "status": {"observedGeneration": observed, "version": "v1", "revision": 1},
        }

    in_use.release_event("MODIFIED", release(2, 1), "ns", "r", **indexes)  # spec now names v2
    assert pending == [("v2", 30)]  # not before the pass answers (at the latest in 30 s)
    in_use.release_event("MODIFIED", release(2, 2), "ns", "r", **indexes)  # the pass answered
    assert pending == [("v2", 30), ("v2", 0.0)]


def test_two_settles_of_one_version_at_once_send_one_patch() -> None:
    """A release's event and the version's own can settle its finalizer at the same moment,
    from the same state: the second sends nothing (it would only meet a 409). A patch that
    failed otherwise leaves the state free for the next settle."""
    from typing import cast

    from prompt_release.core import version as version_core
    from prompt_release.kube import Kube
    from prompt_release.operator.options import Options
    from prompt_release.operator.protection import Protection

    patches: list[str] = []
    fail = [False]

    class FakeKube:
        def merge_patch(self, plural: str, namespace: str, name: str, patch: Any, _: str) -> Any:
            patches.append(patch["metadata"]["resourceVersion"])
            if fail[0]:
                raise RuntimeError("the API server is away")
            if len(patches) == 1:
                in_use.settle("ns", "v1")  # the other settle, while this patch is on its way
            return {"metadata": {"resourceVersion": "6"}, "spec": {}}

    in_use = Protection(cast(Kube, FakeKube()), Options(), Recent(), Echoes())
    links = {("ns", "v1"): [(("v1", version_core.HOLDS, "r"),)]}
    index = {("ns", "v1"): [("5", (), None)]}
    in_use._indexes = {"release_links": links, "version_meta": index}
    in_use.settle("ns", "v1")
    assert patches == ["5"]

    index[("ns", "v2")] = index[("ns", "v1")]
    links[("ns", "v2")] = [(("v2", version_core.HOLDS, "r"),)]
    fail[0] = True
    for _ in range(2):
        with pytest.raises(RuntimeError):
            in_use.settle("ns", "v2")
    assert patches == ["5", "5", "5"]  # each failed patch left the state free to try again


def test_text_size_counts_strings_and_stops_past_the_limit() -> None:
    assert text_size({"template": "x" * 100, "variables": ["ab"]}, 1000) == 100 + 8 + 2 + 9
    deep: Any = "leaf"
    for _ in range(50_000):  # nesting far past Python's recursion limit
        deep = {"k": deep}
    assert text_size(deep, 10**9) > 0
    assert text_size(["y" * 10] * 1000, 25) <= 35


# -- indexes kept from the watches ----------------------------------------------------------------


def _release(name: str, version: str, config_map: str, namespace: str = "ns") -> dict[str, Any]:
    return {
        "apiVersion": "promptrelease.io/v1alpha1",
        "kind": "PromptRelease",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"prompt": "p", "label": name, "version": version, "configMapName": config_map},
    }


RELEASE_KIND = ("promptrelease.io", "promptreleases")
VERSION_KIND = ("promptrelease.io", "promptversions")


def _release_informers() -> Informers:
    from prompt_release.operator import releases, versions

    return Informers(
        {
            RELEASE_KIND: [
                OwnIndex("releases_by_version", releases.releases_by_version),
                OwnIndex("release_links", versions.release_links),
            ],
            VERSION_KIND: [OwnIndex("versions_by_label", versions.versions_by_label)],
        }
    )


def test_an_own_index_answers_as_a_kopf_index_and_follows_each_object() -> None:
    informers = _release_informers()
    tap = informers.tap(RELEASE_KIND)
    tap(None, _release("a", "v1", "cm-a"))
    tap(None, _release("b", "v1", "cm-b"))
    tap(None, _release("a", "v1", "cm-a", namespace="other"))
    seen = informers.views({"other": 1})
    by_version = seen["releases_by_version"]
    assert seen["other"] == 1
    assert sorted(by_version.get(("ns", "v1"), ())) == ["a", "b"]
    assert by_version.get(("ns", "v2"), ()) == ()
    assert sorted(by_version[("ns", "v1")]) == ["a", "b"]
    assert sorted(by_version) == [("ns", "v1"), ("other", "v1")]
    assert ("other", "v1") in by_version and len(by_version) == 2
    assert len(seen["release_links"][("ns", "v1")]) == 2  # one tuple of links per release
    tap("MODIFIED", _release("a", "v2", "cm-a"))  # moves: gone from its old key
    assert by_version[("ns", "v1")] == ("b",) and by_version[("ns", "v2")] == ("a",)
    for event in (None, "MODIFIED", "MODIFIED"):  # a second object on one key, then the same
        tap(event, _release("c", "v2", "cm-c"))
        assert sorted(by_version[("ns", "v2")]) == ["a", "c"]
    tap("DELETED", _release("a", "v2", "cm-a"))
    assert by_version[("ns", "v2")] == ("c",)
    tap("DELETED", _release("b", "v1", "cm-b"))
    assert ("ns", "v1") not in by_version and by_version.get(("ns", "v1")) is None
    with pytest.raises(KeyError):
        by_version[("ns", "v1")]


def test_a_failing_index_function_leaves_the_object_out_and_the_others_in() -> None:
    def picky(name: str, **_: Any) -> dict[Any, Any]:
        if name == "bad":
            raise ValueError("an index function's own failure")
        return {name: name}

    index = OwnIndex("picky", picky)
    informers = Informers({RELEASE_KIND: [index]})
    informers.tap(RELEASE_KIND)(None, _release("good", "v1", "cm"))
    informers.tap(RELEASE_KIND)(None, _release("bad", "v1", "cm"))
    assert list(index) == ["good"]


def test_kinds_sharing_an_index_keep_their_objects_apart() -> None:
    shared = OwnIndex("by_name_seen", lambda name, body, **_: {name: body["kind"]})
    deployments, stateful_sets = ("apps", "deployments"), ("apps", "statefulsets")
    informers = Informers({deployments: [shared], stateful_sets: [shared]})
    deployment = {"kind": "Deployment", "metadata": {"namespace": "ns", "name": "web"}}
    stateful_set = {"kind": "StatefulSet", "metadata": {"namespace": "ns", "name": "web"}}
    informers.tap(deployments)(None, deployment)
    informers.tap(stateful_sets)(None, stateful_set)
    assert sorted(shared["web"]) == ["Deployment", "StatefulSet"]
    informers.tap(deployments)("DELETED", deployment)
    assert shared["web"] == ("StatefulSet",)


def test_a_relisting_forgets_what_went_while_the_watch_was_down() -> None:
    informers = _release_informers()
    tap, listed = informers.tap(RELEASE_KIND), informers.listed(RELEASE_KIND)
    for name in ("a", "b"):
        tap(None, _release(name, name, "cm"))
        tap(None, _release(name, name, "cm", namespace="other"))
    listed(None, {("ns", "a"), ("ns", "b"), ("other", "a"), ("other", "b")})
    tap(None, _release("a", "a", "cm"))
    listed("ns", {("ns", "a")})  # "b" was deleted while no watch ran: no event said so
    by_version = informers.indexes["releases_by_version"]
    assert sorted(by_version) == [("ns", "a"), ("other", "a"), ("other", "b")]


# -- the gate of the handlers ----------------------------------------------------------------------


def test_a_namespace_opens_once_every_kind_is_listed_there_or_cluster_wide() -> None:
    listings = Listings([RELEASE_KIND, VERSION_KIND])
    made: list[str] = []
    listings.hold("ns", "x", lambda: made.append("first x"))
    listings.hold("ns", "x", lambda: made.append("latest x"))  # replaces, keeps no order slot
    listings.hold("ns", "y", lambda: made.append("y"))
    listings.hold("other", "z", lambda: made.append("z"))
    listings.listed(RELEASE_KIND, "ns")
    assert not listings.is_open("ns") and made == [] and listings.held() == 3
    listings.listed(VERSION_KIND, None)  # cluster-wide counts for every namespace
    assert listings.is_open("ns") and not listings.is_open("other")
    assert made == ["latest x", "y"] and listings.held() == 1
    listings.listed(RELEASE_KIND, None)
    assert made == ["latest x", "y", "z"] and listings.held() == 0
    listings.listed(RELEASE_KIND, None)  # a re-listing opens nothing twice
    assert made == ["latest x", "y", "z"]


def test_a_held_call_runs_with_the_context_values_it_was_held_in() -> None:
    import contextvars

    queue: contextvars.ContextVar[str] = contextvars.ContextVar("queue")
    listings = Listings([RELEASE_KIND], carried=[queue])
    seen: list[str | None] = []

    def hold() -> None:  # as kopf's handling of an object: the variable is set there
        queue.set("kopf's event queue")
        listings.hold("ns", "x", lambda: seen.append(queue.get(None)))

    contextvars.copy_context().run(hold)
    assert queue.get(None) is None
    listings.listed(RELEASE_KIND, "ns")  # made from a watch stream: not set there
    assert seen == ["kopf's event queue"] and queue.get(None) is None


def test_a_held_call_that_fails_does_not_stop_the_others() -> None:
    listings = Listings([RELEASE_KIND])
    made: list[str] = []
    listings.hold("ns", "bad", lambda: 1 / 0)
    listings.hold("ns", "good", lambda: made.append("good"))
    listings.listed(RELEASE_KIND, "ns")
    assert made == ["good"]


def test_handlers_wait_for_their_namespace_and_see_the_indexes_when_they_run() -> None:
    informers = _release_informers()
    calls: list[tuple[str, str, tuple[str, ...]]] = []

    def handler(type: str | None, name: str, **indexes: Any) -> None:
        named = indexes["releases_by_version"].get(("ns", "v1"), ())
        calls.append((type or "listed", name, tuple(sorted(named))))

    gated = informers.gate(handler)

    def event(type: str | None, name: str) -> None:
        body = _release(name, "v1", "cm")
        informers.tap(RELEASE_KIND)(type, body)
        kwargs = {"type": type, "name": name, "namespace": "ns", "body": body, "patch": object()}
        gated(**kwargs)

    event(None, "a")
    event(None, "b")
    event("MODIFIED", "a")
    assert calls == [] and informers.listings.held() == 2
    informers.listed(RELEASE_KIND)("ns", {("ns", "a"), ("ns", "b")})
    assert calls == []  # versions not listed yet
    informers.listed(VERSION_KIND)(None, set())
    # The latest event of each object, in the order they last came, with complete indexes.
    assert calls == [("listed", "b", ("a", "b")), ("MODIFIED", "a", ("a", "b"))]
    event("DELETED", "b")  # open: called at once
    assert calls[-1] == ("DELETED", "b", ("a",))


def test_the_stream_calls_a_kinds_handler_itself_and_kopf_gets_only_what_is_its_own() -> None:
    """An event handler registered with Informers.on_event is called with each event as kopf
    would call it (gated by the listings), and kopf is told only of the events `kopfs` says
    are its own (a version in its deletion cycle): kopf keeps nothing of the rest."""
    import kopf

    from prompt_release.core.protection import FINALIZER
    from prompt_release.operator.protection import being_deleted

    informers = _release_informers()
    calls: list[tuple[str | None, str, str | None, bool]] = []

    def handler(type: str | None, name: str, namespace: str | None, body: Any, **kw: Any) -> None:
        if name == "bad":
            raise ValueError("a handler's own failure")
        calls.append(
            (type, name, namespace, "versions_by_label" in kw and body is kw["event"]["object"])
        )

    registry = kopf.OperatorRegistry()
    informers.on_event(
        registry,
        ("promptrelease.io", "v1alpha1", "promptversions"),
        "v",
        handler,
        kopfs=being_deleted,
    )
    assert len(registry._watching.get_all_handlers()) == 1  # kopf watches the kind
    direct = informers.direct[VERSION_KIND]

    def event(type: str | None, name: str, **meta: Any) -> dict[str, Any]:
        return {"type": type, "object": {"metadata": {"namespace": "ns", "name": name, **meta}}}

    assert direct(event(None, "v1"))  # handled (held: not listed yet)
    assert calls == []
    informers.listed(RELEASE_KIND)(None, set())
    informers.listed(VERSION_KIND)(None, {("ns", "v1")})
    assert calls == [(None, "v1", "ns", True)]
    assert direct(event("MODIFIED", "v1")) and direct(event("MODIFIED", "bad"))  # failure logged
    deleting = {"deletionTimestamp": "2026-01-01T00:00:00Z"}
    assert direct(event("MODIFIED", "v2", **deleting))  # no finalizer: nothing for kopf to do
    finalized = {**deleting, "finalizers": [FINALIZER]}
    assert not direct(event("MODIFIED", "v3", **finalized))  # kopf's deletion cycle
    assert not direct({"type": "BOOKMARK", "object": {"metadata": {}}})
    assert [c[:2] for c in calls] == [(None, "v1"), ("MODIFIED", "v1"), ("MODIFIED", "v2")]


def _through_the_stream(kind: tuple[str, str], stream: list[Any]) -> list[Any]:
    """What kopf gets of `stream` (events of `kind` in namespace "ns") through startup's wrapper."""
    from types import SimpleNamespace

    from prompt_release.operator import startup

    async def watch(**_: Any) -> Any:
        for event in stream:
            yield event

    async def scenario() -> list[Any]:
        resource = SimpleNamespace(group=kind[0], plural=kind[1])
        return [event async for event in startup._slimmed(watch)(resource=resource, namespace="ns")]

    return asyncio.run(scenario())


def test_a_stream_passes_kopf_only_the_events_its_handler_did_not_take() -> None:

    from prompt_release.operator import startup

    kind = ("promptrelease.io", "promptreleases")
    taken: list[str] = []

    def handle(raw_event: Any) -> bool:
        taken.append(raw_event["object"]["metadata"]["name"])
        return bool(raw_event["object"]["metadata"]["name"] != "kopfs")

    stream = [{"type": None, "object": {"metadata": {"name": n}}} for n in ("a", "kopfs", "b")]

    startup.WATCH_HANDLERS[kind] = handle
    try:
        passed = _through_the_stream(kind, stream)
    finally:
        del startup.WATCH_HANDLERS[kind]
    assert taken == ["a", "kopfs", "b"] and passed == [stream[1]]


def test_a_watch_stream_runs_with_kopfs_event_queue_at_hand() -> None:
    """kopf sets its Event queue only in the task of each object it processes; a handler the
    stream calls directly posts Events through the same queue."""
    import functools

    from kopf._core.engines import posting

    from prompt_release.operator import startup

    queue: asyncio.Queue[Any] = asyncio.Queue()
    found: list[Any] = []

    async def watcher(**kwargs: Any) -> None:
        found.append(posting.event_queue_var.get(None))

    def process(*, event_queue: Any, resource: Any, raw_event: Any = None) -> None:
        pass

    processor = functools.partial(functools.partial(process, event_queue=queue), resource="r")
    asyncio.run(startup._posting(watcher)(processor=processor, namespace="ns"))
    asyncio.run(startup._posting(watcher)(processor=functools.partial(process, resource="r")))
    assert found == [queue, None]  # another processor (kopf's peering) has no queue to give


def test_a_handler_that_ignores_first_listings_has_none_held() -> None:
    informers = _release_informers()
    calls: list[tuple[str | None, str]] = []
    gated = informers.gate(lambda type, name, **_: calls.append((type, name)), hold_listed=False)
    gated(type=None, name="a", namespace="ns", body={})  # dropped: nothing kept meanwhile
    gated(type="MODIFIED", name="b", namespace="ns", body={})  # held
    assert informers.listings.held() == 1
    informers.listed(RELEASE_KIND)(None, set())
    informers.listed(VERSION_KIND)(None, set())
    gated(type=None, name="c", namespace="ns", body={})  # a re-listing, once open: called
    assert calls == [("MODIFIED", "b"), (None, "c")]


def test_a_deletion_handler_asks_kopf_to_retry_until_its_namespace_is_listed() -> None:
    import kopf

    informers = _release_informers()
    deleted = informers.threaded(
        lambda name, **indexes: ("deleted", name, "release_links" in indexes)
    )
    with pytest.raises(kopf.TemporaryError):
        deleted(name="v1", namespace="ns")
    informers.listed(RELEASE_KIND)(None, set())
    informers.listed(VERSION_KIND)(None, set())
    assert deleted(name="v1", namespace="ns") == ("deleted", "v1", True)


# -- a version's status judged from memory --------------------------------------------------------


def test_a_version_is_judged_from_memory_only_once_the_watch_has_caught_up_with_our_write() -> None:
    from typing import cast

    from prompt_release.kube import Kube
    from prompt_release.operator.options import Options
    from prompt_release.operator.versions import Versions

    versions = Versions(cast(Kube, None), Options(), Recent())
    key = ("ns", "summarizer-v1")

    def seen(resource_version: str) -> dict[str, Any]:
        meta = {"name": key[1], "namespace": key[0], "uid": "u", "generation": 1}
        return {"metadata": {**meta, "resourceVersion": resource_version}, "spec": {}}

    assert versions._latest(*key) is None  # never seen: read it
    versions.recent.put(key, "state", seen("5"), {})
    assert versions._latest(*key) == seen("5")
    versions.written.note(key, "6")  # our status write made 6; its echo isn't back yet
    assert versions._latest(*key) is None
    versions.recent.put(key, "state", seen("6"), {})
    assert versions._latest(*key) == seen("6")
    versions.recent.put(key, "state", seen("7"), {})  # a finalizer patch after our write
    assert versions._latest(*key) is None  # newer or older than ours? read it


def test_a_version_no_release_names_waits_for_one_while_releases_are_changing() -> None:
    """In a burst the release naming a new version may be right behind it: its first status
    (hash and releasedAs) waits for it, at most version_status_burst_wait: one write."""
    from typing import cast

    from prompt_release.core import version as version_core
    from prompt_release.kube import Kube
    from prompt_release.operator.options import Options
    from prompt_release.operator.versions import BUSY_SECONDS, Versions

    versions = Versions(cast(Kube, None), Options(version_status_burst_wait=2.0), Recent())
    asked: list[float] = []
    written: list[str] = []

    def refresh(namespace: str, name: str, delay: float | None = None, waited: float = 0.0) -> None:
        asked.append(waited)

    def reconcile(namespace: str, name: str, release_links: Any) -> list[str]:
        written.append(name)
        return []

    setattr(versions, "refresh", refresh)  # noqa: B010 (an instance's method, replaced)
    setattr(versions, "reconcile", reconcile)  # noqa: B010
    links: dict[tuple[str, str], list[tuple[version_core.Link, ...]]] = {}
    versions._release_links = cast(Any, links)
    for name, status in (("v1", {}), ("v2", {}), ("v3", {"hash": "sha256:0"})):
        versions.recent.put(("ns", name), "state", {"metadata": {}, "status": status}, {})

    versions._refresh("ns", "v1", 0.25)  # quiet: no release changed lately
    assert written == ["v1"] and asked == []

    versions._release_event_at = time.monotonic()  # a release event just came
    versions._refresh("ns", "v1", 0.25)
    assert written == ["v1"] and asked == [0.25]  # asked again later, not written
    versions._refresh("ns", "v1", 2.0)  # waited long enough
    assert written == ["v1", "v1"]

    links[("ns", "v2")] = [(("v2", version_core.SERVES, "production"),)]
    versions._refresh("ns", "v2", 0.25)  # a release names it: written at once
    assert written == ["v1", "v1", "v2"]

    versions._refresh("ns", "v3", 0.25)  # not new (its status has a hash): written at once
    versions._refresh("ns", "v4", 0.25)  # not in memory (too big to keep): written at once
    assert written == ["v1", "v1", "v2", "v3", "v4"]

    versions._release_event_at = time.monotonic() - BUSY_SECONDS

    def release(generation: int, status: dict[str, Any]) -> dict[str, Any]:
        meta = {"name": "r", "namespace": "ns", "uid": "u", "generation": generation}
        return {"metadata": meta, "spec": {}, "status": status}

    indexes = {"release_links": links, "versions_by_label": {}}
    versions.release_event(None, release(1, {}), "ns", "r", **indexes)  # listed at start
    assert not versions.releases_busy()
    versions.release_event("MODIFIED", release(1, {"revision": 1}), "ns", "r", **indexes)
    assert not versions.releases_busy()  # our own status write coming back
    versions.release_event("MODIFIED", release(2, {"revision": 1}), "ns", "r", **indexes)
    assert versions.releases_busy()  # its spec changed
    versions._release_event_at = time.monotonic() - BUSY_SECONDS
    versions._refresh("ns", "v1", 0.25)
    assert written[-1] == "v1" and len(asked) == 1


# -- slimmed watch events -----------------------------------------------------------------------


def test_watched_objects_keep_only_the_spec_version_owners_of_their_managed_fields() -> None:
    owner = {
        "manager": "kubectl",
        "operation": "Apply",
        "time": "2026-01-01T00:00:00Z",
        "fieldsV1": {"f:spec": {"f:version": {}, "f:prompt": {}}},
    }
    status = {"manager": "op", "subresource": "status", "fieldsV1": {"f:status": {}}}
    release = {
        "type": "MODIFIED",
        "object": {"metadata": {"name": "r", "managedFields": [owner, status]}},
    }
    assert slim(release)["object"]["metadata"]["managedFields"] == [
        {**owner, "fieldsV1": {"f:spec": {"f:version": {}}}}
    ]
    config_map = {"type": None, "object": {"metadata": {"name": "c", "managedFields": [status]}}}
    assert slim(config_map) == {"type": None, "object": {"metadata": {"name": "c"}}}
    for other in ({"type": "BOOKMARK", "object": {"metadata": {}}}, {"type": "ERROR"}, "LISTED"):
        assert slim(other) == other


def test_watched_names_are_interned_so_every_memory_keys_on_one_copy() -> None:
    def event() -> dict[str, Any]:
        name, namespace, uid = (
            "".join(["summarizer-", "production"]),
            "".join(["n", "s"]),
            "".join(["0b1c2d3e", "-4f5a"]),
        )
        return {
            "type": None,
            "object": {"metadata": {"name": name, "namespace": namespace, "uid": uid}},
        }

    first, second = slim(event())["object"]["metadata"], slim(event())["object"]["metadata"]
    assert all(first[field] is second[field] for field in ("name", "namespace", "uid"))
    assert slim({"type": None, "object": {"metadata": {"name": None}}})  # nothing to intern


def test_prompt_objects_drop_the_copy_client_side_apply_keeps_and_config_maps_keep_it() -> None:
    applied = {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "team": "a"}
    version = {
        "type": "ADDED",
        "object": {
            "apiVersion": "promptrelease.io/v1alpha1",
            "metadata": {"name": "v", "annotations": dict(applied)},
        },
    }
    assert slim(version)["object"]["metadata"]["annotations"] == {"team": "a"}
    # A ConfigMap's annotations go back in its replacement: they are kept as they are.
    config_map = {
        "type": "ADDED",
        "object": {"apiVersion": "v1", "metadata": {"name": "c", "annotations": dict(applied)}},
    }
    assert slim(config_map)["object"]["metadata"]["annotations"] == applied


# -- the bounded memory shared by both --------------------------------------------------------


def test_lru_forgets_the_least_recently_used() -> None:
    from prompt_release.core.lru import LRU

    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # now the most recent
    lru.put("c", 3)
    assert (lru.get("b"), lru.get("a"), lru.get("c"), len(lru)) == (None, 1, 3, 2)
    lru.put("a", 9)  # replaced, and the most recent
    lru.put("d", 4)
    assert (lru.get("a"), lru.get("c"), lru.get("d")) == (9, None, 4)
    lru.drop("a")
    lru.drop("d")
    assert (lru.get("a"), lru.get("c"), len(lru)) == (None, None, 0)


def test_lru_bounded_by_weight_drops_the_oldest_and_refuses_what_alone_is_too_heavy() -> None:
    from prompt_release.core.lru import LRU

    lru: LRU[str, str] = LRU(100, max_weight=10, weigh=len)
    assert lru.put("a", "xxxx") == [] and lru.put("b", "xxxx") == []
    assert lru.put("c", "xxxx") == [("a", "xxxx")] and lru.weight == 8  # over 10: a went
    assert lru.put("b", "x") == [] and lru.weight == 5  # replaced: its old weight is gone
    assert lru.put("d", "x" * 11) == [] and lru.get("d") is None  # alone over the bound
    assert (lru.get("b"), lru.get("c"), len(lru)) == ("x", "xxxx", 2)
    assert lru.put("e", "x" * 9) == [("b", "x"), ("c", "xxxx")] and lru.weight == 9
    lru.drop("e")
    assert lru.weight == 0 and len(lru) == 0


def test_watch_streams_feed_their_taps_and_say_when_each_listing_is_complete() -> None:

    from kopf._cogs.clients.watching import Bookmark

    from prompt_release.operator import startup

    seen: list[tuple[str | None, str]] = []
    listings: list[tuple[str | None, set[tuple[str | None, str]]]] = []
    kind = ("promptrelease.io", "promptversions")

    def tap(type: str | None, body: dict[str, Any]) -> None:
        if body["metadata"]["name"] == "bad":
            raise ValueError("a tap's own failure")
        seen.append((type, body["metadata"]["name"]))

    def version(type: str | None, name: str) -> dict[str, Any]:
        return {"type": type, "object": {"metadata": {"namespace": "ns", "name": name}}}

    stream = [
        version(None, "v1"),
        version(None, "bad"),
        Bookmark.LISTED,
        {"type": "BOOKMARK", "object": {"metadata": {}}},
        version("MODIFIED", "v1"),
        version(None, "v2"),  # a re-listing after the watch broke
        Bookmark.LISTED,
        version("DELETED", "v2"),
    ]

    saved_taps, saved_listed = dict(startup.WATCH_TAPS), dict(startup.WATCH_LISTED)
    startup.WATCH_TAPS[kind] = [tap]
    startup.WATCH_LISTED[kind] = [lambda namespace, refs: listings.append((namespace, set(refs)))]
    try:
        passed = _through_the_stream(kind, stream)
    finally:
        startup.WATCH_TAPS.clear()
        startup.WATCH_TAPS.update(saved_taps)
        startup.WATCH_LISTED.clear()
        startup.WATCH_LISTED.update(saved_listed)
    assert passed == stream  # kopf sees every event, in order
    assert seen == [(None, "v1"), ("MODIFIED", "v1"), (None, "v2"), ("DELETED", "v2")]
    assert listings == [("ns", {("ns", "v1"), ("ns", "bad")}), ("ns", {("ns", "v2")})]


def test_a_recent_memory_as_a_watch_tap_keeps_each_latest_body_and_drops_it_when_gone() -> None:
    from prompt_release.operator.echoes import resource_version

    recent = Recent()
    keep = recent.tap(resource_version, "data")
    meta = {"namespace": "ns", "name": "c", "resourceVersion": "3"}
    keep(None, {"metadata": meta, "data": {"k": "v"}})
    assert recent.get(("ns", "c")) == ("3", {"metadata": meta, "data": {"k": "v"}})
    keep("DELETED", {"metadata": meta})
    assert recent.get(("ns", "c")) is None


# -- the C heap's free memory --------------------------------------------------------------------


def test_the_heap_is_trimmed_once_enough_was_freed_since_the_last_look() -> None:
    from types import SimpleNamespace

    from prompt_release.operator.heap import FREED, Keeper

    free = [10]
    trims: list[int] = []
    libc: Any = SimpleNamespace(
        mallinfo2=lambda: SimpleNamespace(fordblks=free[0]),
        malloc_trim=lambda pad: trims.append(pad),
    )
    keeper = Keeper(libc, cpu=lambda: 0.0, collect=lambda: 0)
    free[0] = 10 + FREED - 1  # less than FREED more: nothing to do
    keeper.look()
    assert trims == []
    free[0] = 5  # reused: what is freed counts from here
    keeper.look()
    free[0] = 5 + FREED
    keeper.look()
    assert trims == [0] and keeper.trims == 1
    keeper.look()  # the same free bytes (their pages already returned)
    assert keeper.trims == 1 and keeper.collections == 0


def test_a_full_collection_runs_once_idle_after_enough_work() -> None:
    from prompt_release.operator.heap import WORK, Keeper

    cpu = [0.0]
    collected: list[float] = []

    def collect() -> int:
        collected.append(cpu[0])
        return 0

    keeper = Keeper(None, every=2.0, cpu=lambda: cpu[0], collect=collect)
    cpu[0] += WORK / 2  # busy
    keeper.look()
    cpu[0] += 0.001  # idle, but not enough work since the last one
    keeper.look()
    assert collected == []
    cpu[0] += WORK  # busy: never while work goes on
    keeper.look()
    assert collected == []
    cpu[0] += 0.001  # idle after work: one collection
    keeper.look()
    cpu[0] += 0.001
    keeper.look()  # and not again until more work
    assert collected == [WORK * 1.5 + 0.002] and keeper.collections == 1


def test_the_heap_is_trimmed_after_each_idle_collection() -> None:
    """A full collection once idle frees what work left behind: its pages go back at once,
    however little is free."""
    from types import SimpleNamespace

    from prompt_release.operator.heap import WORK, Keeper

    cpu, trims = [0.0], [0]
    libc: Any = SimpleNamespace(
        mallinfo2=lambda: SimpleNamespace(fordblks=10),
        malloc_trim=lambda pad: trims.__setitem__(0, trims[0] + 1),
    )
    keeper = Keeper(libc, every=2.0, cpu=lambda: cpu[0], collect=lambda: 0)
    cpu[0] += WORK  # busy: neither
    keeper.look()
    assert (keeper.collections, trims[0]) == (0, 0)
    cpu[0] += 0.001  # idle after work: a collection, then a trim
    keeper.look()
    assert (keeper.collections, trims[0], keeper.trims) == (1, 1, 1)
    keeper.look()  # idle, no work since: neither
    assert (keeper.collections, trims[0]) == (1, 1)


def test_the_heap_of_this_process_is_trimmed_once_enough_is_freed() -> None:
    from prompt_release.operator import heap

    libc = heap._glibc()
    keeper = heap.Keeper(libc, cpu=lambda: 0.0, collect=lambda: 0)
    if libc is None:  # not glibc: the operator leaves the C heap alone
        keeper.look()
        assert keeper.trims == 0
        return
    blocks = [bytearray(4096) for _ in range(8192)]  # 32 MiB from malloc (over 512 bytes each)
    del blocks[::2]  # 16 MiB free between the ones kept: nothing at the top to give back
    assert heap.free_bytes(libc) >= heap.FREED
    keeper.look()
    assert keeper.trims == 1
    del blocks


# -- metrics ------------------------------------------------------------------------------------


def test_release_metrics_count_readiness_and_name_the_live_revision() -> None:
    from prompt_release.operator.metrics import _Releases

    def view(name: str) -> ReleaseView:
        spec = {"prompt": name, "label": "production", "version": f"{name}-v1"}
        return ReleaseView.of({"metadata": {"namespace": "ns", "name": name}, "spec": spec})

    def ready(status: str) -> dict[str, Any]:
        return {"type": "Ready", "status": status}

    releases = _Releases()
    releases.record(view("a"), {"revision": 3, "conditions": [ready("True")]})
    releases.record(view("b"), {"conditions": [ready("False")]})
    releases.record(view("c"), {"revision": 1, "conditions": [ready("True")]})
    releases.forget("ns", "c")
    by_ready, revision = releases.collect()
    assert {s.labels["ready"]: s.value for s in by_ready.samples} == {
        "true": 1,
        "false": 1,
        "unknown": 0,
    }
    assert [(s.labels, s.value) for s in revision.samples] == [
        ({"namespace": "ns", "release": "a", "prompt": "a", "label": "production"}, 3.0)
    ]
