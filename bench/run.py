"""Benchmarks that print figures: release latency and a restart over many releases.

Runs on the local control plane. Latency is compared against a baseline measured in the same
run (a plain ConfigMap write seen through the same polling), so the ratio survives a noisy,
shared machine better than the absolute figure.

    .venv/bin/python bench/run.py [--releases 100] [--samples 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.controlplane.cluster import running_control_plane  # noqa: E402
from tests.kube import Kubectl, OperatorProcess, eventually  # noqa: E402
from tests.prompts import apply, release, released, version  # noqa: E402


def release_latency(kubectl: Kubectl, samples: int) -> dict[str, float]:
    """apply → Ready of a new revision, against apply → visible of a plain ConfigMap."""
    apply(kubectl, *(version(f"lat-v{n}", "lat") for n in range(samples + 1)))
    apply(kubectl, release("lat-v0", prompt="lat"))
    released(kubectl, "lat-production", 1)
    latencies: list[float] = []
    baseline: list[float] = []
    for n in range(1, samples + 1):
        started = time.perf_counter()
        apply(kubectl, release(f"lat-v{n}", prompt="lat"))
        released(kubectl, "lat-production", n + 1, interval=0.02)
        latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        kubectl("create", "configmap", f"baseline-{n}", f"--from-literal=n={n}")
        eventually(partial(kubectl.exists, "configmap", f"baseline-{n}"), timeout=60, interval=0.02)
        baseline.append(time.perf_counter() - started)
    return {
        "release_median_s": statistics.median(latencies),
        "release_p90_s": sorted(latencies)[int(0.9 * (len(latencies) - 1))],
        "baseline_median_s": statistics.median(baseline),
        "ratio_median": statistics.median(latencies) / statistics.median(baseline),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    with running_control_plane() as plane, tempfile.TemporaryDirectory() as tmp:
        admin = Kubectl(plane.kubectl, plane.kubeconfig)
        admin("apply", "--server-side", "-k", str(REPO / "crds"))
        for crd in ("promptversions", "promptreleases"):
            admin("wait", "--for=condition=Established", f"crd/{crd}.promptrelease.io")
        admin("create", "namespace", "bench")
        kubectl = admin.in_namespace("bench")
        logs = Path(tmp)

        operator = OperatorProcess.start(plane.kubeconfig, ["-n", "bench"], logs / "op1.log")
        latency = release_latency(kubectl, args.samples)
        print(
            f"release apply→Ready: median {latency['release_median_s'] * 1000:.0f} ms, "
            f"p90 {latency['release_p90_s'] * 1000:.0f} ms; baseline ConfigMap "
            f"apply→visible median {latency['baseline_median_s'] * 1000:.0f} ms; "
            f"ratio {latency['ratio_median']:.2f}"
        )

        prompts = [f"r{n:03d}" for n in range(args.releases)]
        apply(kubectl, *(version(f"{p}-v1", p) for p in prompts))
        apply(kubectl, *(release(f"{p}-v1", prompt=p) for p in prompts))
        started = time.perf_counter()
        kubectl("wait", "--for=condition=Ready", "promptreleases", "--all", "--timeout=600s")
        print(f"{args.releases} new releases Ready in {time.perf_counter() - started:.1f} s")
        time.sleep(3)
        operator.stop()

        def versions() -> dict[str, str]:
            items = json.loads(kubectl("get", "prompts,configmaps", "-o", "json"))["items"]
            return {
                f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
                for o in items
            }

        before = versions()
        again = OperatorProcess.start(plane.kubeconfig, ["-n", "bench"], logs / "op2.log")
        time.sleep(15)
        after = versions()
        changed = sorted(k for k in before if after.get(k) != before[k])
        print(
            f"restart over {args.releases} releases ({len(before)} objects): "
            f"{len(changed)} objects written in 15 s after start"
            + (f": {changed[:5]}" if changed else "")
        )
        again.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
