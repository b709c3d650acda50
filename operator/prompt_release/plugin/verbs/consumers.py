"""The consumer contract gate from the command line: the annotations a workload should carry
for a version (`consumer-annotations`), a release's consumers in `status`, and the check of a
version against the workloads of the label `promote` moves (`core/consumers.py` judges)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from prompt_release.core import consumers
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import OK, UsageError
from prompt_release.plugin.output import emit, table
from prompt_release.plugin.verbs.common import cluster, read, versions_in


def _spec_of(args: argparse.Namespace) -> Mapping[str, Any]:
    """The spec of the version named on the command line, from the cluster or from `-f`."""
    if args.filename:
        found = [
            document
            for document in versions_in(args.filename)
            if (document.get("metadata") or {}).get("name") == args.version or not args.version
        ]
        if len(found) != 1:
            raise UsageError(
                f"{args.filename}: name one PromptVersion of it (found {len(found)} matching)"
            )
        spec = found[0].get("spec")
        return spec if isinstance(spec, Mapping) else {}
    if not args.version:
        raise UsageError("name a PromptVersion, or give its manifest with -f FILE")
    return cluster(args).version(args.version).spec


def cmd_consumer_annotations(args: argparse.Namespace) -> int:
    """Print the pod-template annotations a workload using the version should carry."""
    if args.filename and args.filename != "-":
        read(args.filename)  # a missing file is a usage error, before anything else
    supplies = None if args.supplies is None else consumers.parse_list(args.supplies)
    found = consumers.annotations_for(_spec_of(args), supplies)
    if args.output == "table":
        print("# spec.template.metadata.annotations of each workload using the prompt:")
        for key in sorted(found):
            print(f"{key}: {json.dumps(found[key])}")
    else:
        emit(args.output, [], [], found)
    return OK


def summary(status: Mapping[str, Any]) -> str | None:
    """The CONSUMERS cell of `status`: `2 ok, 1 incompatible, 1 unchecked`."""
    found = status.get("consumers")
    if not isinstance(found, Mapping):
        return None
    states = [str(w.get("state")) for w in found.get("workloads") or ()]
    if not states:
        return "none"
    parts = [
        f"{states.count(state)} {word}"
        for state, word in (
            (consumers.COMPATIBLE, "ok"),
            (consumers.INCOMPATIBLE, "incompatible"),
            (consumers.UNCHECKED, "unchecked"),
        )
        if states.count(state)
    ]
    return ", ".join(parts)


def check(on: Cluster, target: ReleaseView, version: VersionView) -> consumers.Verdict | None:
    """`version` judged against the workloads using the target release's ConfigMap; None
    when they can't be listed (the operator still checks them)."""
    workloads = on.workloads(target.config_map_name)
    if workloads is None:
        print(
            "warning: may not list the workloads: the operator checks its consumers",
            file=sys.stderr,
        )
        return None
    return consumers.check(version.name, version.content_hash or "", version.spec, workloads)


def show(verdict: consumers.Verdict, target: str) -> None:
    """The check as a table (nothing when no workload uses the ConfigMap)."""
    if not verdict.consumers:
        return
    print(f"consumers of {target} (consumer contract gate):")
    rows = [
        {
            "WORKLOAD": c.label,
            "STATE": c.state,
            "": c.problem() or ("declares nothing" if c.state == consumers.UNCHECKED else ""),
        }
        for c in verdict.consumers
    ]
    table(rows, ["WORKLOAD", "STATE", ""])
