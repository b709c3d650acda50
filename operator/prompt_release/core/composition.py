"""Composition: a version's includes resolved to their pinned versions and composed into its
text, the closure the release serves.

A version names what it includes by name and content hash (`spec.includes`), and since the
pins are part of its spec, its own hash covers the whole closure: a snippet changed anew is a
new version with a new hash, which no including version reaches until someone pins it. The
operator composes at release time, so the payload holds the composed text and names every
included version with its hash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prompt_release.core import includes, validation
from prompt_release.core.templates import template_format_of

MAX_DEPTH = 8
"""How many includes deep a chain may go (a direct include is depth 1)."""
MAX_BRANCHES = 256
"""How many includes a closure may expand to, counting a version each time it is included:
it bounds the work and the text of a composition however the versions share includes."""

# Reasons: part of the API (see docs/api.md).
INCLUDE_NOT_FOUND = "IncludeNotFound"
INCLUDE_HASH_MISMATCH = "IncludeHashMismatch"
INCLUDE_CYCLE = "IncludeCycle"
INCLUDE_DEPTH_EXCEEDED = "IncludeDepthExceeded"
INCLUDE_INVALID = "IncludeInvalid"
INCLUDE_LIMIT_EXCEEDED = "IncludeLimitExceeded"
UPDATE_AVAILABLE = "UpdateAvailable"


class Node(Protocol):
    """What composition reads of a version (`views.VersionView` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def spec(self) -> Mapping[str, Any]: ...
    @property
    def content_hash(self) -> str | None: ...
    @property
    def own_problems(self) -> list[str]: ...


Lookup = Callable[[str], Node | None]
"""A version of the namespace by name, None when it doesn't exist."""


@dataclass(frozen=True)
class Included:
    """One version of a closure, as its includer pins it."""

    name: str
    prompt: str
    hash: str
    depth: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "prompt": self.prompt, "hash": self.hash, "depth": self.depth}


@dataclass(frozen=True)
class Composition:
    """A version's closure: the composed spec, every included version, or why it has none."""

    spec: Mapping[str, Any]
    included: tuple[Included, ...] = ()
    reason: str | None = None
    """A named error (IncludeNotFound, IncludeCycle, ...); None when the closure resolved."""
    message: str = ""
    problems: tuple[str, ...] = field(default=())
    """Every problem of the composed text (placeholders, variables, size)."""

    @property
    def failure(self) -> tuple[str, str] | None:
        """(reason, message) of why the closure can't be released; None when it can."""
        if self.reason is not None:
            return self.reason, self.message
        if self.problems:
            return INCLUDE_INVALID, "the composed prompt is invalid: " + "; ".join(self.problems)
        return None


def fingerprint(root: Node, lookup: Lookup) -> tuple[tuple[str, str, str | None], ...]:
    """(parent, name, content hash) of every include under `root`: equal fingerprints of one
    root give equal compositions, since each hash fixes that version's whole spec."""
    return tuple((b.parent, b.name, b.actual) for b in tree(root, lookup))


def weight(composed: Composition) -> int:
    """About how many bytes a composition holds: the length of its texts."""
    texts = includes.texts(composed.spec)
    return sum(len(text) for _, text in texts) + 1024


class IncludeError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def compose(root: Node, lookup: Lookup, max_depth: int = MAX_DEPTH) -> Composition:
    """Resolve every include of `root` (depth first, each pin checked) and compose its texts."""
    found: dict[str, Included] = {}
    walk = _Walk(lookup, template_format_of(root.spec), found)
    try:
        _check_graph(root, lookup, max_depth)
        composed = _composed_spec(root.spec, walk.templates(root, (root.name,)))
    except IncludeError as error:
        return Composition(spec=root.spec, reason=error.reason, message=error.message)
    ordered = tuple(sorted(found.values(), key=lambda item: (item.depth, item.name)))
    problems = tuple(validation.text_problems(composed))
    return Composition(spec=composed, included=ordered, problems=problems)


