"""How long `kubectl prompt dashboard` takes to load a namespace of 1,000 releases.

`python -m bench.dashboard [--releases N]` starts a local control plane, creates N
PromptVersions and N PromptReleases in one namespace with the status the operator writes (a
Ready condition and a history of three revisions, written through the status subresource, so
no operator has to release them first), starts the dashboard as its own process and prints:
the server's time to answer the namespace page (first and warm loads), the release page, and a
headless Chromium's time to load the namespace page until its `load` event (when
/usr/bin/chromium and Playwright are there). A printout, never a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.controlplane.cluster import running_control_plane

from prompt_release import API_VERSION
from prompt_release.kube import Kube

NAMESPACE = "bench-dashboard"
REPO = Path(__file__).resolve().parent.parent
HASH = "sha256:" + "ab" * 32
WARM_LOADS = 10


def _status(index: int) -> dict[str, Any]:
    history = [
        {
            "revision": revision,
            "version": f"p{index}-v1",
            "hash": HASH,
            "changelog": f"revision {revision}",
            "releasedAt": "2026-12-01T10:00:00Z",
            "releasedBy": "bench",
        }
        for revision in (3, 2, 1)
    ]
    return {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Released",
                "message": "live",
                "lastTransitionTime": "2026-12-01T10:00:00Z",
                "observedGeneration": 1,
            }
        ],
        "version": f"p{index}-v1",
        "hash": HASH,
        "shortHash": HASH[:19],
        "revision": 3,
        "releasedAt": "2026-12-01T10:00:00Z",
        "configMap": f"p{index}-production",
        "history": history,
    }


def _populate(kube: Kube, count: int) -> None:
    base = f"/apis/{API_VERSION}/namespaces/{NAMESPACE}"

    def one(index: int) -> None:
        version = {
            "apiVersion": API_VERSION,
            "kind": "PromptVersion",
            "metadata": {"name": f"p{index}-v1"},
            "spec": {"prompt": f"p{index}", "template": "Hi {name}", "variables": ["name"]},
        }
        release = {
            "apiVersion": API_VERSION,
            "kind": "PromptRelease",
            "metadata": {"name": f"p{index}-production"},
            "spec": {"prompt": f"p{index}", "label": "production", "version": f"p{index}-v1"},
        }
        kube.call("POST", f"{base}/promptversions", version)
        kube.call("POST", f"{base}/promptreleases", release)
        kube.call(
            "PATCH",
            f"{base}/promptreleases/p{index}-production/status",
            {"status": _status(index)},
            content_type="application/merge-patch+json",
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def _seconds(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def _browser_seconds(url: str) -> dict[str, float] | None:
    """Median seconds of five loads in headless Chromium: until the `load` event, and its parts
    from the page's Navigation Timing (the server's answer, the parse, the rest)."""
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    parts = (
        "({answer: t.responseEnd - t.requestStart, parse: t.domInteractive - t.responseEnd, "
        "rest: t.loadEventStart - t.domInteractive})"
    )
    timing = f"(t => {parts})(performance.getEntriesByType('navigation')[0])"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page()
        page.goto(url)  # warm the browser's cache of the scripts and the style sheet
        loads: list[dict[str, float]] = []
        for _ in range(5):
            started = time.perf_counter()
            page.goto(url, wait_until="load")
            measured = {k: v / 1000 for k, v in page.evaluate(timing).items()}
            loads.append({"load": time.perf_counter() - started, **measured})
        browser.close()
    return {key: statistics.median(load[key] for load in loads) for key in loads[0]}


def _measure(kubeconfig: Path, count: int) -> None:
    argv = [sys.executable, "-m", "prompt_release", "dashboard", "--kubeconfig", str(kubeconfig)]
    dashboard = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert dashboard.stdout is not None
        base = dashboard.stdout.readline().split()[2].split("/ns/")[0]
        page = f"{base}/ns/{NAMESPACE}"
        first = _seconds(page)
        warm = [_seconds(page) for _ in range(WARM_LOADS)]
        release = statistics.median(
            _seconds(f"{page}/releases/p0-production") for _ in range(WARM_LOADS)
        )
        print(f"namespace page, {count} releases: first load {first:.3f} s")
        print(
            f"namespace page, {count} releases: warm median {statistics.median(warm):.3f} s, "
            f"max {max(warm):.3f} s over {WARM_LOADS} loads"
        )
        print(f"release page (in a namespace of {count}): median {release:.3f} s")
        in_browser = _browser_seconds(page)
        if in_browser is not None:
            print(
                f"namespace page in headless Chromium, until `load`: median "
                f"{in_browser['load']:.3f} s (the answer {in_browser['answer']:.3f} s, the parse "
                f"{in_browser['parse']:.3f} s, scripts and layout {in_browser['rest']:.3f} s)"
            )
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    args = parser.parse_args()
    with running_control_plane(workloads=False) as plane:
        admin = [str(plane.kubectl), "--kubeconfig", str(plane.kubeconfig)]
        subprocess.run([*admin, "apply", "-k", str(REPO / "crds")], check=True, capture_output=True)
        subprocess.run(
            [*admin, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
            check=True,
            capture_output=True,
        )
        subprocess.run([*admin, "create", "namespace", NAMESPACE], check=True, capture_output=True)
        kube = Kube.connect(str(plane.kubeconfig), connections=8)
        started = time.perf_counter()
        _populate(kube, args.releases)
        print(f"created {args.releases} releases in {time.perf_counter() - started:.1f} s")
        _measure(plane.kubeconfig, args.releases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
