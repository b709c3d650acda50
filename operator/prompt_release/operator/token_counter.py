"""Lint's token counts in a process of their own, started when a count is needed and gone
after `idle` seconds without one: the vocabulary (about 70 MiB once loaded) is held only while
there is counting to do, and its memory leaves with the process. `--tokens-in-process` counts
in the operator instead; docs/performance.md has the figures of both.

The protocol is one line each way: a JSON list of texts in, a JSON list of counts out.
"""

from __future__ import annotations

import json
import logging
import select
import subprocess
import sys
import threading
from collections.abc import Sequence

from prompt_release.core import tokens

log = logging.getLogger("prompt_release")

IDLE_SECONDS = 30.0


class TokenCounter:
    """`tokens.Counter` through a child process, one request at a time."""

    def __init__(self, idle: float = IDLE_SECONDS) -> None:
        self.idle = idle
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def __call__(self, texts: Sequence[str]) -> list[int]:
        request = json.dumps(list(texts), ensure_ascii=False) + "\n"
        with self._lock:
            # a second try: the child may have left on its idle timeout meanwhile
            answer = self._ask(request) or self._ask(request)
        if not answer:
            raise RuntimeError("the token counter process ended without an answer")
        return [int(found) for found in json.loads(answer)]

    def _ask(self, request: str) -> str:
        """The child's answer line; "" (and the child reaped) when it is gone."""
        process = self._running()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(request)
            process.stdin.flush()
            answer = process.stdout.readline()
        except OSError:
            answer = ""
        if not answer:
            self._reap()
        return answer

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._reap()
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self.idle)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            log.debug("token counter started (pid %d)", self._process.pid)
        return self._process

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()

    def close(self) -> None:
        """End the child (the operator is stopping)."""
        with self._lock:
            self._reap()


def serve(idle: float) -> None:
    """The child: answer each line until stdin closes or `idle` seconds pass without one."""
    while select.select([sys.stdin], [], [], idle)[0]:
        line = sys.stdin.readline()
        if not line:
            return
        sys.stdout.write(json.dumps(tokens.count_all(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_SECONDS)