def _check_graph(root: Node, lookup: Lookup, max_depth: int) -> None:
    """Cycles, missing versions and the depth limit, found by name before any pin is checked:
    a cycle can't have matching pins (each hash covers the other), so it is named a cycle."""
    for branch in tree(root, lookup, max_depth):
        chain = " -> ".join((*branch.path, branch.name))
        if branch.state == INCLUDE_CYCLE:
            raise IncludeError(INCLUDE_CYCLE, f"includes form a cycle: {chain}")
        if branch.state == INCLUDE_DEPTH_EXCEEDED:
            raise IncludeError(
                INCLUDE_DEPTH_EXCEEDED, f"includes go deeper than {max_depth} levels: {chain}"
            )
        if branch.state == INCLUDE_LIMIT_EXCEEDED:
            raise IncludeError(
                INCLUDE_LIMIT_EXCEEDED,
                f"includes expand to more than {MAX_BRANCHES} includes (a version counts each "
                "time it is included)",
            )
        if branch.state == INCLUDE_NOT_FOUND:
            raise IncludeError(
                INCLUDE_NOT_FOUND,
                f"PromptVersion {branch.name}, included by {branch.parent}, not found",
            )


def _composed_spec(spec: Mapping[str, Any], templates: Mapping[str, str]) -> dict[str, Any]:
    """The spec a release serves: its texts composed, without its pins and its hash."""
    composed = {k: v for k, v in spec.items() if k not in ("includes", "hash")}
    if spec.get("template") is not None:
        composed["template"] = _substitute(str(spec["template"]), templates, "the template")
    elif spec.get("messages") is not None:
        composed["messages"] = [
            {
                **message,
                "content": _substitute(
                    str(message.get("content", "")), templates, f"messages[{index}].content"
                ),
            }
            for index, message in enumerate(spec["messages"])
        ]
    return composed


def _substitute(text: str, templates: Mapping[str, str], where: str) -> str:
    """The text composed; refused before composing when it would exceed the prompt size
    limit (markers may repeat a large include many times)."""
    size = len(text) + sum(
        len(templates.get(match.group(1), match.group(0))) - len(match.group(0))
        for match in includes.MARKER.finditer(text)
    )
    if size > validation.MAX_PROMPT_BYTES:
        raise IncludeError(
            INCLUDE_LIMIT_EXCEEDED,
            f"{where} composes to {size} characters, over the limit of "
            f"{validation.MAX_PROMPT_BYTES}",
        )
    return includes.substitute(text, templates)


@dataclass
class _Walk:
    lookup: Lookup
    template_format: str
    found: dict[str, Included]

    def templates(self, node: Node, path: tuple[str, ...]) -> dict[str, str]:
        """The composed template of each version `node` includes, by name."""
        composed: dict[str, str] = {}
        for name, pinned in includes.pins(node.spec):
            child = self._checked(node, name, pinned, path)
            text = _substitute(
                str(child.spec["template"]),
                self.templates(child, (*path, name)),
                f"PromptVersion {name}",
            )
            composed[name] = text[:-1] if text.endswith("\n") else text
        return composed

    def _checked(self, parent: Node, name: str, pinned: str, path: tuple[str, ...]) -> Node:
        """The version `parent` includes as `name` (`_check_graph` found the graph whole),
        refused with a named error."""
        child = self.lookup(name)
        if child is None:  # gone since the graph was checked
            raise IncludeError(
                INCLUDE_NOT_FOUND, f"PromptVersion {name}, included by {parent.name}, not found"
            )
        if child.content_hash != pinned:
            raise IncludeError(
                INCLUDE_HASH_MISMATCH,
                f"{parent.name} pins {name} at {pinned}, but {name} hashes to {child.content_hash}",
            )
        _check_includable(child, parent.name, self.template_format)
        depth = len(path)
        known = self.found.get(name)
        if known is None or depth < known.depth:
            prompt = str(child.spec.get("prompt", ""))
            self.found[name] = Included(name, prompt, pinned, depth)
        return child


