"""The operator under measurement: its process, its memory, its metrics and its profile."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes of a process with its children (the operator's token counter),
    from /proc; (0, 0) once it is gone. The children's VmHWM is added to the parent's, an upper
    bound of their peak together."""
    rss, hwm = _own_memory(pid)
    for child in _children(pid):
        child_rss, child_hwm = _own_memory(child)
        rss, hwm = rss + child_rss, hwm + child_hwm
    return rss, hwm


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _own_memory(pid: int) -> tuple[int, int]:
    found = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            parts = line.split()
            if parts and parts[0] in found:
                found[parts[0]] = int(parts[1]) * 1024
    except OSError:
        pass
    return found["VmRSS:"], found["VmHWM:"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def py_spy() -> str | None:
    """py-spy beside this Python (the venv) or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Operator:
    """`python -m bench.operator_main run ...` with its own kubeconfig (its own identity)."""

    process: subprocess.Popen[bytes]
    log: Path
    health: str
    metrics: str
    started: float
    samples: list[tuple[float, int, float]] = field(default_factory=list)
    """(wall clock, VmRSS bytes, CPU seconds so far) four times a second."""
    _stop_sampling: threading.Event = field(default_factory=threading.Event)
    _profiler: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(
        cls,
        kubeconfig: Path,
        args: list[str],
        log: Path,
        cprofile: Path | None = None,
        source: Path | None = None,
    ) -> Operator:
        """`source`: a folder holding `prompt_release` to run instead of the installed one."""
        port, metrics_port = _free_port(), _free_port()
        health = f"http://127.0.0.1:{port}/healthz"
        env = dict(
            os.environ,
            KUBECONFIG=str(kubeconfig),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(source or ""), str(REPO), os.environ.get("PYTHONPATH")])
            ),
        )
        env.pop("BENCH_CPROFILE", None)
        if cprofile is not None:
            env["BENCH_CPROFILE"] = str(cprofile)
        started = time.time()
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.operator_main",
                    "run",
                    "--liveness",
                    health,
                    "--metrics-port",
                    str(metrics_port),
                    *args,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        running = cls(process, log, health, f"http://127.0.0.1:{metrics_port}/metrics", started)
        threading.Thread(target=running._sample, name="rss", daemon=True).start()
        return running

    def _sample(self) -> None:
        while not self._stop_sampling.wait(0.25):
            rss, _ = memory(self.process.pid)
            if rss:
                self.samples.append((time.time(), rss, cpu_seconds(self.process.pid)))

    def wait_healthy(self, timeout: float = 60) -> float:
        """Seconds from process start until /healthz answers (polling the operator's own
        endpoint, which has no watch)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"operator exited {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.health, timeout=1) as response:
                    if response.status == 200:
                        return time.time() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"the operator's {self.health} did not answer in {timeout:.0f} s")

    def memory(self) -> tuple[int, int]:
        return memory(self.process.pid)

    def peak_rss(self, since: float, until: float) -> int:
        return max((rss for at, rss, _ in self.samples if since <= at <= until), default=0)

    def last_busy(self, since: float, share: float = 0.05) -> float:
        """The end of the last sampling interval (after `since`) in which the operator used
        more than `share` of a core; `since` if none."""
        last = since
        for (t1, _, cpu1), (t2, _, cpu2) in zip(self.samples, self.samples[1:], strict=False):
            if t2 > since and t2 > t1 and (cpu2 - cpu1) / (t2 - t1) > share:
                last = t2
        return last

    def scrape(self) -> dict[str, float]:
        """The operator's Prometheus metrics, as {"name{labels}": value}."""
        try:
            with urllib.request.urlopen(self.metrics, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return {}
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    found[name] = float(value)
                except ValueError:
                    continue
        return found

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    # -- py-spy -------------------------------------------------------------------------------

    def profile_start(self, output: Path, rate: int = 100) -> bool:
        """Sample the operator's stacks with py-spy: only the thread holding the GIL (what runs
        Python code), so the samples add up to the operator's Python CPU time."""
        binary = py_spy()
        if binary is None:
            return False
        self._profiler = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(self.process.pid),
                "--rate",
                str(rate),
                "--gil",
                "--nolineno",
                "--format",
                "raw",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return True

    def profile_stop(self) -> None:
        if self._profiler is None:
            return
        self._profiler.send_signal(signal.SIGINT)
        try:
            self._profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._profiler.kill()
            self._profiler.wait()
        self._profiler = None

    def stop(self) -> None:
        self.profile_stop()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stop_sampling.set()
