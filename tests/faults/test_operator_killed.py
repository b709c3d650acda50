"""The operator SIGKILLed at random moments while releases flip and roll back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from prompt_release.kube import Kube
from tests.faults.harness import Fleet, Recorder, Size, audit, report, until
from tests.kube import OperatorProcess

pytestmark = pytest.mark.integration


def test_killed_at_random_moments_every_release_serves_its_spec_with_a_whole_history(
    api: Kube,
    namespace: str,
    run_operator: Callable[..., OperatorProcess],
    recorder: Recorder,
    size: Size,
) -> None:
    fleet = Fleet.create(api, namespace, size.releases, size.versions)
    current = [run_operator()]
    until(fleet.converged, 120, "the first releases")
    kills = 0

    def kill_twice(burst_seconds: float) -> None:
        """Kill it during the burst, restart it, kill it again while it catches up."""
        nonlocal kills
        for delay in (fleet.rng.uniform(0, burst_seconds), fleet.rng.uniform(0, 1.5)):
            time.sleep(delay)
            current[0].process.kill()
            current[0].process.wait()
            kills += 1
            current[0] = run_operator()

    burst_seconds = size.releases * size.flips * 0.09
    for round_ in range(size.rounds):
        killer = threading.Thread(target=kill_twice, args=(burst_seconds,))
        killer.start()
        fleet.burst(round_, size.flips)
        last_write = time.monotonic()
        killer.join()
    until(fleet.converged, 180, "every release to serve its spec")
    problems = audit(fleet, recorder)
    report(
        "operator SIGKILLed",
        rounds=size.rounds,
        kills=kills,
        objects=fleet.objects,
        spec_writes=fleet.spec_writes,
        rollbacks=fleet.rollbacks,
        converged_in=f"{time.monotonic() - last_write:.1f} s after the last write",
        operator_writes=recorder.operator_writes,
        lost=len(problems),
    )
    assert not problems, "\n".join(problems)
    assert current[0].healthy()
