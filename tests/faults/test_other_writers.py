"""Other writers on the operator's objects: one fighting it over a managed ConfigMap in a loop
(put back with backoff, announced once, never a hot loop), and a GitOps tool re-applying
unchanged manifests every few seconds (not a single write)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from prompt_release import RELEASE_PLURAL
from prompt_release.core import payload
from prompt_release.core.fights import FOUGHT, FightPolicy
from prompt_release.kube import Kube
from tests.faults.harness import FaultKube, Fleet, Recorder, Size, report, retrying, until
from tests.kube import Kubectl, OperatorProcess
from tests.prompts import release, version

pytestmark = pytest.mark.integration

FIGHTER = "fighter"
WRITER_PERIOD = 0.5
"""How often the fighting writer changes the ConfigMap: far faster than any backoff."""


def _data(kube: Kube, namespace: str, name: str) -> dict[str, str]:
    found = kube.find_config_map(namespace, name)
    return dict((found or {}).get("data") or {})


def _events(kube: FaultKube, namespace: str, name: str, reason: str) -> list[dict[str, Any]]:
    listed = kube.plain(
        kube.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}")
    )
    return [e for e in listed.get("items") or () if e.get("reason") == reason]


def test_a_writer_fighting_over_a_config_map_is_answered_with_backoff_and_an_event(
    api: FaultKube,
    namespace: str,
    run_operator: Callable[..., OperatorProcess],
    recorder: Recorder,
    size: Size,
) -> None:
    fleet = Fleet.create(api, namespace, 1, 2)
    run_operator()
    until(fleet.converged, 120, "the release")
    name = fleet.releases[0]
    body = api.find(RELEASE_PLURAL, namespace, name)
    assert body is not None
    config_map = str(body["status"]["configMap"])
    released = _data(api, namespace, config_map)
    policy = FightPolicy()  # the operator's default

    stop = threading.Event()
    foreign = [0]

    def fight() -> None:
        """Change the prompt text in the ConfigMap, a new text every time, until told to stop."""
        while not stop.is_set():
            foreign[0] += 1
            text = json.loads(released[payload.PAYLOAD_KEY])
            text["template"] = f"hand edit {foreign[0]}: {{ticket}}"
            patch = {"data": {payload.PAYLOAD_KEY: json.dumps(text, indent=2) + "\n"}}
            retrying(
                partial(
                    api.core.patch_namespaced_config_map,
                    config_map,
                    namespace,
                    patch,
                    field_manager=FIGHTER,
                )
            )
            stop.wait(WRITER_PERIOD)

    seen_before = len(recorder.config_map_events)
    status_writes_before = recorder.writes["release status"]
    fighter = threading.Thread(target=fight, name="fighter")
    started = time.monotonic()
    fighter.start()
    time.sleep(size.fight_seconds)
    stop.set()
    fighter.join()
    fought = time.monotonic() - started
    time.sleep(1)  # a revert answering the writer's last change shows in the watch

    def reverts() -> int:
        events = recorder.config_map_events[seen_before:]
        return sum(1 for cm in events if cm.get("data") == released)

    during = reverts()
    status_writes = recorder.writes["release status"] - status_writes_before
    bound = policy.most_writes(fought + 1)
    # Once the writer stops, the last held-back revert puts the released text back.
    restored_in = until(
        lambda: _data(api, namespace, config_map) == released,
        policy.cap + 60,
        "the released ConfigMap back after the fight",
    )
    announced = _events(api, namespace, name, FOUGHT)
    report(
        "writer fighting over a ConfigMap",
        seconds=f"{fought:.0f}",
        objects=fleet.objects,
        foreign_writes=foreign[0],
        operator_reverts=during,
        per_minute=f"{during * 60 / fought:.1f} (bound {bound} in {fought:.0f} s)",
        status_writes=status_writes,
        events=len(announced),
        restored=f"{restored_in:.1f} s after the writer stopped",
        lost=0 if _data(api, namespace, config_map) == released else 1,
    )
    assert foreign[0] >= size.fight_seconds / WRITER_PERIOD / 2, "the writer barely wrote"
    assert 1 <= during <= bound, f"{during} reverts in {fought:.0f} s, at most {bound} expected"
    assert status_writes <= during + 2, f"{status_writes} status writes: a hot loop"
    assert announced and all(e["type"] == "Warning" for e in announced), announced
    assert "another writer" in announced[0]["message"], announced[0]["message"]
    assert len(announced) == 1, [e["message"] for e in announced]


def test_a_gitops_tool_reapplying_unchanged_manifests_causes_zero_writes(
    api: FaultKube,
    admin_kubectl: Kubectl,
    namespace: str,
    run_operator: Callable[..., OperatorProcess],
    recorder: Recorder,
    size: Size,
) -> None:
    kubectl = admin_kubectl.in_namespace(namespace)
    prompts = [f"p{i}" for i in range(size.releases)]
    manifests: dict[str, str] = {}
    for prompt in prompts:
        objects: list[dict[str, Any]] = [
            version(f"{prompt}-v{j}", prompt=prompt) for j in range(1, size.versions + 1)
        ]
        objects.append(release(f"{prompt}-v{size.versions}", prompt=prompt, historyLimit=5))
        manifests[prompt] = "\n---\n".join(json.dumps(o) for o in objects)
    # Argo CD applies client-side by default, Flux server-side: half the prompts each way.
    how = {
        prompt: [] if i % 2 == 0 else ["--server-side", "--field-manager=flux"]
        for i, prompt in enumerate(prompts)
    }

    def sync() -> None:
        for prompt in prompts:
            kubectl.apply(manifests[prompt], *how[prompt])

    run_operator()
    sync()
    fleet = Fleet(api, namespace, prompts, {p: [] for p in prompts})
    until(fleet.converged, 120, "the first sync to be released")
    time.sleep(3)  # whatever follows the first release (version finalizers, statuses) is done
    before = fleet.snapshot()
    writes_before = sum(recorder.writes.values())

    syncs, started = 0, time.monotonic()
    while time.monotonic() - started < size.gitops_seconds:
        sync()
        syncs += 1
        time.sleep(2)
    time.sleep(2)  # a write caused by the last sync would show by now
    after = fleet.snapshot()
    changed = sorted(key for key in before if after.get(key) != before[key])
    writes = sum(recorder.writes.values()) - writes_before
    report(
        "GitOps re-applying unchanged manifests",
        syncs=syncs,
        seconds=f"{time.monotonic() - started:.0f}",
        objects=len(before),
        writes=writes,
        changed=len(changed),
        lost=0,
    )
    assert len(before) == len(prompts) * (size.versions + 2), sorted(before)
    assert not changed, changed
    assert writes == 0, recorder.writes
