"""What several verbs need: the cluster from the flags, files, and `--dry-run=client`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from prompt_release.core.manifests import load_all
from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import CliError, UsageError
from prompt_release.plugin.output import manifest_text

POLL_SECONDS = 0.2
T = TypeVar("T")


def cluster(args: argparse.Namespace) -> Cluster:
    return Cluster(
        args.kubeconfig,
        args.context,
        args.namespace,
        as_user=args.as_user,
        as_groups=args.as_groups,
        as_uid=args.as_uid,
    )


def read(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror or error}") from error


def versions_in(name: str) -> list[dict[str, Any]]:
    """The PromptVersions of a manifest file (`-`: standard input); none is a usage error."""
    text = sys.stdin.read() if name == "-" else read(name)
    try:
        documents = list(load_all(text))
    except yaml.YAMLError as error:
        raise UsageError(f"{name}: not valid YAML: {error}") from error
    found = [d for d in documents if isinstance(d, dict) and d.get("kind") == "PromptVersion"]
    if not found:
        raise UsageError(f"{name}: no PromptVersion in it")
    return found


def printed_for_git(args: argparse.Namespace, manifest: Mapping[str, Any]) -> bool:
    """--dry-run=client: print the manifest (for a Git commit) instead of writing it."""
    if args.dry_run != "client":
        return False
    print(manifest_text(manifest), end="")
    return True


def wait_for(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll the cluster until `probe` finds what a verb waits for (the operator's verdict)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise CliError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)
