"""What every fault test shares: sizes, a fleet of releases, bursts of flips, a recorder of
every write, the audit of the end state, and the figures each fault reports.

The audit is the contract under faults: every release serves exactly its spec; its history has
no duplicate, missing or out-of-order revision and no revision that repeats the one before;
every ConfigMap is byte for byte the payload of its release's live revision; and no revision
number was ever seen (in a status or a ConfigMap) meaning two different things.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, cast

from kubernetes import client as generated_api
from kubernetes import config, watch

from prompt_release import CRD_VERSION, GROUP, RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import configmap, payload
from prompt_release.kube import Kube, is_status
from tests.prompts import release, version

log = logging.getLogger("faults")

FIELD_MANAGER = "faults"
HISTORY_LIMIT = 100  # every revision stays in the history, so a missing one shows


@dataclass(frozen=True)
class Size:
    name: str
    releases: int
    versions: int
    """Versions per prompt."""
    rounds: int
    flips: int
    """Spec changes per release per round."""
    restarts: int
    """Control-plane restarts of each kind."""
    fight_seconds: float
    gitops_seconds: float


SIZES = {
    "reduced": Size(
        "reduced",
        releases=4,
        versions=4,
        rounds=3,
        flips=3,
        restarts=1,
        fight_seconds=20,
        gitops_seconds=8,
    ),
    "full": Size(
        "full",
        releases=20,
        versions=6,
        rounds=10,
        flips=6,
        restarts=3,
        fight_seconds=120,
        gitops_seconds=60,
    ),
}


def size() -> Size:
    """FAULTS_SIZE=full (what `make faults` runs) or reduced (the default, inside `make test`)."""
    name = os.environ.get("FAULTS_SIZE", "reduced")
    if name not in SIZES:
        raise ValueError(f"FAULTS_SIZE={name!r}: one of {', '.join(SIZES)}")
    return SIZES[name]


FIGURES: list[str] = []


def report(fault: str, **figures: object) -> str:
    """One line of figures for a fault, shown at the end of the run (and by `make faults`)."""
    line = f"{fault} [{size().name}]: " + ", ".join(
        f"{key.replace('_', ' ')} {value}" for key, value in figures.items()
    )
    FIGURES.append(line)
    print(line)
    return line


class FaultKube(Kube):
    """The shared client, plus the kubernetes client's generated API classes for the
    recorder's watches and a few reads the shared client has no call for."""

    generated: Any

    @cached_property
    def custom(self) -> generated_api.CustomObjectsApi:
        return generated_api.CustomObjectsApi(self.generated)

    @cached_property
    def core(self) -> generated_api.CoreV1Api:
        return generated_api.CoreV1Api(self.generated)

    def plain(self, found: object) -> dict[str, Any]:
        """Custom objects come back as dicts and built-ins as models: always a dict."""
        if isinstance(found, dict):
            return found
        return cast(dict[str, Any], self.generated.sanitize_for_serialization(found))


def client(kubeconfig: Path) -> FaultKube:
    kube = FaultKube.connect(str(kubeconfig), timeout=15)
    kube.generated = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    return kube


def until(probe: Callable[[], bool], timeout: float, what: str, interval: float = 0.25) -> float:
    """Poll until `probe` holds, tolerating API errors (a control plane restarting); the
    seconds it took."""
    started = time.monotonic()
    last: object = None
    while time.monotonic() - started < timeout:
        try:
            if probe():
                return time.monotonic() - started
        except Exception as error:
            last = error
        time.sleep(interval)
    raise AssertionError(f"no {what} within {timeout:.0f} s (last error: {last!r})")


