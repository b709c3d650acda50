"""The work queue's guarantees (client-go's): keys, one worker per key, timers, backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from prompt_release.kube import ApiError
from prompt_release.operator.runtime.controller import Controller, Result
from prompt_release.operator.runtime.queue import Backoff, ShutDownError, WorkQueue


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_a_key_added_while_waiting_is_queued_once() -> None:
    async def scenario() -> list[str]:
        queue: WorkQueue[str] = WorkQueue("q")
        for key in ("a", "b", "a", "a"):
            queue.add(key)
        got = [await queue.get(), await queue.get()]
        assert len(queue) == 0
        return got

    assert run(scenario()) == ["a", "b"]


def test_a_key_added_while_processing_waits_for_done() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("q")
        queue.add("a")
        assert await queue.get() == "a"
        queue.add("a")  # while a worker holds it
        assert len(queue) == 0  # not handed to a second worker
        queue.done("a")
        assert len(queue) == 1
        assert await queue.get() == "a"

    run(scenario())


def test_add_after_keeps_the_earliest_time() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("q")
        queue.add_after("a", 10)
        queue.add_after("a", 0.01)
        queue.add_after("a", 5)
        assert queue.timed == 1
        assert await asyncio.wait_for(queue.get(), 1) == "a"

    run(scenario())


def test_backoff_doubles_per_failure_up_to_its_cap_and_forget_resets_it() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("q", Backoff(base=1, cap=5))
        assert [queue.add_rate_limited("a") for _ in range(5)] == [1, 2, 4, 5, 5]
        queue.forget("a")
        assert queue.add_rate_limited("a") == 1
        queue.shut_down()

    run(scenario())


def test_a_shut_down_queue_releases_its_waiting_workers() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("q")
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        queue.shut_down()
        with pytest.raises(ShutDownError):
            await waiting

    run(scenario())


class Recorder:
    """A reconciler that notes how many passes of each key run at once."""

    def __init__(
        self, results: list[Result] | None = None, fail: int = 0, error: Exception | None = None
    ) -> None:
        self.running: dict[Hashable, int] = {}
        self.most = 0
        self.passes: list[Hashable] = []
        self.results = results or []
        self.fail = fail
        self.error = error or RuntimeError("boom")

    def gather(self, key: Hashable) -> Hashable:
        return key

    def reconcile(self, key: Hashable, gathered: Hashable) -> Result:
        import time

        self.running[key] = self.running.get(key, 0) + 1
        self.most = max(self.most, self.running[key])
        time.sleep(0.01)
        self.running[key] -= 1
        self.passes.append(key)
        if self.fail:
            self.fail -= 1
            raise self.error
        return self.results.pop(0) if self.results else Result()


def test_a_controller_never_runs_one_key_on_two_workers() -> None:
    async def scenario() -> Recorder:
        recorder = Recorder()
        controller: Controller[str] = Controller("c", recorder, workers=4)
        controller.start()
        for _ in range(20):
            for key in ("a", "b"):
                controller.queue.add(key)
            await asyncio.sleep(0.003)
        await asyncio.sleep(0.1)
        await controller.stop()
        return recorder

    recorder = run(scenario())
    assert isinstance(recorder, Recorder)
    assert recorder.most == 1
    assert 2 <= len(recorder.passes) < 40  # bursts joined the waiting key


def test_a_failing_pass_is_retried_after_its_backoff_and_the_worker_goes_on() -> None:
    async def scenario() -> Recorder:
        recorder = Recorder(fail=2)
        controller: Controller[str] = Controller("c", recorder, 1, Backoff(base=0.01, cap=0.05))
        controller.start()
        controller.queue.add("a")
        await asyncio.sleep(0.3)
        await controller.stop()
        return recorder

    recorder = run(scenario())
    assert isinstance(recorder, Recorder)
    assert recorder.passes == ["a", "a", "a"]


def test_a_pass_asking_to_come_back_is_run_again_after_the_delay() -> None:
    async def scenario() -> Recorder:
        recorder = Recorder([Result(requeue_after=0.05)])
        controller: Controller[str] = Controller("c", recorder, 1)
        controller.start()
        controller.queue.add("a")
        await asyncio.sleep(0.03)
        assert recorder.passes == ["a"]
        await asyncio.sleep(0.1)
        await controller.stop()
        return recorder

    recorder = run(scenario())
    assert isinstance(recorder, Recorder)
    assert recorder.passes == ["a", "a"]


def test_a_pass_refused_because_its_namespace_is_going_is_dropped_not_retried() -> None:
    terminating = ApiError(
        403,
        "Forbidden",
        '{"kind":"Status","reason":"Forbidden","details":{"name":"p","kind":"configmaps",'
        '"causes":[{"reason":"NamespaceTerminating","field":"metadata.namespace"}]},"code":403}',
    )

    async def scenario() -> Recorder:
        recorder = Recorder(fail=5, error=terminating)
        controller: Controller[str] = Controller("c", recorder, 1, Backoff(base=0.01, cap=0.05))
        controller.start()
        controller.queue.add("a")
        await asyncio.sleep(0.2)
        await controller.stop()
        return recorder

    recorder = run(scenario())
    assert isinstance(recorder, Recorder)
    assert recorder.passes == ["a"]


def test_only_a_namespace_termination_counts_as_one() -> None:
    from prompt_release.kube import namespace_terminating

    rbac = ApiError(403, "Forbidden", '{"kind":"Status","reason":"Forbidden","code":403}')
    assert not namespace_terminating(rbac)
    assert not namespace_terminating(ApiError(403, "Forbidden", "not json"))
    assert not namespace_terminating(RuntimeError("boom"))
