"""What a pod serves, for people and Prometheus: an info metric and a JSON document.

Standard library only. A workload that already runs an HTTP server adds `metrics_text()` to its
`/metrics` and `info()` to any JSON route; one that doesn't calls `serve_info(port, prompt)`:

    prompt = MountedPrompt("/etc/prompts/ticket-summarizer")
    serve_info(9090, prompt)   # GET /metrics (Prometheus text), GET /prompts (JSON)

Counting pods per hash is then one PromQL query:

    count by (prompt, label, hash) (promptrelease_prompt_info)

A release running a canary adds `promptrelease_prompt_selections_total{variant=...}`: the
requests `select()` gave the stable version and the candidate, e.g.

    sum by (variant) (rate(promptrelease_prompt_selections_total[5m]))

The outcomes a workload records (`MountedPrompt.record`, `track`, `feedback`) follow: responses
by outcome, their duration, tokens, cost and feedback (see `outcomes.py`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prompt_release.sdk import outcomes as outcome_metrics

METRIC = "promptrelease_prompt_info"
SELECTIONS = "promptrelease_prompt_selections_total"


class Served(outcome_metrics.Identified, Protocol):
    """A Prompt or a MountedPrompt: anything that says what it serves."""

    @property
    def revision(self) -> int: ...


def info(*prompts: Served) -> dict[str, Any]:
    """The JSON document: every prompt this process serves, with its exact version and hash."""
    return {
        "prompts": [
            {
                "prompt": prompt.name,
                "label": prompt.label,
                "version": prompt.version,
                "hash": prompt.hash,
                "revision": prompt.revision,
            }
            for prompt in prompts
        ]
    }


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics_text(*prompts: Served) -> str:
    """Prometheus text exposition: one `promptrelease_prompt_info` sample per prompt, value 1."""
    lines = [
        f"# HELP {METRIC} The prompt this process serves now (always 1).",
        f"# TYPE {METRIC} gauge",
    ]
    for entry in info(*prompts)["prompts"]:
        labels = ",".join(f'{key}="{_escape(value)}"' for key, value in entry.items())
        lines.append(f"{METRIC}{{{labels}}} 1")
    counted = [(prompt, _selections(prompt)) for prompt in prompts]
    if any(found for _, found in counted):
        lines += [
            f"# HELP {SELECTIONS} Requests select() gave each variant (stable or canary).",
            f"# TYPE {SELECTIONS} counter",
        ]
        for prompt, found in counted:
            for (variant, version, content_hash), count in sorted(found.items()):
                entry = {
                    "prompt": prompt.name,
                    "label": prompt.label,
                    "variant": variant,
                    "version": version,
                    "hash": content_hash,
                }
                labels = ",".join(f'{key}="{_escape(value)}"' for key, value in entry.items())
                lines.append(f"{SELECTIONS}{{{labels}}} {count}")
    samples: list[str] = []
    for prompt in prompts:
        tally = getattr(prompt, "outcomes", None)
        if isinstance(tally, outcome_metrics.Outcomes):
            samples += outcome_metrics.exposition(prompt.name, prompt.label, tally, _escape)
    lines += outcome_metrics.families(samples)
    return "\n".join(lines) + "\n"


def _selections(prompt: Served) -> dict[tuple[str, str, str], int]:
    """select()'s counts per (variant, version, hash) of a MountedPrompt; none for a Prompt."""
    counts = getattr(prompt, "selections", None)
    return dict(counts()) if callable(counts) else {}


def serve_info(port: int, *prompts: Served, address: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve /metrics and /prompts on a daemon thread; returns the server (call shutdown())."""
    served: Iterable[Served] = prompts

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                body, kind = metrics_text(*served).encode(), "text/plain; version=0.0.4"
            elif self.path.split("?")[0] in ("/prompts", "/prompts/"):
                body, kind = json.dumps(info(*served)).encode(), "application/json"
            else:
                self.send_error(404, "try /metrics or /prompts")
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # a scrape every few seconds is not news

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, name="prompt-info", daemon=True).start()
    return server
