"""Workload SDK: read a mounted prompt, render it, and tag every response with its exact version.

Standard library only (jinja2 is imported only for jinja2 prompts, pystache only for mustache
prompts), so a workload needs neither kopf nor the Kubernetes client:

    from prompt_release.sdk import MountedPrompt

    prompt = MountedPrompt("/etc/prompts/ticket-summarizer")
    text = prompt.render(ticket=ticket_text)
    span.set_attributes(prompt.tracing_attributes())   # version and hash, never just the label

A release running a canary also mounts `canary.json`: `prompt.select(key=user_id)` returns the
stable prompt or the candidate, sticky per key (see `core/canary.py`), and its
`tracing_attributes()` say which (`promptrelease.variant`: stable or canary). `render()` and
`current` always serve the stable prompt.

`record()`, `track()` and `feedback()` count what happened with each response (success or
error, latency, tokens, cost, a feedback score) per variant, version and hash, for Prometheus
and the canary analyses that query it (see `sdk/outcomes.py`).

The kubelet updates a mounted ConfigMap by writing a new timestamped folder and swapping the
`..data` symlink. `MountedPrompt` notices the swap (one `readlink` at most every
`check_interval` seconds, on access: no background polling), reloads, verifies the payload's
hash, and keeps serving the last good prompt if the new files can't be read or don't verify.

A payload is also refused at load, whether or not it verifies, when a template holds what the
operator's validation refuses (an f-string placeholder with attribute or index access, a jinja2
expression reaching an internal attribute, a mustache partial): a ConfigMap edited by hand
can't smuggle one in.

mustache prompts are portable: the TypeScript (`sdk/typescript/`) and Go (`sdk/go/`) SDKs
render them alike, and all three run the conformance kit (`conformance/`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from prompt_release.core import canary as split_schema
from prompt_release.core import payload as schema
from prompt_release.core.payload import PayloadError, PromptError
from prompt_release.core.templates import TemplateError, checked_placeholders, render_text
from prompt_release.core.variables import Variable, VariableError, bind
from prompt_release.sdk import output as outputs
from prompt_release.sdk.info import info, metrics_text, serve_info
from prompt_release.sdk.outcomes import Call, Outcomes
from prompt_release.sdk.output import OutputError

__all__ = [
    "Call",
    "MountedPrompt",
    "Outcomes",
    "OutputError",
    "PayloadError",
    "Prompt",
    "PromptError",
    "RenderError",
    "Variable",
    "info",
    "load_canary",
    "load_payload",
    "metrics_text",
    "parse_payload",
    "serve_info",
]

log = logging.getLogger("prompt_release.sdk")

PAYLOAD_FILE = schema.PAYLOAD_KEY
CANARY_FILE = split_schema.CANARY_KEY
STABLE, CANARY = split_schema.STABLE, split_schema.CANARY
SUPPORTED_FORMAT = schema.PAYLOAD_FORMAT


class RenderError(PromptError, ValueError):
    """Variables don't fit the prompt (missing, unexpected or of the wrong type), or the
    template failed."""


@dataclass(frozen=True)
class Prompt(schema.Payload):
    """One released prompt, exactly as the operator wrote it, ready to render."""

    variant: str | None = None
    """stable or canary when `select()` chose it; None for a plain read."""

    def render(self, **variables: Any) -> str:
        """The text prompt with its variables filled in."""
        if self.template is None:
            raise RenderError(f"{self.name} is a chat prompt: use render_messages()")
        return self._fill(self.template, self._bind(variables))

    def render_messages(self, **variables: Any) -> list[dict[str, Any]]:
        """The chat prompt's messages with their variables filled in."""
        if self.messages is None:
            raise RenderError(f"{self.name} is a text prompt: use render()")
        bound = self._bind(variables)
        return [
            {**message, "content": self._fill(str(message.get("content", "")), bound)}
            for message in self.messages
        ]

    def validate_output(self, output: Any) -> Any:
        """A model's output (JSON text or data) checked against `response_format`'s schema:
        the parsed data, or OutputError naming the JSON path of what breaks it. Needs the
        jsonschema package, imported on the first call."""
        return outputs.validate(self.response_format, output, f"{self.name} {self.version}")

    def openai_response_format(self) -> dict[str, Any]:
        """`response_format` in the shape OpenAI-compatible chat APIs take."""
        if self.response_format is None:
            raise PromptError(f"{self.name} {self.version} declares no responseFormat")
        return outputs.openai_response_format(self.response_format, self.name)

    def tracing_attributes(self) -> dict[str, str | int]:
        """Span attributes: OpenTelemetry GenAI names where they exist, ours for the rest."""
        attributes: dict[str, str | int] = {
            "gen_ai.prompt.name": self.name,
            "gen_ai.prompt.version": self.version,
            "promptrelease.hash": self.hash,
            "promptrelease.label": self.label,
            "promptrelease.revision": self.revision,
        }
        if self.variant is not None:
            attributes["promptrelease.variant"] = self.variant
        names = [str((tool.get("function") or {}).get("name")) for tool in self.tools]
        if names:
            attributes["promptrelease.tools"] = ",".join(names)
        if self.response_format is not None:
            attributes["promptrelease.response_format"] = str(
                self.response_format.get("name") or self.name
            )
        return attributes

    def _bind(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The given variables checked against the declared ones, defaults filled in."""
        try:
            return bind(self.inputs, variables)
        except VariableError as error:
            raise RenderError(f"{self.name} {self.version}: {error}") from error

    def _fill(self, text: str, variables: Mapping[str, Any]) -> str:
        try:
            return render_text(text, self.template_format, variables)
        except TemplateError as error:
            raise RenderError(f"{self.name} {self.version}: {error}") from error


def _texts(prompt: Prompt) -> list[tuple[str, str]]:
    """(where, text) for every template text of a payload."""
    if prompt.template is not None:
        if not isinstance(prompt.template, str):
            raise PayloadError(f"{PAYLOAD_FILE}: template must be a string")
        return [("template", prompt.template)]
    texts: list[tuple[str, str]] = []
    for index, message in enumerate(prompt.messages or ()):
        content = message.get("content", "") if isinstance(message, Mapping) else None
        if not isinstance(content, str):
            raise PayloadError(f"{PAYLOAD_FILE}: messages[{index}] must have a string content")
        texts.append((f"messages[{index}].content", content))
    return texts


def _refuse_unsafe_templates(prompt: Prompt) -> Prompt:
    """The prompt, unless a template holds what validation refuses (PayloadError naming it)."""
    for where, text in _texts(prompt):
        try:
            checked_placeholders(text, prompt.template_format)
        except TemplateError as error:
            raise PayloadError(
                f"{PAYLOAD_FILE} {prompt.name} {prompt.version}: {where}: {error}"
            ) from error
    return prompt


def parse_payload(text: str, *, verify: bool = True) -> Prompt:
    """A Prompt from the text of prompt.json; with `verify`, refuse it unless it re-hashes.

    Refused either way (PayloadError) when a template is unsafe: see the module's docstring.
    """
    return _refuse_unsafe_templates(schema.parse(text, verify=verify, into=Prompt))


def load_payload(directory: str | os.PathLike[str], *, verify: bool = True) -> Prompt:
    """Read and verify `<directory>/prompt.json` once."""
    path = Path(directory) / PAYLOAD_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PayloadError(f"cannot read {path}: {error.strerror or error}") from error
    return parse_payload(text, verify=verify)


def parse_canary(text: str, *, verify: bool = True) -> split_schema.Canary[Prompt]:
    """canary.json's text: the split and the candidate, refused like a payload if unsafe."""
    found = split_schema.parse(text, verify=verify, into=Prompt)
    _refuse_unsafe_templates(found.prompt)
    return replace(found, prompt=replace(found.prompt, variant=CANARY))


def load_canary(
    directory: str | os.PathLike[str], *, verify: bool = True
) -> split_schema.Canary[Prompt] | None:
    """Read `<directory>/canary.json` once; None when the release runs no canary."""
    path = Path(directory) / CANARY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise PayloadError(f"cannot read {path}: {error.strerror or error}") from error
    return parse_canary(text, verify=verify)


class _Served(NamedTuple):
    """What a mounted folder serves, swapped as one: the stable prompt and the canary."""

    stable: Prompt
    canary: split_schema.Canary[Prompt] | None

    @property
    def selected_stable(self) -> Prompt:
        return replace(self.stable, variant=STABLE)


def _load(directory: Path, verify: bool) -> _Served:
    stable = load_payload(directory, verify=verify)
    found = load_canary(directory, verify=verify)
    if found is not None and (found.prompt.name, found.prompt.label) != (stable.name, stable.label):
        raise PayloadError(
            f"{CANARY_FILE} is a candidate of {found.prompt.name}/{found.prompt.label}, not "
            f"{stable.name}/{stable.label}"
        )
    return _Served(stable, found)


class MountedPrompt:
    """A prompt mounted from a ConfigMap, reloaded when the kubelet swaps it. Thread-safe."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        verify: bool = True,
        check_interval: float = 1.0,
    ) -> None:
        self.directory = Path(directory)
        self.verify = verify
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._marker = self._read_marker()
        self._served = self._first_load()
        self._checked_at = time.monotonic()
        self.reloads = 0
        self.failed_reloads = 0
        self._counts: dict[tuple[str, str, str], int] = {}
        self._counts_lock = threading.Lock()
        self.outcomes = Outcomes()

    def _first_load(self) -> _Served:
        """The stable prompt must load (no last good yet: raise); a bad canary.json only
        means no canary: everyone gets the stable prompt until a good one arrives."""
        stable = load_payload(self.directory, verify=self.verify)
        try:
            return _load(self.directory, self.verify)
        except PayloadError as error:
            log.warning("serving %s %s to all: %s", stable.name, stable.version, error)
            return _Served(stable, None)

    @property
    def current(self) -> Prompt:
        """The newest good (stable) prompt; checks for a swap at most every `check_interval` s."""
        return self._now().stable

    def _now(self) -> _Served:
        if time.monotonic() - self._checked_at >= self.check_interval:
            self._maybe_reload()
        return self._served

    @property
    def candidate(self) -> Prompt | None:
        """The canary's candidate prompt, when the release runs a canary."""
        found = self._now().canary
        return None if found is None else found.prompt

    @property
    def canary(self) -> split_schema.Canary[Prompt] | None:
        """The canary: its weight, segments and candidate (None without one)."""
        return self._now().canary

    def select(
        self, key: object | None = None, attributes: Mapping[str, Any] | None = None
    ) -> Prompt:
        """The stable prompt or the canary's candidate for this request, tagged with its
        variant. With a key (a user or session id) the choice is sticky: the same key gets
        the same variant as long as the canary runs, and raising its weight only adds keys.
        Without a key each call draws at random. `attributes` pick a segment's weight."""
        served = self._now()
        if served.canary is not None and served.canary.split.serves_candidate(key, attributes):
            chosen = served.canary.prompt
        else:
            chosen = served.selected_stable
        counted = (str(chosen.variant), chosen.version, chosen.hash)
        with self._counts_lock:
            self._counts[counted] = self._counts.get(counted, 0) + 1
        return chosen

    def selections(self) -> dict[tuple[str, str, str], int]:
        """How many times select() chose each (variant, version, hash) in this process."""
        with self._counts_lock:
            return dict(self._counts)

    def record(
        self,
        chosen: Prompt,
        *,
        success: bool = True,
        latency: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        feedback: float | None = None,
    ) -> None:
        """One response served from `chosen` (what `select()` or `current` returned): its
        outcome and whichever numbers are known. ValueError for a negative or non-finite one."""
        self.outcomes.record(
            self._own(chosen),
            success=success,
            latency=latency,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=cost,
            feedback=feedback,
        )

    def track(self, chosen: Prompt) -> AbstractContextManager[Call]:
        """Time one response served from `chosen`; an exception in the block is an error."""
        return self.outcomes.track(self._own(chosen))

    def feedback(self, chosen: Prompt, score: float) -> None:
        """A feedback score for a response served from `chosen`, given after it was recorded."""
        self.outcomes.feedback(self._own(chosen), score)

    def _own(self, chosen: Prompt) -> Prompt:
        """`chosen`, unless it is another prompt's (its numbers would land under this one)."""
        stable = self._served.stable
        if (chosen.name, chosen.label) != (stable.name, stable.label):
            raise ValueError(
                f"{chosen.name}/{chosen.label} is not this prompt ({stable.name}/{stable.label})"
            )
        return chosen

    @property
    def name(self) -> str:
        return self.current.name

    @property
    def version(self) -> str:
        return self.current.version

    @property
    def hash(self) -> str:
        return self.current.hash

    @property
    def label(self) -> str:
        return self.current.label

    @property
    def revision(self) -> int:
        return self.current.revision

    def render(self, **variables: Any) -> str:
        return self.current.render(**variables)

    def render_messages(self, **variables: Any) -> list[dict[str, Any]]:
        return self.current.render_messages(**variables)

    def tracing_attributes(self) -> dict[str, str | int]:
        return self.current.tracing_attributes()

    @property
    def inputs(self) -> tuple[Variable, ...]:
        return self.current.inputs

    @property
    def tools(self) -> tuple[Mapping[str, Any], ...]:
        return self.current.tools

    @property
    def response_format(self) -> Mapping[str, Any] | None:
        return self.current.response_format

    def validate_output(self, output: Any) -> Any:
        return self.current.validate_output(output)

    def openai_response_format(self) -> dict[str, Any]:
        return self.current.openai_response_format()

    def _read_marker(self) -> str:
        """What identifies the files on disk: the `..data` target, else the files' mtimes."""
        try:
            return os.readlink(self.directory / "..data")
        except OSError:
            marks = []
            for name in (PAYLOAD_FILE, CANARY_FILE):
                try:
                    stat = (self.directory / name).stat()
                except OSError:
                    marks.append("")
                    continue
                marks.append(f"{stat.st_mtime_ns}:{stat.st_size}")
            return "|".join(marks) if marks[0] else ""

    def _maybe_reload(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            marker = self._read_marker()
            if marker == self._marker:
                return
            try:
                served = _load(self.directory, self.verify)
            except PayloadError as error:
                self.failed_reloads += 1
                old = self._served.stable
                log.warning("keeping %s %s: %s", old.name, old.version, error)
                return  # the marker stays old, so the next check tries again
            if self._read_marker() != marker:
                return  # swapped again while reading: read the newer one next time
            self._marker, self._served = marker, served
            prompt = served.stable
            self.reloads += 1
            log.info(
                "reloaded %s: %s (%s, revision %s)",
                prompt.name,
                prompt.version,
                prompt.hash,
                prompt.revision,
            )
