"""The operator's token counter: a child process that counts as lint does in-process, leaves
when idle, and comes back on the next count."""

from __future__ import annotations

import os
import signal
import time

from prompt_release.core import tokens
from prompt_release.operator.token_counter import TokenCounter

TEXTS = ["Hello, world!", "ünïcödé 🙂 漢字", "", "word " * 20_000]


def test_the_child_counts_as_the_process_does_and_leaves_when_idle() -> None:
    counter = TokenCounter(idle=0.5)
    try:
        assert counter(TEXTS) == tokens.count_all(TEXTS)
        first = counter._process
        assert first is not None and first.poll() is None
        time.sleep(1.5)
        assert first.poll() == 0  # gone: its memory with it
        assert counter(["hello world"]) == [2]  # a new one
        assert counter._process is not first
    finally:
        counter.close()
    assert counter._process is None


def test_a_killed_child_is_replaced() -> None:
    counter = TokenCounter(idle=30)
    try:
        assert counter(["hello world"]) == [2]
        assert counter._process is not None
        os.kill(counter._process.pid, signal.SIGKILL)
        counter._process.wait()
        assert counter(["Hello, world!"]) == [4]
    finally:
        counter.close()
