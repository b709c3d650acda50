"""Test helpers bound to one cluster: a kubectl runner and small polling utilities."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class KubectlError(RuntimeError):
    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        super().__init__(
            f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )


@dataclass
class Kubectl:
    """The real kubectl binary, bound to the cluster's kubeconfig (and optionally a namespace)."""

    binary: Path
    kubeconfig: Path
    namespace: str | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def in_namespace(self, namespace: str) -> Kubectl:
        return Kubectl(self.binary, self.kubeconfig, namespace)

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), *(["-n", self.namespace] if self.namespace else []), *args]
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, env=self.env, timeout=timeout
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result)
        return result

    def as_token(self, token: str, kubeconfig: Path) -> Kubectl:
        """The same cluster, authenticated only by a bearer token (e.g. a ServiceAccount's)."""
        config = json.loads(self("config", "view", "--raw", "--minify", "-o", "json"))
        cluster = config["clusters"][0]["cluster"]
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "cluster", "cluster": cluster}],
                    "users": [{"name": "token", "user": {"token": token}}],
                    "contexts": [
                        {"name": "token", "context": {"cluster": "cluster", "user": "token"}}
                    ],
                    "current-context": "token",
                }
            )
        )
        return Kubectl(self.binary, kubeconfig, self.namespace)

    def __call__(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout

    def apply(self, manifest: str, *extra: str) -> str:
        return self("apply", "-f", "-", *extra, input=manifest)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return dict(json.loads(self("get", kind, name, "-o", "json")))

    def exists(self, kind: str, name: str) -> bool:
        result = self.run("get", kind, name, "-o", "name", "--ignore-not-found", check=False)
        return bool(result.stdout.strip())


def eventually(
    probe: Callable[[], T | None], *, timeout: float = 30, interval: float = 0.2, what: str = ""
) -> T:
    """Poll until `probe` returns something truthy; fail with the last value or error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except Exception as error:
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {last!r}")
        time.sleep(interval)


@dataclass
class OperatorProcess:
    """`prompt-release-operator run` in its own process, with its log kept for failures."""

    process: subprocess.Popen[bytes]
    log: Path
    health: str

    @classmethod
    def start(cls, kubeconfig: Path, args: list[str], log: Path) -> OperatorProcess:
        port = _free_port()
        health = f"http://127.0.0.1:{port}/healthz"
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), PYTHONUNBUFFERED="1")
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "prompt_release.operator",
                    "run",
                    "--liveness",
                    health,
                    *args,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
            )
        running = cls(process, log, health)
        eventually(running.healthy, timeout=60, what=f"the operator's {health}")
        return running

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"operator exited {self.process.returncode}:\n{self.output()}")
        try:
            with urllib.request.urlopen(self.health, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def established(kubectl: Kubectl, *crds: str, timeout: float = 60) -> None:
    """Wait until each CRD is Established. `kubectl wait` fails outright on a CRD whose status
    has no conditions yet (just created, on a busy API server): poll the condition instead."""

    def pending() -> list[str]:
        return [crd for crd in crds if not _established(kubectl.get("crd", crd))]

    eventually(lambda: not pending(), timeout=timeout, what=f"{', '.join(crds)} Established")


def _established(crd: dict[str, Any]) -> bool:
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
