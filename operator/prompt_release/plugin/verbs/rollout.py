"""`kubectl prompt rollout status`: wait for the workloads to serve the live revision.

kubectl habits: waits by default (`--watch=false` looks once), prints a line whenever the
picture changes, exits 0 when complete, 1 when failed or rolled back or timed out.
"""

from __future__ import annotations

import argparse
import time

from prompt_release.core import rollout
from prompt_release.core.views import ReleaseView, release_name
from prompt_release.plugin.errors import FAILED, OK, CliError
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import cluster

POLL_SECONDS = 0.5


def _line(release: ReleaseView) -> tuple[str, str | None]:
    """What to say of the release now, and its verdict (Complete, Failed) when final."""
    observed = int(release.status.raw.get("observedGeneration") or 0)
    current = release.status.rollout
    ready = release.status.ready
    if observed < release.generation or not ready:
        return f"Waiting for the operator to observe {release.name}...", None
    if release.held_back:
        return f"{release.name}: {ready.get('message')}", rollout.FAILED
    if not current:
        if ready.get("status") == "False":
            return f"{release.name} is not released: {ready.get('message')}", rollout.FAILED
        return f"Waiting for {release.name} to go live...", None
    phase = str(current.get("phase"))
    verdict = phase if phase in (rollout.COMPLETE, rollout.FAILED) else None
    if phase == rollout.COMPLETE:
        return (
            f'promptrelease "{release.name}" successfully rolled out: {current.get("message")}',
            verdict,
        )
    if phase == rollout.FAILED:
        return f"error: {current.get('message')}", verdict
    return f"Waiting for rollout to finish: {current.get('message')}", verdict


def cmd_rollout_status(args: argparse.Namespace) -> int:
    on = cluster(args)
    name = release_name(args.prompt, args.label)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    said = ""
    while True:
        body = on.get("promptreleases", name)
        release = ReleaseView.of(body)
        line, verdict = _line(release)
        if args.output != "table" and (verdict or not args.watch):
            emit(args.output, [], [], dict(release.status.rollout))
        elif line != said:
            print(line, flush=True)
            said = line
        if verdict or not args.watch:  # not watching, unfinished is fine (as kubectl says)
            return FAILED if verdict == rollout.FAILED else OK
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"timed out after {args.timeout:.0f} s waiting for {name} to roll out")
        time.sleep(POLL_SECONDS)