def _check_includable(child: Node, parent: str, template_format: str) -> None:
    if child.spec.get("template") is None:
        raise IncludeError(
            INCLUDE_INVALID,
            f"PromptVersion {child.name}, included by {parent}, is a chat prompt: only a text "
            "prompt (spec.template) can be included",
        )
    if template_format_of(child.spec) != template_format:
        raise IncludeError(
            INCLUDE_INVALID,
            f"PromptVersion {child.name}, included by {parent}, is written in "
            f"{template_format_of(child.spec)}, not {template_format}",
        )
    if child.own_problems:
        raise IncludeError(
            INCLUDE_INVALID,
            f"PromptVersion {child.name}, included by {parent}, is invalid: "
            + "; ".join(child.own_problems),
        )


@dataclass(frozen=True)
class Served:
    """What a label serves of a prompt: the release, its version and hash."""

    release: str
    version: str
    hash: str


def live_includes(
    included: Sequence[Mapping[str, Any]], served: Mapping[str, Served]
) -> list[dict[str, Any]]:
    """status.includes of a release: each included version as pinned, with `newer` when the
    release's label serves another version of that prompt (`served`, by prompt)."""
    found: list[dict[str, Any]] = []
    for entry in included:
        item = dict(entry)
        item.pop("newer", None)
        live = served.get(str(entry.get("prompt") or ""))
        if live is not None and live.hash != entry.get("hash"):
            item["newer"] = {"version": live.version, "hash": live.hash, "release": live.release}
        found.append(item)
    return found


def updates_message(entries: Sequence[Mapping[str, Any]], label: str) -> str | None:
    """What UpdateAvailable says: each included prompt whose label serves another version
    than the pinned one; None when every pin is what the label serves."""
    newer = [entry for entry in entries if entry.get("newer")]
    if not newer:
        return None
    parts = [
        f"{entry['name']} ({entry['hash']}) is pinned, {label} serves "
        f"{entry['newer']['version']} ({entry['newer']['hash']}) of prompt {entry.get('prompt')}"
        for entry in newer
    ]
    return "; ".join(parts) + ": release a version that pins it to serve it here"


@dataclass(frozen=True)
class Branch:
    """One include of a tree as `kubectl prompt deps` shows it: where it is, what it pins, and
    what was found under that name."""

    depth: int
    parent: str
    name: str
    pinned: str
    prompt: str | None
    state: str
    """ok, or the reason it can't be served (IncludeNotFound, IncludeHashMismatch, ...)."""
    actual: str | None = None
    """The hash the version has now (differs from `pinned` on a mismatch)."""
    path: tuple[str, ...] = ()
    """The versions from the root down to its parent."""


def tree(root: Node, lookup: Lookup, max_depth: int = MAX_DEPTH) -> list[Branch]:
    """Every include under `root`, depth first, each with its state; a cycle, a missing
    version or the depth limit ends its branch."""
    found: list[Branch] = []

    def visit(node: Node, path: tuple[str, ...]) -> None:
        for name, pinned in includes.pins(node.spec):
            if len(found) >= MAX_BRANCHES:
                found.append(
                    Branch(len(path), node.name, name, pinned, None, INCLUDE_LIMIT_EXCEEDED)
                )
                return
            child = None if name in path else lookup(name)
            actual = None if child is None else child.content_hash
            state = "ok"
            if name in path:
                state = INCLUDE_CYCLE
            elif len(path) > max_depth:
                state = INCLUDE_DEPTH_EXCEEDED
            elif child is None:
                state = INCLUDE_NOT_FOUND
            elif actual != pinned:
                state = INCLUDE_HASH_MISMATCH
            prompt = None if child is None else str(child.spec.get("prompt") or "")
            found.append(Branch(len(path), node.name, name, pinned, prompt, state, actual, path))
            if child is not None and state in ("ok", INCLUDE_HASH_MISMATCH):
                visit(child, (*path, name))
            if found and found[-1].state == INCLUDE_LIMIT_EXCEEDED:
                return

    visit(root, (root.name,))
    return found
