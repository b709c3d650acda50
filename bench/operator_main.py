"""The operator as `prompt-release-operator run` starts it, optionally under cProfile.

    python -m bench.operator_main run --all-namespaces ...

With BENCH_CPROFILE=PATH set, every thread (kopf's event loop and the handlers' thread pool)
is profiled with cProfile, and the merged statistics are written to PATH when the operator
stops. This hook lives in the bench, never in the operator's code. cProfile traces every call,
so it slows the operator down several times over: prefer `py-spy` (`--profile py-spy`), which
samples from outside, when it is installed.

With BENCH_CENSUS=PATH set, SIGUSR2 appends to PATH a census of the live Python objects by
type (count and bytes, strings and numbers reached from containers included): where the
memory of a large run goes, without tracing every allocation.
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


def _census(path: str) -> None:
    """Objects by type, reached from the collector's containers; appended to `path`. A tuple
    of strings and numbers is untracked by the collector: it is counted by its shape and the
    container holding it, which says whose memory it is."""
    import gc
    import signal
    import time
    from collections import Counter

    def shape(obj: object) -> str:
        if isinstance(obj, tuple):
            return f"tuple({','.join(type(item).__name__ for item in obj[:4])})"
        if type(obj) is dict:
            return f"dict{{{','.join(sorted(map(str, obj))[:2])}}}"[:60]
        if type(obj) is list and obj:
            return f"list[{type(obj[0]).__name__}]"
        return type(obj).__name__

    def take() -> None:
        counts: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        containers = gc.get_objects()  # neither this list nor `seen` is among them
        seen = {id(obj) for obj in containers}
        for obj in containers:
            parent = shape(obj)
            counts[parent] += 1
            sizes[parent] += sys.getsizeof(obj)
            for ref in gc.get_referents(obj):
                if not gc.is_tracked(ref) and id(ref) not in seen:
                    seen.add(id(ref))
                    kind = shape(ref) if type(ref) is not tuple else f"{shape(ref)} in {parent}"
                    counts[kind[:90]] += 1
                    sizes[kind[:90]] += sys.getsizeof(ref)
        largest = sorted(containers, key=sys.getsizeof, reverse=True)[:25]
        with open(path, "a") as out:
            out.write(f"census at {time.time():.0f}: {sum(sizes.values()) / 2**20:.1f} MiB\n")
            for kind, size in sizes.most_common(60):
                out.write(f"{size / 2**20:9.2f} MiB {counts[kind]:9d} {kind}\n")
            for obj in largest:
                first = next(iter(obj), None) if isinstance(obj, (dict, set, list)) else None
                mib = sys.getsizeof(obj) / 2**20
                out.write(f"  largest: {mib:.2f} MiB {shape(obj)}, first {first!r:.80}\n")

    signal.signal(signal.SIGUSR2, lambda *_: threading.Thread(target=take).start())


def main() -> int:
    import prompt_release

    census = os.environ.get("BENCH_CENSUS")
    if census:
        _census(census)
    print(f"bench: prompt_release from {Path(prompt_release.__file__).parent}", flush=True)
    path = os.environ.get("BENCH_CPROFILE")
    return _profiled(path) if path else runner.main()


if __name__ == "__main__":
    sys.exit(main())
