"""The API server's audit log as the bench's exact count of API calls.

kube-apiserver writes one JSON line per request to the kinds the operator touches (Metadata
level, every verb, no request or response bodies). The bench reads the file as it grows and
keeps a small record per call, so writes are counted, never estimated, and attributed by user
(the operator runs as its own ServiceAccount) and by client (kopf's own aiohttp client or the
handlers' kubernetes client).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

_RESOURCES = """\
    resources:
      - group: promptrelease.io
        resources: [promptreleases, promptreleases/status, promptversions, promptversions/status]
      - group: ""
        resources: [configmaps, events]
      - group: events.k8s.io
        resources: [events]
"""


def policy(write_bodies: bool = False) -> str:
    """Metadata for every call to the operator's kinds, ConfigMaps and Events; with
    `write_bodies`, writes at Request level (their bodies, for diagnosis; a bigger log)."""
    rules = "rules:\n"
    if write_bodies:
        rules += "  - level: Request\n    verbs: [create, update, patch, delete]\n" + _RESOURCES
    rules += "  - level: Metadata\n" + _RESOURCES + "  - level: None\n"
    return "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n" + rules


def apiserver_args(folder: Path, write_bodies: bool = False) -> tuple[list[str], Path]:
    """kube-apiserver flags for the audit log (written synchronously), and the log's path."""
    policy_file, log = folder / "audit-policy.yaml", folder / "audit.log"
    policy_file.write_text(policy(write_bodies))
    return [
        f"--audit-policy-file={policy_file}",
        f"--audit-log-path={log}",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        "--audit-log-maxsize=100000",  # MB: never rotate during a run
        "--audit-log-maxbackup=1",
    ], log


@dataclass(frozen=True)
class Call:
    """One API call, as the audit log saw it complete."""

    at: float  # wall clock (time.time()) when the API server finished it
    user: str
    client: str  # "kopf", "handlers" (the kubernetes client), or the user agent's first word
    verb: str
    resource: str  # "promptreleases/status", "configmaps", ...
    namespace: str
    name: str
    code: int
    uri: str

    @property
    def write(self) -> bool:
        return self.verb in WRITE_VERBS

    @property
    def key(self) -> str:
        """verb resource (client): how the tables group calls."""
        return f"{self.verb} {self.resource} ({self.client})"


def _client(agent: str) -> str:
    if agent.startswith("kopf/"):
        return "kopf"
    if agent.startswith(("prompt-release-operator/", "OpenAPI-Generator/")):
        return "handlers"
    return agent.split("/", 1)[0] or "?"


def _timestamp(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse(line: str) -> Call | None:
    try:
        event: dict[str, Any] = json.loads(line)
    except ValueError:
        return None
    stage = event.get("stage")
    verb = str(event.get("verb", ""))
    long_running = verb == "watch"
    # One record per request: a watch when it starts, everything else when it completes.
    if stage != ("ResponseStarted" if long_running else "ResponseComplete"):
        return None
    ref = event.get("objectRef") or {}
    resource = str(ref.get("resource", ""))
    if ref.get("subresource"):
        resource += "/" + str(ref["subresource"])
    return Call(
        at=_timestamp(str(event["stageTimestamp"])),
        user=str((event.get("user") or {}).get("username", "")),
        client=_client(str(event.get("userAgent", ""))),
        verb=verb,
        resource=resource,
        namespace=str(ref.get("namespace", "")),
        name=str(ref.get("name", "")),
        code=int((event.get("responseStatus") or {}).get("code", 0)),
        uri=str(event.get("requestURI", "")) if verb in ("list", "watch") else "",
    )


class AuditLog:
    """Reads the audit log as it grows (in a thread) and answers questions about the calls."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._offset = 0
        self._partial = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="audit", daemon=True)

    def start(self) -> AuditLog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.read()

    def _follow(self) -> None:
        while not self._stop.wait(0.2):
            self.read()

    def read(self) -> None:
        """Take in whatever the API server appended since the last read."""
        if not self.path.exists():
            return
        with self._lock, self.path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
            self._offset += len(chunk)
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                call = parse(line.decode(errors="replace"))
                if call is not None:
                    self.calls.append(call)

    def select(
        self,
        user: str | None = None,
        since: float = 0.0,
        until: float = float("inf"),
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        self.read()
        with self._lock:
            return [
                c
                for c in self.calls
                if since <= c.at <= until
                and (user is None or c.user == user)
                and (where is None or where(c))
            ]

    def quiet(
        self,
        user: str,
        since: float,
        quiet_for: float,
        deadline: float,
        where: Callable[[Call], bool] | None = None,
    ) -> float | None:
        """Wait until `user` made no call matching `where` for `quiet_for` seconds; return the
        time of the last one (None if none since `since`). Gives up at `deadline` (wall clock),
        returning the last call seen so far."""
        while True:
            calls = self.select(user=user, since=since, where=where)
            last = max((c.at for c in calls), default=None)
            now = time.time()
            if now - (last or since) >= quiet_for or now >= deadline:
                return last
            time.sleep(0.25)


def by_key(calls: Iterable[Call]) -> Counter[str]:
    return Counter(c.key for c in calls)


def writes(calls: Iterable[Call]) -> list[Call]:
    """Write requests the API server carried out (a 409 or any refusal changed nothing)."""
    return [c for c in calls if c.write and c.code < 400]


def refused_writes(calls: Iterable[Call]) -> list[Call]:
    """Write requests refused: conflicts (409) mostly, planned from a body already stale."""
    return [c for c in calls if c.write and c.code >= 400]