def retrying(call: Callable[[], Any], timeout: float = 120) -> Any:
    """A test's own write, retried while the API server is away (restarting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except Exception as error:
            if is_status(error, 404, 409, 422) or time.monotonic() > deadline:
                raise
            time.sleep(0.25)


# -- the fleet: N prompts, each with V versions and one release -------------------------------


@dataclass
class Fleet:
    kube: Kube
    namespace: str
    prompts: list[str]
    versions: dict[str, list[str]]
    spec_writes: int = 0
    rollbacks: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(os.environ.get("FAULTS_SEED")))

    @classmethod
    def create(cls, kube: Kube, namespace: str, releases: int, versions: int) -> Fleet:
        prompts = [f"p{i}" for i in range(releases)]
        names = {p: [f"{p}-v{j}" for j in range(1, versions + 1)] for p in prompts}
        fleet = cls(kube, namespace, prompts, names)
        for prompt in prompts:
            for name in names[prompt]:
                body = version(name, prompt=prompt)
                body["metadata"]["namespace"] = namespace
                retrying(partial(kube.create, VERSION_PLURAL, body, FIELD_MANAGER))
        for prompt in prompts:
            body = release(names[prompt][0], prompt=prompt, historyLimit=HISTORY_LIMIT)
            body["metadata"]["namespace"] = namespace
            body["spec"]["changelog"] = "first"
            retrying(partial(kube.create, RELEASE_PLURAL, body, FIELD_MANAGER))
            fleet.spec_writes += 1
        return fleet

    @property
    def releases(self) -> list[str]:
        return [f"{prompt}-production" for prompt in self.prompts]

    @property
    def objects(self) -> int:
        """Versions, releases and their ConfigMaps."""
        return sum(len(v) for v in self.versions.values()) + 2 * len(self.prompts)

    def flip(self, prompt: str, note: str) -> None:
        """Point the release at another version, or roll it back to what was live before."""
        name = f"{prompt}-production"
        current = retrying(partial(self.kube.find, RELEASE_PLURAL, self.namespace, name)) or {}
        history = (current.get("status") or {}).get("history") or []
        spec_version = (current.get("spec") or {}).get("version")
        if len(history) > 1 and self.rng.random() < 0.3:
            target, note = str(history[1]["version"]), f"{note} (rollback)"
            self.rollbacks += 1
        else:
            target = self.rng.choice([v for v in self.versions[prompt] if v != spec_version])
        patch = {"spec": {"version": target, "changelog": note}}
        retrying(
            lambda: self.kube.merge_patch(
                RELEASE_PLURAL, self.namespace, name, patch, FIELD_MANAGER
            )
        )
        self.spec_writes += 1

    def burst(self, round_: int, flips: int, pause: float = 0.12) -> None:
        """`flips` spec changes per release, interleaved, with short random pauses."""
        for k in range(flips):
            for prompt in self.rng.sample(self.prompts, len(self.prompts)):
                self.flip(prompt, f"round {round_} flip {k}")
                time.sleep(self.rng.uniform(0, pause))

    def converged(self) -> bool:
        """Every release has seen its spec, is Ready, serves spec.version, and its ConfigMap
        carries the live revision."""
        for name in self.releases:
            body = self.kube.find(RELEASE_PLURAL, self.namespace, name)
            if body is None:
                return False
            status = body.get("status") or {}
            ready = [c for c in status.get("conditions") or () if c["type"] == "Ready"]
            if not (
                status.get("observedGeneration") == body["metadata"]["generation"]
                and ready
                and ready[0]["status"] == "True"
                and status.get("version") == body["spec"]["version"]
            ):
                return False
            cm = self.kube.find_config_map(self.namespace, str(status.get("configMap")))
            annotations = (cm or {}).get("metadata", {}).get("annotations") or {}
            if annotations.get(configmap.REVISION_ANNOTATION) != str(status.get("revision")):
                return False
        return True

    def snapshot(self) -> dict[str, str]:
        """resourceVersion of every version, release and ConfigMap of the fleet."""
        found: dict[str, str] = {}
        for plural in (VERSION_PLURAL, RELEASE_PLURAL):
            for obj in self.kube.list(plural, self.namespace):
                found[f"{plural}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
        for obj in self.kube.list_config_maps(self.namespace, configmap.MANAGED_SELECTOR):
            found[f"configmaps/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
        return found


# -- the audit ---------------------------------------------------------------------------------


def audit(fleet: Fleet, recorder: Recorder | None = None) -> list[str]:
    """Everything wrong with the fleet's end state (empty: all good)."""
    problems: list[str] = []
    kube, namespace = fleet.kube, fleet.namespace
    for name in fleet.releases:
        body = kube.find(RELEASE_PLURAL, namespace, name)
        if body is None:
            problems.append(f"{name}: gone")
            continue
        spec, status = body["spec"], body.get("status") or {}
        target = kube.find(VERSION_PLURAL, namespace, spec["version"])
        assert target is not None
        content_hash = (target.get("status") or {}).get("hash")
        if (status.get("version"), status.get("hash")) != (spec["version"], content_hash):
            problems.append(
                f"{name}: serves {status.get('version')} {status.get('hash')}, "
                f"spec says {spec['version']} {content_hash}"
            )
        problems += [f"{name}: {p}" for p in history_problems(status)]
        problems += [f"{name}: {p}" for p in config_map_problems(kube, body, target)]
        if recorder is not None:
            problems += [f"{name}: {p}" for p in recorder.meanings_problems(name, status)]
    return problems


