"""The operator's performance targets, measured on the local control plane.

    python -m bench [--size 1000] [--samples 200] [--full] [--standing-start-only] [--profile]
                    [--json FILE]

Every figure is printed next to its target and a floor measured in the same run, on the same
machine, with the same client, so that a noisy, shared machine moves both. Ready and the floor
are seen through watches (never polled); writes are counted exactly from the API server's audit
log, attributed to the operator by its own ServiceAccount. MISS is a printout, never a failure:
the bench exits 0 whenever it ran to the end (or to its deadline).

Phases (default): latency of a new revision against the floor (a ConfigMap patch seen through a
watch), small and 300 KiB; a burst of `--size` new prompts; the same with 300 KiB prompts in
the mix; unchanged re-applies; a restart over all of it. `--full` adds the standing start
first (the operator started over 10 x `--size` prompts created before it, which it never
released; `--standing-start-only` runs it alone) and the scale phase last: 10 x `--size`
prompts over 10 namespaces plus 5 x `--size` unrelated ConfigMaps, then a restart.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config
from tests.controlplane.cluster import LocalControlPlane, running_control_plane
from tests.kube import Kubectl

from bench import audit, manifests
from bench.audit import AuditLog, Call
from bench.manifests import LABEL, Prompt
from bench.operator_process import Operator, cpu_seconds, py_spy
from bench.profiles import Profile, cprofile_report
from bench.report import Row, mib, ms, percentile, s, table
from bench.watching import Key, Watcher, ready_at_generation, serves
from prompt_release import CRD_VERSION, GROUP, RELEASE_PLURAL, VERSION_PLURAL

REPO = Path(__file__).resolve().parents[1]
SYSTEM = "prompt-bench-system"
OPERATOR_SA = "prompt-release-operator"
OPERATOR_USER = f"system:serviceaccount:{SYSTEM}:{OPERATOR_SA}"
FLOOR_NS, LATENCY_NS, BURST_NS, MIX_NS, UNRELATED_NS = (
    "bench-floor",
    "bench-latency",
    "bench-burst",
    "bench-mix",
    "bench-unrelated",
)
SCALE_NAMESPACES = [f"bench-scale-{n:02d}" for n in range(10)]
STANDING_NAMESPACES = [f"bench-standing-{n:02d}" for n in range(10)]
LATENCY_RELEASES = 10
SCALE_RSS_TARGET = 300 * 2**20
CPU_OF = ("kube-apiserver", "etcd")


class DeadlineError(Exception):
    """The run's time is up: the phases left are skipped, the report still prints."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="prompts in a burst (1000)")
    parser.add_argument("--samples", type=int, default=200, help="latency samples (200)")
    parser.add_argument("--large-samples", type=int, default=20, help="300 KiB samples (20)")
    parser.add_argument(
        "--large", type=int, default=None, help="300 KiB prompts in the mixed burst (size/50)"
    )
    parser.add_argument("--full", action="store_true", help="add the 10 x size scale phase")
    parser.add_argument(
        "--latency-only", action="store_true", help="only the latency phase (a quick look)"
    )
    parser.add_argument(
        "--standing-start-only",
        action="store_true",
        help="only the standing start: the operator started over 10 x size new prompts",
    )
    parser.add_argument(
        "--profile",
        choices=["py-spy", "cprofile", "auto"],
        nargs="?",
        const="auto",
        default=None,
        help="profile the operator during the burst (py-spy if installed, else cProfile)",
    )
    parser.add_argument("--quiet", type=float, default=8.0, help="seconds without writes = done")
    parser.add_argument(
        "--deadline", type=float, default=None, help="stop after this many seconds (900; full 3600)"
    )
    parser.add_argument(
        "--ref",
        default=None,
        help="run the operator (and CRDs) of this git commit, not the working tree",
    )
    parser.add_argument(
        "--audit-bodies",
        action="store_true",
        help="keep the request bodies of writes in the audit log (diagnosis; use with --keep)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and profiles here")
    args = parser.parse_args(argv)
    if args.large is None:
        args.large = max(1, args.size // 50)
    if args.deadline is None:
        args.deadline = 3600.0 if args.full else 900.0
    return args


def prompt_of(call: Call) -> str:
    """The prompt an operator call was about, by this bench's names: releases and ConfigMaps
    are `<prompt>-production`, versions `<prompt>-v<N>`, Events `<object>.<suffix>`."""
    name = call.name.split(".", 1)[0] if call.resource == "events" else call.name
    if name.endswith(f"-{LABEL}"):
        return name[: -len(LABEL) - 1]
    head, _, tail = name.rpartition("-v")
    return head if head and tail.isdigit() else name


def busy(call: Call) -> bool:
    """Any call but a watch (which stays open while the operator has nothing to do)."""
    return call.verb != "watch"


def category(call: Call) -> str:
    return {
        "configmaps": "ConfigMap",
        "promptreleases/status": "release status",
        "promptreleases": "release metadata",
        "promptversions/status": "version status",
        "promptversions": "version finalizer",
        "events": "Event",
    }.get(call.resource, call.resource)


@dataclass
class BurstResult:
    namespace: str
    prompts: list[Prompt]
    started: float = 0.0
    submit_s: float = math.nan
    ready_s: float = math.nan
    last_ready: float = math.nan
    not_ready: int = 0
    quiescent_s: float = math.nan
    calls: list[Call] = field(default_factory=list)
    reconciles: dict[str, float] = field(default_factory=dict)
    peak_rss: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    rss_after: int = 0

    @property
    def per_release_ms(self) -> float:
        return 1000 * self.ready_s / len(self.prompts)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def checkout(ref: str | None, folder: Path) -> tuple[Path | None, Path, str]:
    """The operator package and the CRDs to measure: a commit's (exported to `folder`), or the
    working tree's; and a line that says which."""
    head = _git("rev-parse", "--short", "HEAD")
    if ref is None:
        dirty = _git("status", "--porcelain", "operator", "crds")
        note = " with uncommitted changes to operator/ or crds/" if dirty else ""
        return None, REPO / "crds", f"working tree at {head}{note}"
    commit = _git("rev-parse", "--short", ref)
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "operator/prompt_release", "crds"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "operator", folder / "crds", f"commit {commit} ({ref})"


class Bench:
    def __init__(self, plane: LocalControlPlane, work: Path, args: argparse.Namespace) -> None:
        self.plane = plane
        self.work = work
        self.args = args
        self.deadline: float = time.monotonic() + float(args.deadline)
        self.rows: list[Row] = []
        self.details: list[str] = []
        self.results: dict[str, Any] = {}
        self.admin = Kubectl(plane.kubectl, plane.kubeconfig)
        self.api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(plane.kubeconfig)
        )
        self.api.user_agent = "prompt-bench"
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)
        self.audit = AuditLog(work / "audit.log")
        self.operator: Operator | None = None
        self.operator_kubeconfig = work / "operator.kubeconfig"
        self.releases = Watcher(self.api, RELEASE_PLURAL)
        self.versions = Watcher(self.api, VERSION_PLURAL)
        self.floor_maps = Watcher(self.api, "configmaps", FLOOR_NS)
        self.bursts: dict[str, BurstResult] = {}
        self.idle_rss = 0
        self.columns: list[tuple[str, dict[str, float]]] = []
        self.phases: list[tuple[str, float]] = []
        self.source, self.crds, self.measured = checkout(args.ref, work / "src")

    # -- plumbing ---------------------------------------------------------------------------

    def left(self, cap: float = math.inf) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineError
        return min(remaining, cap)

    def row(self, *args: Any, **kwargs: Any) -> None:
        self.rows.append(Row(*args, **kwargs))

    def kubectl(self, *args: str, timeout: float = 600) -> str:
        return self.admin.run(*args, timeout=self.left(timeout)).stdout

    def apply(self, path: Path) -> float:
        """Submit a manifest the way a user or a GitOps tool would; seconds it took."""
        started = time.time()
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path), timeout=3600)
        return time.time() - started

    def operator_calls(
        self, since: float, until: float = math.inf, namespaces: set[str] | None = None
    ) -> list[Call]:
        return self.audit.select(
            user=OPERATOR_USER,
            since=since,
            until=until,
            where=None if namespaces is None else (lambda c: c.namespace in namespaces),
        )

    def settle(
        self,
        since: float,
        namespaces: set[str] | None = None,
        cap: float = 300,
        reads: bool = False,
    ) -> float:
        """Wait until the operator wrote nothing (in `namespaces`) for --quiet seconds, or with
        `reads` made no call but a watch; the time of its last such call (or `since`)."""

        def counted(c: Call) -> bool:
            return (c.write or (reads and busy(c))) and (
                namespaces is None or c.namespace in namespaces
            )

        deadline = time.time() + self.left(cap)
        last = self.audit.quiet(OPERATOR_USER, since, self.args.quiet, deadline, where=counted)
        return since if last is None else last

    # -- setup ------------------------------------------------------------------------------

    def setup(self) -> None:
        self.kubectl("apply", "--server-side", "-k", str(self.crds))
        for crd in (VERSION_PLURAL, RELEASE_PLURAL):
            self.kubectl("wait", "--for=condition=Established", f"crd/{crd}.{GROUP}")
        namespaces = [SYSTEM, FLOOR_NS, LATENCY_NS, BURST_NS, MIX_NS]
        if self.args.full:
            namespaces += [UNRELATED_NS, *SCALE_NAMESPACES]
        if self.args.full or self.args.standing_start_only:
            namespaces += STANDING_NAMESPACES
        self.admin.apply(
            "\n---\n".join(
                json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})
                for n in namespaces
            )
        )
        # The operator's own identity, so that the audit log tells its calls from the bench's.
        self.kubectl("create", "serviceaccount", OPERATOR_SA, "-n", SYSTEM)
        self.kubectl(
            "create",
            "clusterrolebinding",
            "prompt-bench-operator",
            "--clusterrole=cluster-admin",
            f"--serviceaccount={SYSTEM}:{OPERATOR_SA}",
        )
        token = self.kubectl("create", "token", OPERATOR_SA, "-n", SYSTEM, "--duration=12h")
        self.admin.as_token(token.strip(), self.operator_kubeconfig)
        self.audit.start()
        for watcher in (self.releases, self.versions, self.floor_maps):
            watcher.start()

    def start_operator(self, name: str, cprofile: Path | None = None) -> Operator:
        self.operator = Operator.start(
            self.operator_kubeconfig,
            ["--all-namespaces"],
            self.work / f"{name}.log",
            cprofile=cprofile,
            source=self.source,
        )
        return self.operator

    # -- latency ----------------------------------------------------------------------------

    def _patch_config_map(self, name: str, data: dict[str, str]) -> str:
        response: Any = self.core.patch_namespaced_config_map(
            name, FLOOR_NS, {"data": data}, _preload_content=False
        )
        return str(json.loads(response.data)["metadata"]["resourceVersion"])

    def _merge_patch(
        self, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """A merge patch of a prompt object by the bench; the object it made."""
        response: Any = self.custom.patch_namespaced_custom_object(
            GROUP,
            CRD_VERSION,
            namespace,
            plural,
            name,
            patch,
            _content_type="application/merge-patch+json",
            _preload_content=False,
        )
        return cast(dict[str, Any], json.loads(response.data))

    def _patch_release(self, namespace: str, name: str, version: str) -> int:
        patched = self._merge_patch(RELEASE_PLURAL, namespace, name, {"spec": {"version": version}})
        return int(patched["metadata"]["generation"])

    def _floor_sample(self, name: str, data: dict[str, str]) -> float:
        started = time.time()
        rv = self._patch_config_map(name, data)
        seen = self.floor_maps.wait((FLOOR_NS, name), lambda x: x.resource_version == rv, 30)
        return math.nan if seen is None else seen.at - started

    def _release_sample(self, prompt: str, version: str) -> float:
        started = time.time()
        key = (LATENCY_NS, f"{prompt}-{LABEL}")
        generation = self._patch_release(*key, version)
        seen = self.releases.wait(key, serves(version, generation), self.left(60))
        return math.nan if seen is None else seen.at - started

    def path_floor(self) -> None:
        """The writes of a new revision done by the bench alone, before the operator starts:
        a release's spec patch, its ConfigMap's update and a status patch of the size the
        operator writes (ten history entries), one after the other, seen through the watch.
        No operator can be faster than this on this API server; it shows how much of the
        latency is the operator's own."""
        name = f"path-{LABEL}"
        self.custom.create_namespaced_custom_object(
            GROUP,
            CRD_VERSION,
            FLOOR_NS,
            RELEASE_PLURAL,
            manifests.release(FLOOR_NS, "path", "path-v0"),
        )
        self.core.create_namespaced_config_map(
            FLOOR_NS, cast(Any, {"metadata": {"name": name}, "data": {"prompt.json": "{}"}})
        )
        samples: list[float] = []
        for n in range(1, self.args.samples + 1):
            version = f"path-v{n}"
            started = time.time()
            generation = self._patch_release(FLOOR_NS, name, version)
            self.core.patch_namespaced_config_map(
                name,
                FLOOR_NS,
                {"data": {"prompt.json": json.dumps({"version": version})}},
                _preload_content=False,
            )
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                CRD_VERSION,
                FLOOR_NS,
                RELEASE_PLURAL,
                name,
                {"status": manifests.release_status(version, n, generation)},
                _preload_content=False,
            )
            seen = self.releases.wait((FLOOR_NS, name), serves(version, generation), self.left(60))
            samples.append(math.nan if seen is None else seen.at - started)
        self.results["path_floor_s"] = samples
        # Its versions never exist: left behind, the release would be Stalled once the operator
        # starts, looked at again every 10 s through every later phase, and a restart's quiet
        # (5 s without a call) would wait for one of those looks.
        self.custom.delete_namespaced_custom_object(
            GROUP, CRD_VERSION, FLOOR_NS, RELEASE_PLURAL, name
        )

    def latency(self) -> None:
        samples, large_samples = self.args.samples, self.args.large_samples
        per_release = math.ceil(samples / LATENCY_RELEASES)
        small = [f"lat{i}" for i in range(LATENCY_RELEASES)]
        objects: list[dict[str, Any]] = []
        for prompt in small:
            objects += [
                manifests.version(LATENCY_NS, f"{prompt}-v{n}", prompt)
                for n in range(per_release + 1)
            ]
            objects.append(manifests.release(LATENCY_NS, prompt, f"{prompt}-v0"))
        objects += [
            manifests.version(LATENCY_NS, f"big-v{n}", "big", manifests.large_text(f"big-{n}"))
            for n in range(large_samples + 1)
        ]
        objects.append(manifests.release(LATENCY_NS, "big", "big-v0"))
        began = time.time()
        self.apply(manifests.write(self.work / "latency.yaml", objects))
        keys = [(LATENCY_NS, f"{p}-{LABEL}") for p in [*small, "big"]]
        done = self.releases.wait_all(
            keys, ready_at_generation(1), time.monotonic() + self.left(300)
        )
        if len(done) < len(keys):
            raise RuntimeError(f"latency releases not Ready: {sorted(set(keys) - set(done))}")
        self.settle(began, {LATENCY_NS})
        for name, data in (("floor", {"n": "0"}), ("floor-large", {"n": "x"})):
            self.core.create_namespaced_config_map(
                FLOOR_NS, cast(Any, {"metadata": {"name": name}, "data": data})
            )

        started = time.time()
        floor: list[float] = []
        release: list[float] = []
        for n in range(samples):
            floor.append(self._floor_sample("floor", {"n": str(n + 1)}))
            prompt = small[n % LATENCY_RELEASES]
            release.append(self._release_sample(prompt, f"{prompt}-v{n // LATENCY_RELEASES + 1}"))
        floor_large: list[float] = []
        release_large: list[float] = []
        for n in range(large_samples):
            floor_large.append(
                self._floor_sample("floor-large", manifests.large_data(f"floor-{n}"))
            )
            release_large.append(self._release_sample("big", f"big-v{n + 1}"))
        last = self.settle(started, {LATENCY_NS})

        def report(label: str, got: list[float], base: list[float], note: str = "") -> None:
            missed = sum(math.isnan(x) for x in got)
            got = [x for x in got if not math.isnan(x)]
            base = [x for x in base if not math.isnan(x)]
            for q, slack, name in ((0.5, 0.015, "p50"), (0.99, 0.100, "p99")):
                mine, theirs = percentile(got, q), percentile(base, q)
                self.row(
                    "latency: apply -> Ready of a new revision (watch)",
                    f"{label} {name} ({len(got)} samples{note})",
                    ms(mine) + (f", {missed} timed out" if missed else ""),
                    f"<= floor + {slack * 1000:.0f} ms = {ms(theirs + slack)}",
                    f"ConfigMap patch -> watch {name} {ms(theirs)}",
                    bool(mine <= theirs + slack and not missed),
                )

        report("small", release, floor)
        report("300 KiB", release_large, floor_large, ", floor: its ConfigMap's shape")
        path = [x for x in self.results.get("path_floor_s", ()) if not math.isnan(x)]
        if path:
            self.row(
                "latency: apply -> Ready of a new revision (watch)",
                f"path floor p50 / p99 ({len(path)} samples, no operator running)",
                f"{ms(percentile(path, 0.5))} / {ms(percentile(path, 0.99))}",
                "- (the same three writes by the bench alone)",
                f"ConfigMap patch -> watch {ms(percentile(floor, 0.5))} / "
                f"{ms(percentile(floor, 0.99))}",
            )
        self.results["latency"] = {
            "release_s": release,
            "floor_s": floor,
            "release_large_s": release_large,
            "floor_large_s": floor_large,
        }

        calls = self.operator_calls(started, last + 0.001, {LATENCY_NS})
        revisions: Counter[str] = Counter(small[n % LATENCY_RELEASES] for n in range(samples))
        revisions["big"] = large_samples
        self._budget_per_revision(calls, revisions)

    def _budget_per_revision(self, calls: list[Call], revisions: Counter[str]) -> None:
        """Writes per new revision: each release moved `revisions[prompt]` times."""
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for call in audit.writes(calls):
            per[prompt_of(call)][category(call)] += 1
        total = sum(revisions.values())

        def exact(what: str, expected: int) -> tuple[str, bool]:
            counts = [per[p][what] / r for p, r in revisions.items() if r]
            mean = sum(per[p][what] for p in revisions) / total
            ok = all(c == expected for c in counts)
            return f"{mean:.2f} per revision (min {min(counts):.2f}, max {max(counts):.2f})", ok

        section = f"write budget: per new revision ({total} revisions, audit log)"
        for what, expected in (("ConfigMap", 1), ("release status", 1), ("release metadata", 0)):
            text, ok = exact(what, expected)
            self.row(section, f"{what} writes", text, f"exactly {expected}", "-", ok)
        text, ok = self._version_status(calls, revisions, total)
        self.row(section, "PromptVersion status writes", text, "0-1 per version", "-", ok)
        finalizers = sum(per[p]["version finalizer"] for p in revisions) / total
        self.row(
            section,
            "PromptVersion finalizer writes (in-use protection)",
            f"{finalizers:.2f} per revision",
            "by design: 1 on (new) + 1 off (replaced)",
            "-",
        )
        refused = len(audit.refused_writes(calls)) / total
        self.row(section, "writes refused (409)", f"{refused:.2f} per revision", "-", "-")
        events = sum(1 for c in audit.writes(calls) if c.resource == "events") / total
        self.row(section, "Events posted", f"{events:.2f} per revision", "-", "-", None)
        self.results["per_revision_calls"] = {
            k: v / total for k, v in sorted(audit.by_key(calls).items())
        }

    # -- bursts -----------------------------------------------------------------------------

    def burst(
        self, name: str, namespaces: list[str], size: int, large: int, profile: bool
    ) -> BurstResult:
        result, path = self._prompts(name, namespaces, size, large)
        before = self.operator.scrape() if self.operator else {}
        cpu_before = self._cpu()
        with self._profiling(name, profile):
            result.started = time.time()
            result.submit_s = self.apply(path)
            self._until_ready(result, set(namespaces))
        self._measured(result, before, cpu_before)
        self.bursts[name] = result
        return result

    def _prompts(
        self, name: str, namespaces: list[str], size: int, large: int
    ) -> tuple[BurstResult, Path]:
        """`size` new prompts in each namespace, and their manifest (`<name>.yaml`)."""
        prompts = [p for ns in namespaces for p in manifests.prompts(ns, size, large)]
        path = manifests.write(
            self.work / f"{name}.yaml", [obj for p in prompts for obj in p.objects()]
        )
        return BurstResult(",".join(namespaces), prompts), path

    def _until_ready(
        self,
        result: BurstResult,
        namespaces: set[str],
        *,
        releases_only: bool = False,
        reads: bool = False,
    ) -> dict[Key, float]:
        """Wait until every prompt of `result` is Ready (its release and its version, through
        the watches), then until the operator is quiet (`settle`), counting from
        `result.started`; the last Ready is the releases' alone with `releases_only`. Fills in
        the readiness, quiescence and calls of `result`; returns when each version was Ready."""
        prompts = result.prompts
        cap = time.monotonic() + self.left(max(300.0, len(prompts) * 0.3))
        released = self.releases.wait_all(
            [(p.namespace, p.release) for p in prompts], ready_at_generation(1), cap
        )
        hashed = self.versions.wait_all(
            [(p.namespace, p.version) for p in prompts], ready_at_generation(1), cap
        )
        result.not_ready = 2 * len(prompts) - len(released) - len(hashed)
        times = [*released.values(), *([] if releases_only else hashed.values())]
        if times:
            result.last_ready = max(times)
            result.ready_s = result.last_ready - result.started
        last = self.settle(result.started, namespaces, reads=reads)
        result.quiescent_s = max(0.0, last - result.last_ready)
        result.calls = self.operator_calls(result.started, last + 0.001, namespaces)
        return hashed

    def _measured(
        self, result: BurstResult, before: dict[str, float], cpu_before: dict[str, float]
    ) -> None:
        """The operator's CPU, reconciles (its metrics against `before`) and RSS (its peak
        since `result.started`, and now) once `result`'s prompts are done."""
        result.cpu = {k: v - cpu_before.get(k, 0.0) for k, v in self._cpu().items()}
        if self.operator is None:
            return
        after = self.operator.scrape()
        result.reconciles = {
            k: after[k] - before.get(k, 0.0)
            for k in after
            if k.startswith("promptrelease_reconciles_total")
        }
        result.peak_rss = self.operator.peak_rss(result.started, time.time())
        result.rss_after = self.operator.memory()[0]

    @contextmanager
    def _profiling(self, name: str, enabled: bool) -> Iterator[None]:
        if not enabled or self.operator is None or self.args.profile == "cprofile":
            yield
            return
        output = self.work / f"{name}.pyspy.txt"
        started = self.operator.profile_start(output)
        try:
            yield
        finally:
            if started:
                self.operator.profile_stop()
                self.details.append(
                    f"profile of the operator during the {name} (py-spy, {output}):\n"
                    + Profile.read(output).report()
                )

    def report_burst(self, result: BurstResult, label: str) -> None:
        n = len(result.prompts)
        section = f"burst: {label}"
        pace = 1.1 * result.submit_s
        self.row(
            section,
            "all Ready (versions and releases, watch)",
            s(result.ready_s) + (f", {result.not_ready} never Ready" if result.not_ready else ""),
            f"<= 1.1 x submit = {s(pace)}",
            f"client submit {s(result.submit_s)} (kubectl apply --server-side)",
            bool(result.ready_s <= pace and not result.not_ready),
        )
        self.row(
            section,
            "all Ready, absolute",
            s(result.ready_s),
            "<= 20 s",
            f"the client alone: {s(result.submit_s)}",
            bool(result.ready_s <= 20.0 and not result.not_ready),
        )
        self.row(
            section,
            "last Ready after the client's last object",
            s(result.ready_s - result.submit_s),
            "-",
            "-",
        )
        self.row(
            section,
            "throughput",
            f"{n / result.ready_s:.0f} prompts/s ({result.per_release_ms:.1f} ms per prompt)",
            "-",
            f"client {n / result.submit_s:.0f} prompts/s",
        )
        self._quiescent(section, result, "quiescent after the last Ready (audit)")
        self._budget_per_prompt(section, result)
        self._work(section, result)
        if self.operator and result.peak_rss:
            self.row(
                section,
                "operator RSS: peak during the burst; once quiescent",
                f"{mib(result.peak_rss)}; {mib(result.rss_after)}",
                "-",
                f"idle {mib(self.idle_rss)}",
            )

    def _quiescent(self, section: str, result: BurstResult, what: str) -> None:
        self.row(
            section, what, s(result.quiescent_s), "<= 5 s", "0 s", bool(result.quiescent_s <= 5.0)
        )

    def _work(self, section: str, result: BurstResult) -> None:
        """Reconciles per prompt (the operator's metrics) and CPU seconds until quiescent."""
        n = len(result.prompts)
        reconciles = {
            k.split("{", 1)[1].rstrip("}"): v for k, v in result.reconciles.items() if "{" in k
        }
        if reconciles:
            by_kind: dict[str, dict[str, float]] = defaultdict(dict)
            for labels, count in reconciles.items():
                parts = dict(p.split("=", 1) for p in labels.split(","))
                by_kind[parts["kind"].strip('"')][parts["result"].strip('"')] = count / n
            text = "; ".join(
                f"{kind} {sum(results.values()):.2f}"
                + "".join(f", {r} {v:.2f}" for r, v in sorted(results.items()) if r != "success")
                for kind, results in sorted(by_kind.items())
            )
            self.row(section, "reconciles per prompt (operator metrics)", text, "-", "-")
        if result.cpu:
            wall = result.ready_s + result.quiescent_s
            self.row(
                section,
                "CPU seconds until quiescent",
                ", ".join(f"{name} {cpu:.1f} s" for name, cpu in result.cpu.items()),
                "-",
                f"wall {s(wall)} x 2 cores = {2 * wall:.0f} CPU s",
            )

    @staticmethod
    def _version_status(calls: list[Call], revisions: Counter[str], total: int) -> tuple[str, bool]:
        """Status writes on each version per revision it took part in: a release moving from
        v(n-1) to v(n) changes the releasedAs of both (v0 and the last one take part once)."""
        per_version: Counter[str] = Counter(
            c.name for c in audit.writes(calls) if c.resource == "promptversions/status"
        )
        shares = []
        for prompt, moves in revisions.items():
            for n in range(moves + 1):
                parts = 1 if n in (0, moves) else 2
                shares.append(per_version[f"{prompt}-v{n}"] / parts)
        mean = sum(per_version.values()) / total
        worst = max(shares, default=0.0)
        return f"{mean:.2f} per revision; per version and revision max {worst:.2f}", worst <= 1

    def _budget_per_prompt(self, section: str, result: BurstResult) -> None:
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for call in audit.writes(result.calls):
            per[f"{call.namespace}/{prompt_of(call)}"][category(call)] += 1
        keys = [f"{p.namespace}/{p.prompt}" for p in result.prompts]

        def spread(what: str) -> tuple[float, int, int]:
            counts = [per[k][what] for k in keys]
            return sum(counts) / len(counts), min(counts), max(counts)

        for what, low, high in (
            ("ConfigMap", 1, 1),
            ("release status", 1, 1),
            ("release metadata", 0, 0),
        ):
            mean, lo, hi = spread(what)
            self.row(
                section,
                f"{what} writes per new prompt",
                f"{mean:.2f} (min {lo}, max {hi})",
                f"exactly {low}" if low == high else f"{low}-{high}",
                "-",
                lo >= low and hi <= high,
            )
        status_mean, _, status_max = spread("version status")
        self.row(
            section,
            "PromptVersion status writes per new prompt",
            f"{status_mean:.2f} (max {status_max})",
            "0-1",
            "-",
            status_max <= 1,
        )
        finalizer_mean, _, _ = spread("version finalizer")
        self.row(
            section,
            "PromptVersion finalizer writes (in-use protection)",
            f"{finalizer_mean:.2f}",
            "by design: 1 (the release holds it)",
            "-",
        )
        refused = len(audit.refused_writes(result.calls)) / len(keys)
        self.row(section, "writes refused (409) per new prompt", f"{refused:.2f}", "-", "-")
        events = sum(1 for c in audit.writes(result.calls) if c.resource == "events")
        self.row(section, "Events posted per new prompt", f"{events / len(keys):.2f}", "-", "-")

    # -- re-apply and restart ---------------------------------------------------------------

    def reapply(self) -> None:
        burst = self.bursts.get("burst")
        if burst is None:
            return
        path = self.work / "burst.yaml"
        objects = [obj for p in burst.prompts for obj in p.objects()]
        section = f"unchanged re-apply ({len(burst.prompts)} prompts)"
        for label, annotate in (
            ("identical manifests (the API server changes nothing)", None),
            (
                "spec unchanged, an annotation added (every object changes)",
                {"bench.promptrelease.io/touch": "1"},
            ),
        ):
            manifests.write(path, objects, annotate)
            started = time.time()
            events = self._events()
            submit = self.apply(path)
            self.settle(started, {BURST_NS}, cap=60)
            calls = self.operator_calls(started, namespaces={BURST_NS})
            written = audit.writes(calls)
            self.row(
                section,
                label,
                f"{len(written)} writes, {len(calls) - len(written)} reads",
                "0 writes",
                f"submit {s(submit)}; {self._events() - events} watch events",
                not written,
            )
            n = len(burst.prompts)
            self.columns.append(
                (
                    f"re-apply {'same' if annotate is None else 'touch'}/{n}",
                    {k: v / n for k, v in audit.by_key(calls).items()},
                )
            )

    def _cpu(self) -> dict[str, float]:
        pids = {name: p.pid for name, p in self.plane.processes.items() if name in CPU_OF}
        if self.operator is not None:
            pids["operator"] = self.operator.process.pid
        return {name: cpu_seconds(pid) for name, pid in sorted(pids.items())}

    def prompt_count(self) -> int:
        """Every prompt the cluster holds now: the bursts' and the latency phase's."""
        return sum(len(b.prompts) for b in self.bursts.values()) + LATENCY_RELEASES + 1

    def _events(self) -> int:
        return self.releases.events + self.versions.events

    def restart(self, label: str, objects: int) -> None:
        assert self.operator is not None
        self.operator.stop()
        operator = self.start_operator("operator-" + label.replace(" ", "-"))
        profile = self.work / "restart.pyspy.txt"
        profiling = self.args.profile not in (None, "cprofile") and operator.profile_start(profile)
        healthy = operator.wait_healthy(self.left(120))
        # Resumed: no API call but watches, and no CPU to speak of, for 5 s (kopf may list and
        # index everything before it calls a single handler: silence on the wire isn't enough).
        deadline = time.time() + self.left(300)
        while True:
            last = self.audit.quiet(OPERATOR_USER, operator.started, 5.0, deadline, where=busy)
            done = max(last or operator.started, operator.last_busy(operator.started))
            if time.time() - done >= 5.0 or time.time() >= deadline:
                break
            time.sleep(0.5)
        resumed = done - operator.started
        if profiling:
            operator.profile_stop()
            self.details.append(
                f"profile of the operator resuming (py-spy, {profile}):\n"
                + Profile.read(profile).report()
            )
        calls = self.operator_calls(operator.started)
        written = audit.writes(calls)
        rss, hwm = operator.memory()
        section = f"restart over {label} ({objects} prompts)"
        self.row(
            section,
            "resumed: process start -> last API call or CPU use",
            s(resumed),
            "<= 30 s",
            f"/healthz after {s(healthy)}",
            resumed <= 30.0,
        )
        self.row(section, "writes after the restart", str(len(written)), "0", "-", not written)
        gets = Counter(c.resource for c in calls if c.verb == "get")
        self.row(
            section,
            "GETs per prompt on resume",
            ", ".join(f"{k} {v / objects:.1f}" for k, v in sorted(gets.items())),
            "-",
            "-",
        )
        self.row(
            section,
            "operator RSS after resume (VmRSS / VmHWM)",
            f"{mib(rss)} / {mib(hwm)}",
            "-",
            "-",
        )
        self.columns.append(
            (f"restart/{objects}", {k: v / objects for k, v in audit.by_key(calls).items()})
        )

    # -- scale ------------------------------------------------------------------------------

    def scale(self) -> None:
        assert self.operator is not None
        size = self.args.size
        section = f"scale: {10 * size} prompts over 10 namespaces + {5 * size} unrelated ConfigMaps"
        before, _ = self.operator.memory()
        started = time.time()
        unrelated = [manifests.unrelated_config_map(UNRELATED_NS, n, 4096) for n in range(5 * size)]
        self.apply(manifests.write(self.work / "unrelated.yaml", unrelated))
        self.audit.quiet(OPERATOR_USER, started, 5.0, time.time() + self.left(60))
        time.sleep(2)
        after, _ = self.operator.memory()
        watches = self.audit.select(
            user=OPERATOR_USER,
            where=lambda c: c.resource == "configmaps" and c.verb in ("list", "watch"),
        )
        selectors = sorted({c.uri.split("?", 1)[-1] for c in watches})
        filtered = bool(watches) and all("labelSelector" in c.uri for c in watches)
        self.row(
            section,
            "unrelated ConfigMaps never held in memory",
            f"RSS {(after - before) / 2**20:+.0f} MiB while {5 * size} ConfigMaps "
            f"({mib(5 * size * 4096)}) "
            f"were created; ConfigMap watch {'filtered by label' if filtered else 'unfiltered'}",
            "watched with a label selector; RSS flat",
            "-",
            filtered,
        )
        self.details.append("operator's ConfigMap list/watch requests: " + "; ".join(selectors))

        result = self.burst("scale", SCALE_NAMESPACES, size, 0, profile=False)
        small = self.bursts.get("burst")
        self.row(
            section,
            "all Ready",
            s(result.ready_s) + (f", {result.not_ready} never Ready" if result.not_ready else ""),
            "-",
            f"client submit {s(result.submit_s)}",
        )
        if small is not None:
            # The client is the floor: while the operator keeps pace, a prompt is Ready when the
            # client has submitted it, so the client's own slowdown at scale (a bigger etcd, a
            # busier machine) is the least either can show.
            ratio = result.per_release_ms / small.per_release_ms
            client = (result.submit_s / len(result.prompts)) / (small.submit_s / len(small.prompts))
            self.row(
                section,
                "time per prompt vs the 1x burst (linear)",
                f"{result.per_release_ms:.1f} ms ({ratio:.2f}x)",
                "<= 1.1x the client's own ratio (linear, 10% for noise)",
                f"{small.per_release_ms:.1f} ms at {len(small.prompts)}; client {client:.2f}x",
                ratio <= 1.1 * max(client, 1.0),
            )
        self._quiescent(section, result, "quiescent after the last Ready")
        self._budget_per_prompt(section, result)
        rss, hwm = self.operator.memory()
        self.row(
            section,
            "operator RSS after (VmRSS; peak VmHWM)",
            f"{mib(rss)}; peak {mib(hwm)}",
            f"<= {mib(SCALE_RSS_TARGET)}",
            f"idle at start {mib(self.idle_rss)}",
            rss <= SCALE_RSS_TARGET,
        )
        self.restart("everything", self.prompt_count())

    # -- standing start ---------------------------------------------------------------------

    def standing_start(self) -> None:
        """The operator installed over 10 x size prompts it never released (as GitOps often
        does): every object is created while no operator runs, then the operator starts, as
        the restart starts it. Ready, quiescence and writes count from its process start."""
        assert self.operator is None
        namespaces = set(STANDING_NAMESPACES)
        result, path = self._prompts("standing", STANDING_NAMESPACES, self.args.size, 0)
        n = len(result.prompts)
        result.submit_s = self.apply(path)
        cpu_before = self._cpu()
        with self._profiling("standing start", bool(self.args.profile)):
            operator = self.start_operator("operator-standing-start")
            result.started = operator.started
            healthy = operator.wait_healthy(self.left(120))
            hashed = self._until_ready(result, namespaces, releases_only=True, reads=True)
        self._measured(result, {}, cpu_before)
        _, hwm = operator.memory()

        section = f"standing start: the operator started over {n} prompts it never released"
        self.row(
            section,
            "all releases Ready: operator start -> last Ready (watch)",
            s(result.ready_s) + (f", {result.not_ready} never Ready" if result.not_ready else ""),
            "-",
            f"the client created them in {s(result.submit_s)} "
            f"({result.ready_s / result.submit_s:.2f} x); /healthz after {s(healthy)}",
        )
        statuses = [c.at for c in audit.writes(result.calls) if category(c) == "version status"]
        lag = max(statuses, default=math.nan) - result.last_ready
        versions_ready = max(hashed.values(), default=math.nan) - result.started
        self.row(
            section,
            "last PromptVersion status write after the last Ready (audit)",
            s(lag),
            "<= 5 s",
            f"versions all Ready (watch) {s(versions_ready)} after the start",
            bool(lag <= 5.0),
        )
        self._quiescent(section, result, "quiescent: last API call after the last Ready (audit)")
        peak = max(result.peak_rss, result.rss_after)
        self.row(
            section,
            "operator RSS: peak during the phase (sampled 4/s); at the end",
            f"{mib(peak)}; {mib(result.rss_after)} (VmHWM {mib(hwm)})",
            f"<= {mib(SCALE_RSS_TARGET)}",
            "-",
            max(peak, hwm) <= SCALE_RSS_TARGET,
        )
        written = len(audit.writes(result.calls))
        per_write = result.submit_s / (2 * n)
        self.row(
            section,
            "writes per new prompt, all kinds (audit)",
            f"{written / n:.2f} ({written} writes)",
            "-",
            f"the client: 2, {ms(per_write)} a write; {written} writes at that pace: "
            f"{s(written * per_write)}",
        )
        self._budget_per_prompt(section, result)
        self._work(section, result)
        self.columns.append(
            (f"standing start/{n}", {k: v / n for k, v in audit.by_key(result.calls).items()})
        )

    def clear_standing_start(self) -> None:
        """Remove the standing start's prompts, so that the later phases see the cluster they
        always saw: the operator stopped, the in-use finalizers taken off by the bench, the
        namespaces deleted (their controller deletes what they hold)."""
        if self.operator is not None:
            self.operator.stop()
            self.operator = None
        finalized: list[Key] = []
        for namespace in STANDING_NAMESPACES:
            listed: Any = self.custom.list_namespaced_custom_object(
                GROUP, CRD_VERSION, namespace, VERSION_PLURAL
            )
            finalized += [
                (namespace, item["metadata"]["name"])
                for item in listed["items"]
                if item["metadata"].get("finalizers")
            ]

        def unfinalize(key: Key) -> None:
            self._merge_patch(VERSION_PLURAL, *key, {"metadata": {"finalizers": None}})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(unfinalize, finalized))
        self.kubectl("delete", "namespace", *STANDING_NAMESPACES, timeout=self.left(900))

    # -- the run ----------------------------------------------------------------------------

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - started))

    def run(self) -> None:
        with self.phase("setup"):
            self.setup()
        self.phased()

    def phased(self) -> None:
        cprofile = self.work / "burst.cprofile" if self.args.profile == "cprofile" else None
        if self.args.standing_start_only:
            with self.phase("standing start"):
                self.standing_start()
            return
        with self.phase("path floor"):
            self.path_floor()
        if self.args.full:
            # First, over a cluster holding nothing else; then its prompts go.
            with self.phase("standing start"):
                self.standing_start()
            with self.phase("standing start removed"):
                self.clear_standing_start()
        operator = self.start_operator("operator", cprofile)
        self.results["operator_start_s"] = operator.wait_healthy(self.left(120))
        time.sleep(1)
        self.idle_rss = operator.memory()[0]
        with self.phase("latency"):
            self.latency()
        if self.args.latency_only:
            return
        with self.phase("burst"):
            small = self.burst(
                "burst", [BURST_NS], self.args.size, 0, profile=bool(self.args.profile)
            )
        self.report_burst(small, f"{self.args.size} new prompts")
        if cprofile is not None:
            # cProfile slows everything: restart without it before measuring anything else.
            operator.stop()
            self.details.append(
                f"profile of the operator (cProfile, {cprofile}):\n" + cprofile_report(cprofile)
            )
            self.start_operator("operator-after-profile").wait_healthy(self.left(120))
        with self.phase("mixed burst"):
            mix = self.burst("mix", [MIX_NS], self.args.size, self.args.large, profile=False)
        self.report_burst(mix, f"{self.args.size} new prompts, {self.args.large} of them 300 KiB")
        self._large_cost(small, mix)
        with self.phase("re-apply"):
            self.reapply()
        with self.phase("restart"):
            self.restart("all of the above", self.prompt_count())
        if self.args.full:
            with self.phase("scale"):
                self.scale()

    def _large_cost(self, small: BurstResult, mix: BurstResult) -> None:
        """The mixed burst against the small one: its extra time to Ready is held to the cost
        of moving the 300 KiB prompts, both ways, measured in this run: the client's extra
        submit time, and the operator's one write of each (the extra time of the 300 KiB
        floor's ConfigMap, which has the shape of theirs, over a small one)."""
        extra_ready = mix.ready_s - small.ready_s
        extra_submit = max(mix.submit_s - small.submit_s, 0.0)
        floors = self.results.get("latency") or {}
        large = [x for x in floors.get("floor_large_s", ()) if not math.isnan(x)]
        base = [x for x in floors.get("floor_s", ()) if not math.isnan(x)]
        per_write = (percentile(large, 0.5) - percentile(base, 0.5)) if large and base else 0.0
        writes = self.args.large * max(per_write, 0.0)
        self.row(
            f"burst: {self.args.size} new prompts, {self.args.large} of them 300 KiB",
            "extra time to Ready over the small burst",
            s(extra_ready),
            "<= their transfer cost (the client's extra submit + the operator's writes)",
            f"extra submit {s(extra_submit)} + {self.args.large} x 300 KiB ConfigMap "
            f"{ms(per_write)} = {s(extra_submit + writes)}",
            extra_ready <= extra_submit + writes,
        )

    def api_calls_table(self) -> str:
        """API calls per prompt by verb, resource and client, in each phase."""
        columns: list[tuple[str, dict[str, float]]] = []
        if "per_revision_calls" in self.results:
            columns.append(("per revision", self.results["per_revision_calls"]))
        for name, result in self.bursts.items():
            n = len(result.prompts)
            columns.append(
                (f"{name}/prompt", {k: v / n for k, v in audit.by_key(result.calls).items()})
            )
        columns += self.columns
        keys = sorted({k for _, col in columns for k in col}, key=lambda k: (k.split()[1], k))
        if not keys:
            return ""
        width = max(len(k) for k in keys)
        lines = [" " * width + "".join(f"{name:>24}" for name, _ in columns)]
        for key in keys:
            lines.append(
                key.ljust(width) + "".join(f"{col.get(key, 0):>24.2f}" for _, col in columns)
            )
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.profile == "auto":
        args.profile = "py-spy" if py_spy() else "cprofile"
    began = time.monotonic()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="prompt-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    extra, _log = audit.apiserver_args(folder, args.audit_bodies)
    bench: Bench | None = None
    error: BaseException | None = None
    with running_control_plane(extra_apiserver_args=extra) as plane:
        bench = Bench(plane, folder, args)
        try:
            bench.run()
        except DeadlineError:
            error = DeadlineError(
                f"deadline of {args.deadline:.0f} s reached: later phases skipped"
            )
        except (Exception, KeyboardInterrupt) as failed:
            error = failed
        finally:
            if bench.operator is not None:
                bench.operator.stop()
            bench.audit.stop()
            for watcher in (bench.releases, bench.versions, bench.floor_maps):
                watcher.stop()
    print()
    print(
        f"prompt-release-operator bench: size {args.size}, {_mode(args)}; "
        f"{_machine()}; {time.monotonic() - began:.0f} s"
    )
    print(f"operator measured: {bench.measured}")
    print("phases: " + ", ".join(f"{name} {took:.0f} s" for name, took in bench.phases))
    print(table(bench.rows))
    calls = bench.api_calls_table()
    if calls:
        print("\nAPI calls by the operator per prompt (audit log: verb resource (client)):")
        print(calls)
    for detail in bench.details:
        print("\n" + detail)
    if error is not None:
        print(f"\nstopped early: {type(error).__name__}: {error}")
        if bench.operator is not None:
            print("operator log tail:\n" + bench.operator.output()[-3000:])
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": [r.__dict__ | {"verdict": r.verdict} for r in bench.rows],
                    **bench.results,
                },
                indent=1,
                default=str,
            )
        )
    if args.keep is None:
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    else:
        print(f"\nlogs, manifests, audit log and profiles kept in {folder}")
    return 0


def _mode(args: argparse.Namespace) -> str:
    if args.standing_start_only:
        return "standing start only"
    return "full" if args.full else "default"


def _machine() -> str:
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    import os

    return f"{os.cpu_count()} cores, load {' '.join(load)}, Python {platform.python_version()}"


if __name__ == "__main__":
    sys.exit(main())
