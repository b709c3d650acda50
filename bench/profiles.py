"""Summaries of the operator's profile: where its CPU time went during a burst.

py-spy's raw output is one line per distinct stack ("root;...;leaf COUNT", frames as
"function (module/file.py)"). The summary gives the top functions by self time (the leaf) and
by inclusive time (anywhere on the stack, once per sample), and the share of samples inside a
few places worth naming (the handlers' reads and writes, kopf's own patches, JSON, TLS...).
"""

from __future__ import annotations

import io
import pstats
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# (label, a frame that puts a sample in it): inclusive, so the shares overlap.
PLACES: tuple[tuple[str, str], ...] = (
    ("handler threads (the sync handlers)", "_worker (concurrent/futures/thread.py)"),
    ("kopf's event loop thread", "<module> (bench/operator_main.py)"),
    ("  ReleaseReconciler.reconcile", "ReleaseReconciler.reconcile (prompt_release/"),
    ("    core: decide", "decide (prompt_release/core/decision.py)"),
    ("  VersionReconciler.reconcile", "VersionReconciler.reconcile (prompt_release/"),
    ("  Manager: event handlers (enqueue)", "(prompt_release/operator/manager.py)"),
    ("  stores: index functions", "(prompt_release/operator/stores.py)"),
    ("  Kube.find (GET release or version)", "Kube.find (prompt_release/kube.py)"),
    ("  Kube.find_config_map (GET)", "Kube.find_config_map (prompt_release/kube.py)"),
    ("  Kube.write_status (PATCH status)", "Kube.write_status (prompt_release/kube.py)"),
    ("  Kube.write_config_map (POST/PUT)", "Kube.write_config_map (prompt_release/kube.py)"),
    ("  core: plan, hash, validate, render", "(prompt_release/core/"),
    ("  Events", "(prompt_release/operator/runtime/events.py)"),
    ("  kopf: patching objects (annotations, finalizers)", "(kopf/_cogs/clients/patching.py)"),
    ("  kopf: indexes", "(kopf/_core/engines/indexing.py)"),
    ("  kopf: watch streams", "(kopf/_cogs/clients/watching.py)"),
    ("  kopf: processing (causes, diffs, progress)", "(kopf/_core/reactor/processing.py)"),
)


def module(frame: str) -> str:
    """The library a frame belongs to: "kopf", "ssl.py", "prompt_release", ..."""
    where = frame.rpartition(" (")[2].rstrip(")")
    head = where.split("/", 1)[0]
    return head if "/" in where else where


@dataclass
class Profile:
    samples: int = 0
    stacks: Counter[tuple[str, ...]] = field(default_factory=Counter)

    @classmethod
    def read(cls, path: Path) -> Profile:
        profile = cls()
        if not path.exists():
            return profile
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            profile.stacks[tuple(stack.split(";"))] += int(count)
            profile.samples += int(count)
        return profile

    def self_top(self, n: int) -> list[tuple[str, int]]:
        leaves: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            leaves[stack[-1]] += count
        return leaves.most_common(n)

    def inclusive_top(self, n: int, within: str = "") -> list[tuple[str, int]]:
        frames: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            for frame in set(stack):
                if within in frame:
                    frames[frame] += count
        return frames.most_common(n)

    def places(self) -> list[tuple[str, int]]:
        found = []
        for label, marker in PLACES:
            count = sum(c for stack, c in self.stacks.items() if any(marker in f for f in stack))
            found.append((label, count))
        return found

    def by_module(self) -> list[tuple[str, int]]:
        leaves: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            leaves[module(stack[-1])] += count
        return leaves.most_common()

    def report(self, top: int = 15) -> str:
        if not self.samples:
            return "  (no samples)"
        lines = [
            f"  {self.samples} samples of the thread holding the GIL (py-spy --gil)",
            "  where (inclusive: a sample counts in every place on its stack):",
        ]
        for label, count in self.places():
            if count:
                lines.append(f"    {100 * count / self.samples:5.1f}%  {label}")
        lines.append("  self time by module (the frame running):")
        modules = self.by_module()
        for name, count in modules[:12]:
            lines.append(f"    {100 * count / self.samples:5.1f}%  {name}")
        lines.append(f"  top {top} by self time:")
        for frame, count in self.self_top(top):
            lines.append(f"    {100 * count / self.samples:5.1f}%  {frame}")
        lines.append(f"  top {top} by inclusive time (operator code and kopf):")
        interesting = [
            (f, c) for f, c in self.inclusive_top(400) if "prompt_release/" in f or "kopf/" in f
        ]
        for frame, count in interesting[:top]:
            lines.append(f"    {100 * count / self.samples:5.1f}%  {frame}")
        return "\n".join(lines)


def cprofile_report(path: Path, top: int = 15) -> str:
    """The top of a cProfile dump (the fallback when py-spy isn't installed)."""
    if not path.exists():
        return "  (no profile written)"
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return "\n".join("  " + line for line in out.getvalue().splitlines() if line.strip())
