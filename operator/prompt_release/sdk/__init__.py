"""Workload SDK: read a mounted prompt, render it, and tag every response with its exact version.

Standard library only (jinja2 is imported only for jinja2 prompts), so a workload needs
neither kopf nor the Kubernetes client:

    from prompt_release.sdk import MountedPrompt

    prompt = MountedPrompt("/etc/prompts/ticket-summarizer")
    text = prompt.render(ticket=ticket_text)
    span.set_attributes(prompt.tracing_attributes())   # version and hash, never just the label

The kubelet updates a mounted ConfigMap by writing a new timestamped folder and swapping the
`..data` symlink. `MountedPrompt` notices the swap (one `readlink` at most every
`check_interval` seconds, on access: no background polling), reloads, verifies the payload's
hash, and keeps serving the last good prompt if the new files can't be read or don't verify.

A payload is also refused at load, whether or not it verifies, when a template holds what the
operator's validation refuses (an f-string placeholder with attribute or index access, a jinja2
expression reaching an internal attribute): a ConfigMap edited by hand can't smuggle one in.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prompt_release.core import payload as schema
from prompt_release.core.payload import PayloadError, PromptError
from prompt_release.core.templates import (
    TemplateError,
    check_variables,
    checked_placeholders,
    render_text,
)
from prompt_release.sdk.info import info, metrics_text, serve_info

__all__ = [
    "MountedPrompt",
    "PayloadError",
    "Prompt",
    "PromptError",
    "RenderError",
    "info",
    "load_payload",
    "metrics_text",
    "parse_payload",
    "serve_info",
]

log = logging.getLogger("prompt_release.sdk")

PAYLOAD_FILE = schema.PAYLOAD_KEY
SUPPORTED_FORMAT = schema.PAYLOAD_FORMAT


class RenderError(PromptError, ValueError):
    """Variables don't fit the prompt (missing or unexpected), or the template failed."""


class Prompt(schema.Payload):
    """One released prompt, exactly as the operator wrote it, ready to render."""

    def render(self, **variables: Any) -> str:
        """The text prompt with its variables filled in."""
        if self.template is None:
            raise RenderError(f"{self.name} is a chat prompt: use render_messages()")
        self._check(variables)
        return self._fill(self.template, variables)

    def render_messages(self, **variables: Any) -> list[dict[str, Any]]:
        """The chat prompt's messages with their variables filled in."""
        if self.messages is None:
            raise RenderError(f"{self.name} is a text prompt: use render()")
        self._check(variables)
        return [
            {**message, "content": self._fill(str(message.get("content", "")), variables)}
            for message in self.messages
        ]

    def tracing_attributes(self) -> dict[str, str | int]:
        """Span attributes: OpenTelemetry GenAI names where they exist, ours for the rest."""
        return {
            "gen_ai.prompt.name": self.name,
            "gen_ai.prompt.version": self.version,
            "promptrelease.hash": self.hash,
            "promptrelease.label": self.label,
            "promptrelease.revision": self.revision,
        }

    def _check(self, variables: Mapping[str, Any]) -> None:
        try:
            check_variables(self.variables, variables)
        except TemplateError as error:
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
        self._prompt = load_payload(self.directory, verify=verify)  # no last good yet: raise
        self._checked_at = time.monotonic()
        self.reloads = 0
        self.failed_reloads = 0

    @property
    def current(self) -> Prompt:
        """The newest good prompt; checks for a swap at most every `check_interval` s."""
        if time.monotonic() - self._checked_at >= self.check_interval:
            self._maybe_reload()
        return self._prompt

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

    def _read_marker(self) -> str:
        """What identifies the files on disk: the `..data` target, else prompt.json's mtime."""
        try:
            return os.readlink(self.directory / "..data")
        except OSError:
            try:
                stat = (self.directory / PAYLOAD_FILE).stat()
            except OSError:
                return ""
            return f"{stat.st_mtime_ns}:{stat.st_size}"

    def _maybe_reload(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            marker = self._read_marker()
            if marker == self._marker:
                return
            try:
                prompt = load_payload(self.directory, verify=self.verify)
            except PayloadError as error:
                self.failed_reloads += 1
                log.warning("keeping %s %s: %s", self._prompt.name, self._prompt.version, error)
                return  # the marker stays old, so the next check tries again
            if self._read_marker() != marker:
                return  # swapped again while reading: read the newer one next time
            self._marker, self._prompt = marker, prompt
            self.reloads += 1
            log.info(
                "reloaded %s: %s (%s, revision %s)",
                prompt.name,
                prompt.version,
                prompt.hash,
                prompt.revision,
            )
