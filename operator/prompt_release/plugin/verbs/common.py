"""What several verbs need: the cluster from the flags, files, and `--dry-run=client`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prompt_release.plugin.client import Cluster
from prompt_release.plugin.errors import UsageError
from prompt_release.plugin.output import manifest_text


def cluster(args: argparse.Namespace) -> Cluster:
    return Cluster(args.kubeconfig, args.context, args.namespace)


def read(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror or error}") from error


def printed_for_git(args: argparse.Namespace, manifest: Mapping[str, Any]) -> bool:
    """--dry-run=client: print the manifest (for a Git commit) instead of writing it."""
    if args.dry_run != "client":
        return False
    print(manifest_text(manifest), end="")
    return True
