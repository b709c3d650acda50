"""`kubectl prompt deps`: the include tree of a version, or of what a prompt's releases serve,
with each pinned hash and what the label serves of each included prompt now."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from prompt_release import RELEASE_PLURAL, VERSION_PLURAL
from prompt_release.core import composition
from prompt_release.core.hashing import short_hash
from prompt_release.core.views import ReleaseView, VersionView
from prompt_release.plugin.errors import OK, NotFoundError
from prompt_release.plugin.output import emit
from prompt_release.plugin.verbs.common import cluster

COLUMNS = ["ROOT", "INCLUDE", "PROMPT", "PINNED", "STATE", "NEWER"]


def cmd_deps(args: argparse.Namespace) -> int:
    on = cluster(args)
    versions = {VersionView.of(body).name: VersionView.of(body) for body in on.list(VERSION_PLURAL)}
    releases = [ReleaseView.of(body) for body in on.list(RELEASE_PLURAL)]
    roots = _roots(args.target, args.label, versions, releases)
    rows: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    for title, root, label in roots:
        branches = composition.tree(root, versions.get)
        found = [_branch(branch, label, releases) for branch in branches]
        raw.append(
            {
                "root": title,
                "version": root.name,
                "hash": root.content_hash,
                "label": label,
                "includes": found,
            }
        )
        rows += [_row(title, item) for item in found] or [{"ROOT": title, "INCLUDE": "(none)"}]
    emit(args.output, rows, COLUMNS, raw)
    return OK


def _roots(
    target: str,
    label: str | None,
    versions: Mapping[str, VersionView],
    releases: Sequence[ReleaseView],
) -> list[tuple[str, VersionView, str | None]]:
    """(title, version, label) of each tree to show: the version named, or what each release
    of the prompt named serves (only `label`'s with -l)."""
    if target in versions:
        return [(target, versions[target], label)]
    serving = [r for r in releases if r.prompt == target and (label is None or r.label == label)]
    found: list[tuple[str, VersionView, str | None]] = [
        (f"{r.label}: {r.status.version}", versions[str(r.status.version)], r.label)
        for r in sorted(serving, key=lambda r: r.label)
        if str(r.status.version) in versions
    ]
    if not found:
        where = f" released as {label}" if label else " released"
        raise NotFoundError(f"no PromptVersion {target} and no prompt {target}{where}")
    return found


def _branch(
    branch: composition.Branch, label: str | None, releases: Sequence[ReleaseView]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": branch.name,
        "parent": branch.parent,
        "depth": branch.depth,
        "prompt": branch.prompt,
        "pinned": branch.pinned,
        "state": branch.state,
    }
    if branch.actual is not None and branch.actual != branch.pinned:
        item["actual"] = branch.actual
    newer = [
        {"label": r.label, "version": r.status.version, "hash": r.status.hash}
        for r in releases
        if r.prompt == branch.prompt
        and (label is None or r.label == label)
        and r.status.revision
        and r.status.hash != branch.pinned
    ]
    if newer:
        item["newer"] = sorted(newer, key=lambda n: str(n["label"]))
    return item


def _row(title: str, item: Mapping[str, Any]) -> dict[str, Any]:
    newer = ", ".join(
        f"{n['label']}: {n['version']} ({short_hash(str(n['hash']))})"
        for n in item.get("newer") or ()
    )
    return {
        "ROOT": title,
        "INCLUDE": "  " * (int(item["depth"]) - 1) + str(item["name"]),
        "PROMPT": item.get("prompt") or "",
        "PINNED": short_hash(str(item["pinned"])),
        "STATE": item["state"],
        "NEWER": newer,
    }
