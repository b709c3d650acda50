"""A real Prometheus on loopback, built from the pinned Go module (`prometheus/`), scraping the
workload processes the tests run (kwok's pods run no containers, so workloads are local
processes with the SDK serving /metrics).

Targets are a file_sd file Prometheus watches: `scrape()` rewrites it and Prometheus picks the
change up within a second. Scrapes every second and keeps two hours in a temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane.binaries import PROMETHEUS, ensure_binaries
from tests.controlplane.cluster import _die_with_parent, free_port

SCRAPE_INTERVAL = "1s"

CONFIG = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
  evaluation_interval: {interval}
rule_files: {rules}
scrape_configs:
  - job_name: workloads
    file_sd_configs:
      - files: [{targets}]
        refresh_interval: 1s
"""


@dataclass
class LocalPrometheus:
    """One Prometheus process; `url` answers the HTTP API once `start()` returns."""

    folder: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    startup_seconds: float = 0.0
    queries: int = 0
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def version(self) -> str:
        return PROMETHEUS.version

    def start(self) -> LocalPrometheus:
        binary = ensure_binaries(["prometheus"])["prometheus"]
        targets = self.folder / "targets.json"
        targets.write_text("[]")
        config = self._write_config(rules=[])
        self.port = free_port()
        started = time.monotonic()
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=2h",
                    "--query.lookback-delta=30s",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        self._wait_ready()
        self.startup_seconds = time.monotonic() - started
        return self

    def _write_config(self, rules: list[str]) -> Path:
        config = self.folder / "prometheus.yml"
        targets = json.dumps(str(self.folder / "targets.json"))
        config.write_text(
            CONFIG.format(interval=SCRAPE_INTERVAL, targets=targets, rules=json.dumps(rules))
        )
        return config

    def load_rules(self, groups: Sequence[dict[str, Any]]) -> None:
        """Evaluate these rule groups (a PrometheusRule's `spec.groups`) every second from now
        on, in place of any loaded before; an empty list unloads them. Prometheus reloads its
        configuration on SIGHUP and refuses a rule it can't parse, so this fails on one."""
        path = self.folder / "rules.yml"
        path.write_text(yaml.safe_dump({"groups": list(groups)}))
        self._write_config(rules=[str(path)] if groups else [])
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        wanted = sorted(group["name"] for group in groups)

        def loaded() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited:\n{self.output()}")
            return sorted(group["name"] for group in self.api("rules")["groups"]) == wanted

        deadline = time.monotonic() + 30
        while not loaded():
            if time.monotonic() > deadline:
                raise RuntimeError(f"rules {wanted} not loaded after 30 s:\n{self.output()}")
            time.sleep(0.2)

    def api(self, path: str) -> Any:
        """The data of a GET of /api/v1/<path> (rules, alerts, ...)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}", timeout=5) as answer:
            found = json.load(answer)
        assert found["status"] == "success", found
        return found["data"]

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited {self.process.returncode}:\n{self.output()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready after {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def scrape(self, targets: Sequence[str], **labels: str) -> None:
        """Scrape these host:port targets (and only these) from now on."""
        entries = [{"targets": list(targets), "labels": labels}] if targets else []
        path = self.folder / "targets.json"
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(entries))
        staging.rename(path)  # whole, so Prometheus never reads half a file

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result (the vector's series), as the HTTP API returns it."""
        self.queries += 1
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as answer:
            found = json.load(answer)
        assert found["status"] == "success", found
        result: list[dict[str, Any]] = found["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The single series' value, or None when there is no series."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def up(self) -> dict[str, float]:
        """Each scraped target's `up` value."""
        return {s["metric"]["instance"]: float(s["value"][1]) for s in self.query("up")}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running_prometheus(keep: bool = False) -> Iterator[LocalPrometheus]:
    """A started Prometheus, stopped (and its folder removed unless `keep`) on exit."""
    folder = Path(tempfile.mkdtemp(prefix="prompt-release-prometheus-"))
    server = LocalPrometheus(folder)
    try:
        yield server.start()
    finally:
        server.stop()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
