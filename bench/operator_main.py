"""The operator as `prompt-release-operator run` starts it, optionally under cProfile.

    python -m bench.operator_main run --all-namespaces ...

With BENCH_CPROFILE=PATH set, every thread (kopf's event loop and the handlers' thread pool)
is profiled with cProfile, and the merged statistics are written to PATH when the operator
stops. This hook lives in the bench, never in the operator's code. cProfile traces every call,
so it slows the operator down several times over: prefer `py-spy` (`--profile py-spy`), which
samples from outside, when it is installed.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from prompt_release.operator import runner


def _profiled(path: str) -> int:
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def in_new_thread(frame: FrameType, event: str, arg: Any) -> None:
        # The first profiling event of a new thread: give it its own profiler.
        sys.setprofile(None)
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    threading.setprofile(in_new_thread)
    main = cProfile.Profile()
    main.enable()
    try:
        return runner.main()
    finally:
        main.disable()
        threading.setprofile(None)
        stats = pstats.Stats(main)
        with lock:
            for profile in profiles:
                try:
                    stats.add(profile)
                except Exception:  # a thread still running; its samples are lost
                    continue
        stats.dump_stats(path)


def main() -> int:
    import prompt_release

    print(f"bench: prompt_release from {Path(prompt_release.__file__).parent}", flush=True)
    path = os.environ.get("BENCH_CPROFILE")
    return _profiled(path) if path else runner.main()


if __name__ == "__main__":
    sys.exit(main())
