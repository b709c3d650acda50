"""Two operator processes on the same objects without peering (a misconfiguration: two
replicas without --peering): writes guarded by resourceVersion keep every revision whole."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from prompt_release.kube import Kube
from tests.faults.harness import Fleet, Recorder, Size, audit, report, until
from tests.kube import OperatorProcess

pytestmark = pytest.mark.integration


def test_two_operators_without_peering_lose_no_update_and_duplicate_no_revision(
    api: Kube,
    namespace: str,
    run_operator: Callable[..., OperatorProcess],
    recorder: Recorder,
    size: Size,
) -> None:
    fleet = Fleet.create(api, namespace, size.releases, size.versions)
    first, second = run_operator(), run_operator()  # both standalone: no peering
    until(fleet.converged, 120, "the first releases")
    for round_ in range(size.rounds):
        fleet.burst(round_, size.flips)
    last_write = time.monotonic()
    until(fleet.converged, 180, "every release to serve its spec")
    converged = time.monotonic() - last_write
    time.sleep(2)  # both operators have seen the last writes
    problems = audit(fleet, recorder)
    report(
        "two operators without peering",
        rounds=size.rounds,
        objects=fleet.objects,
        spec_writes=fleet.spec_writes,
        rollbacks=fleet.rollbacks,
        converged_in=f"{converged:.1f} s after the last write",
        operator_writes=recorder.operator_writes,
        lost=len(problems),
    )
    if problems:
        Path("/tmp/timeline.txt").write_text(
            "\n".join(f"{rv} {what}" for rv, what in sorted(recorder.timeline))
        )
    assert not problems, "\n".join(problems)
    assert first.healthy() and second.healthy()