def history_problems(status: dict[str, Any]) -> list[str]:
    problems = []
    revision = int(status.get("revision") or 0)
    history = list(status.get("history") or [])
    revisions = [int(entry["revision"]) for entry in history]
    expected = list(range(revision, max(revision - HISTORY_LIMIT, 0), -1))
    if revisions != expected:
        duplicated = sorted(r for r, n in Counter(revisions).items() if n > 1)
        missing = sorted(set(expected) - set(revisions))
        problems.append(
            f"history revisions {revisions} (duplicated {duplicated}, missing {missing}, "
            f"expected newest first {expected})"
        )
    for newer, older in itertools.pairwise(history):
        if (newer["version"], newer["hash"]) == (older["version"], older["hash"]):
            problems.append(f"revision {newer['revision']} repeats revision {older['revision']}")
    by_revision = {int(entry["revision"]): entry for entry in history}
    for entry in history:
        restored = by_revision.get(int(entry.get("restores") or 0))
        if restored is not None and (restored["version"], restored["hash"]) != (
            entry["version"],
            entry["hash"],
        ):
            problems.append(f"revision {entry['revision']} restores {restored['revision']} wrongly")
    return problems


def config_map_problems(kube: Kube, body: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """The ConfigMap must be, byte for byte, the payload of the live revision."""
    status = body.get("status") or {}
    name = str(status.get("configMap"))
    cm = kube.find_config_map(body["metadata"]["namespace"], name)
    if cm is None:
        return [f"ConfigMap {name} missing"]
    live = next(
        (e for e in status.get("history") or () if e["revision"] == status.get("revision")), None
    )
    if live is None:
        return [f"no history entry for the live revision {status.get('revision')}"]
    expected = payload.data(
        payload.build(
            target["spec"],
            label=body["spec"]["label"],
            version=str(live["version"]),
            content_hash=str(live["hash"]),
            revision=int(live["revision"]),
            released_at=str(live["releasedAt"]),
            changelog=live.get("changelog"),
        )
    )
    problems = []
    if cm.get("data") != expected:
        got = json.loads((cm.get("data") or {}).get(payload.PAYLOAD_KEY, "{}"))
        want = json.loads(expected[payload.PAYLOAD_KEY])
        differs = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        problems.append(f"ConfigMap {name} differs from revision {live['revision']} in {differs}")
    annotations = cm["metadata"].get("annotations") or {}
    said = (
        annotations.get(configmap.VERSION_ANNOTATION),
        annotations.get(configmap.HASH_ANNOTATION),
        annotations.get(configmap.REVISION_ANNOTATION),
    )
    if said != (live["version"], live["hash"], str(live["revision"])):
        problems.append(f"ConfigMap {name} annotations say {said}")
    return problems


# -- the recorder: every write to the namespace's releases and ConfigMaps, from a watch -------


Meaning = tuple[str, str]  # (version, hash)


@dataclass
class Recorder:
    """Watches the namespace's PromptReleases and ConfigMaps (re-watching across API server
    restarts) and keeps: the writes of each kind, and every (revision -> version, hash) ever
    seen in a release's status or its ConfigMap."""

    kube: FaultKube
    namespace: str
    writes: Counter[str] = field(default_factory=Counter)
    meanings: defaultdict[str, defaultdict[int, dict[Meaning, list[str]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    """release -> revision -> (version, hash) -> where it was seen ("status@rv", "cm@rv")."""
    config_map_events: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[tuple[int, str]] = field(default_factory=list)
    """(resourceVersion, what was seen), for reading a failure."""
    reconnects: int = 0
    _seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Recorder:
        custom, core = self.kube.custom, self.kube.core
        for kind, lister in (
            (
                "release",
                lambda **kw: custom.list_namespaced_custom_object(
                    GROUP, CRD_VERSION, self.namespace, RELEASE_PLURAL, **kw
                ),
            ),
            (
                "configmap",
                lambda **kw: core.list_namespaced_config_map(
                    self.namespace, label_selector=configmap.MANAGED_SELECTOR, **kw
                ),
            ),
        ):
            thread = threading.Thread(
                target=self._watch, args=(kind, lister), name=f"recorder-{kind}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _watch(self, kind: str, lister: Callable[..., Any]) -> None:
        resource_version: str | None = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    listed = self.kube.plain(lister())
                    for item in listed.get("items") or ():
                        item.setdefault("kind", "ConfigMap" if kind == "configmap" else "")
                        self._record(kind, item)
                    resource_version = listed["metadata"]["resourceVersion"]
                stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                    lister, resource_version=resource_version, timeout_seconds=5
                )
                for event in stream:
                    obj = self.kube.plain(event["object"])
                    if event["type"] == "ERROR":
                        resource_version = None  # expired: list again
                        break
                    resource_version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "DELETED":
                        self._record(kind, obj)
                    if self._stop.is_set():
                        return
            except Exception as error:
                if is_status(error, 410):
                    resource_version = None
                with self._lock:
                    self.reconnects += 1
                log.debug("recorder %s: %s", kind, error)
                time.sleep(0.5)

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        key = f"{kind}/{meta['name']}"
        generation = int(meta.get("generation") or 0)
        with self._lock:
            before = self._seen.get(key)
            if before is not None and before[0] == meta["resourceVersion"]:
                return
            self._seen[key] = (meta["resourceVersion"], generation)
            self.timeline.append((int(meta["resourceVersion"]), _describe(kind, obj)))
            if kind == "release":
                if before is None:
                    self.writes["release created"] += 1
                elif before[1] != generation:
                    self.writes["release spec"] += 1
                else:
                    self.writes["release status"] += 1
                status = obj.get("status") or {}
                if status.get("revision"):
                    meaning = (str(status.get("version")), str(status.get("hash")))
                    seen = self.meanings[meta["name"]][int(status["revision"])]
                    seen.setdefault(meaning, []).append(f"status@{meta['resourceVersion']}")
            else:
                self.writes["configmap"] += 1
                self.config_map_events.append(obj)
                annotations = meta.get("annotations") or {}
                owner = configmap.controller_of(obj)
                if owner is not None and annotations.get(configmap.REVISION_ANNOTATION):
                    revision = int(annotations[configmap.REVISION_ANNOTATION])
                    meaning = (
                        str(annotations.get(configmap.VERSION_ANNOTATION)),
                        str(annotations.get(configmap.HASH_ANNOTATION)),
                    )
                    seen = self.meanings[str(owner["name"])][revision]
                    seen.setdefault(meaning, []).append(f"cm@{meta['resourceVersion']}")

    @property
    def operator_writes(self) -> int:
        return self.writes["release status"] + self.writes["configmap"]

    def meanings_problems(self, release_name: str, status: dict[str, Any]) -> list[str]:
        """A revision number seen meaning two things, or something the history says not."""
        problems = []
        history = {
            int(entry["revision"]): (entry["version"], entry["hash"])
            for entry in status.get("history") or ()
        }
        with self._lock:
            seen = {rev: dict(m) for rev, m in self.meanings.get(release_name, {}).items()}
        for revision, meanings in sorted(seen.items()):
            if len(meanings) > 1:
                problems.append(
                    f"revision {revision} was seen serving {len(meanings)} different versions: "
                    + ", ".join(f"{v} ({' '.join(at)})" for (v, _), at in sorted(meanings.items()))
                )
            elif revision in history and history[revision] not in meanings:
                problems.append(
                    f"revision {revision} was seen as {sorted(meanings)}, "
                    f"the history says {history[revision]}"
                )
        return problems


@contextmanager
def recording(kube: FaultKube, namespace: str) -> Iterator[Recorder]:
    recorder = Recorder(kube, namespace).start()
    try:
        yield recorder
    finally:
        recorder.stop()


def _describe(kind: str, obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    if kind == "release":
        status = obj.get("status") or {}
        return (
            f"release {meta['name']} gen {meta.get('generation')} spec "
            f"{(obj.get('spec') or {}).get('version')} status rev {status.get('revision')} "
            f"{status.get('version')} observed {status.get('observedGeneration')}"
        )
    annotations = meta.get("annotations") or {}
    body = json.loads((obj.get("data") or {}).get(payload.PAYLOAD_KEY, "{}"))
    return (
        f"configmap {meta['name']} rev {annotations.get(configmap.REVISION_ANNOTATION)} "
        f"{annotations.get(configmap.VERSION_ANNOTATION)} releasedAt {body.get('releasedAt')} "
        f"changelog {body.get('changelog')!r}"
    )
