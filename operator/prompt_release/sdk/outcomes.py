"""What happened with each response, per prompt version: the numbers a canary analysis reads.

Standard library only. A workload records one outcome per response it served from a prompt:

    chosen = prompt.select(key=user_id)
    with prompt.track(chosen) as call:          # latency measured, an exception is an error
        reply = llm.complete(chosen.render(ticket=text))
        call.tokens(reply.usage.input_tokens, reply.usage.output_tokens)
        call.cost(reply.cost)
    prompt.feedback(chosen, 1.0)                # later: a user's thumbs up, on any scale

or in one call: `prompt.record(chosen, success=False, latency=2.4)`. The metrics (rendered by
`metrics_text`, next to the info metric) carry prompt, label, variant (stable or canary),
version and hash, and nothing per request, so their series are bounded: at most
`MAX_VERSIONS` (variant, version, hash) sets per prompt in a process, the least recently used
dropped first (Prometheus's `rate()` reads a series that starts again as a reset).

    promptrelease_responses_total{outcome="success"|"error"}   counter
    promptrelease_response_duration_seconds                    histogram
    promptrelease_tokens_total{type="input"|"output"}          counter
    promptrelease_cost_total                                   counter (the workload's unit)
    promptrelease_feedback_score                               summary (_sum and _count)

The candidate's error rate over the last two minutes, as a canary analysis asks it:

    sum(rate(promptrelease_responses_total{prompt="p",label="l",hash="H",outcome="error"}[2m]))
      / sum(rate(promptrelease_responses_total{prompt="p",label="l",hash="H"}[2m]))
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

RESPONSES = "promptrelease_responses_total"
DURATION = "promptrelease_response_duration_seconds"
TOKENS = "promptrelease_tokens_total"
COST = "promptrelease_cost_total"
FEEDBACK = "promptrelease_feedback_score"
SUCCESS, ERROR = "success", "error"

BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
"""Seconds: OpenTelemetry's advice for gen_ai.client.operation.duration, for the same reason
(a model's answer takes from milliseconds to minutes)."""
MAX_VERSIONS = 16
"""(variant, version, hash) sets kept per prompt; more than a process serves between restarts."""


class Identified(Protocol):
    """What names a served prompt in metrics: its prompt, label, version and hash."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def hash(self) -> str: ...


class Chosen(Identified, Protocol):
    """A Prompt: what `select()` or `current` returned."""

    @property
    def variant(self) -> str | None: ...


Key = tuple[str, str, str]
"""(variant, version, hash)"""


@dataclass
class Tally:
    """One (variant, version, hash)'s numbers since it was first recorded in this process."""

    responses: dict[str, int] = field(default_factory=lambda: {SUCCESS: 0, ERROR: 0})
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    duration_sum: float = 0.0
    duration_count: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0})
    cost: float = 0.0
    feedback_sum: float = 0.0
    feedback_count: int = 0


def _number(what: str, value: float | None, *, whole: bool = False) -> float | None:
    """The value, refused (ValueError naming it) unless it is a finite number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, not {value!r}")
    if whole and int(value) != value:
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    return float(value)


class Outcomes:
    """The outcome metrics of one prompt (name and label) in this process. Thread-safe."""

    def __init__(self, max_versions: int = MAX_VERSIONS) -> None:
        self.max_versions = max_versions
        self._lock = threading.Lock()
        self._tallies: OrderedDict[Key, Tally] = OrderedDict()
        self.evicted = 0
        """(variant, version, hash) sets dropped to keep the series bounded."""

    def record(
        self,
        chosen: Chosen,
        *,
        success: bool = True,
        latency: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        feedback: float | None = None,
    ) -> None:
        """One response served from `chosen`: its outcome and whichever numbers are known."""
        checked = (
            _number("latency", latency),
            _number("input_tokens", input_tokens, whole=True),
            _number("output_tokens", output_tokens, whole=True),
            _number("cost", cost),
        )
        score = self._score(feedback)
        with self._lock:
            tally = self._tally(chosen)
            tally.responses[SUCCESS if success else ERROR] += 1
            self._add(tally, *checked)
            if score is not None:
                tally.feedback_sum += score
                tally.feedback_count += 1

    def feedback(self, chosen: Chosen, score: float) -> None:
        """A score given later for a response of `chosen` (any scale the workload chooses)."""
        checked = self._score(score)
        assert checked is not None
        with self._lock:
            tally = self._tally(chosen)
            tally.feedback_sum += checked
            tally.feedback_count += 1

    @contextmanager
    def track(self, chosen: Chosen) -> Iterator[Call]:
        """Time one response; an exception leaving the block records an error (and goes on)."""
        call = Call()
        started = time.perf_counter()
        try:
            yield call
        except BaseException:
            call.success = False
            raise
        finally:
            self.record(
                chosen,
                success=call.success,
                latency=time.perf_counter() - started,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost=call.spent,
            )

    def snapshot(self) -> list[tuple[Key, Tally]]:
        """Every (variant, version, hash) and a copy of its numbers, oldest first."""
        with self._lock:
            return [(key, _copy(tally)) for key, tally in self._tallies.items()]

    @staticmethod
    def _score(value: float | None) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"feedback must be a number, not {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"feedback must be a finite number, not {value!r}")
        return float(value)

    def _tally(self, chosen: Chosen) -> Tally:
        key = (chosen.variant or "stable", chosen.version, chosen.hash)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = Tally()
            while len(self._tallies) > self.max_versions:
                self._tallies.popitem(last=False)
                self.evicted += 1
        self._tallies.move_to_end(key)
        return tally

    @staticmethod
    def _add(
        tally: Tally,
        latency: float | None,
        input_tokens: float | None,
        output_tokens: float | None,
        cost: float | None,
    ) -> None:
        if latency is not None:
            for index, bound in enumerate(BUCKETS):
                if latency <= bound:
                    tally.buckets[index] += 1
            tally.duration_sum += latency
            tally.duration_count += 1
        tally.tokens["input"] += int(input_tokens or 0)
        tally.tokens["output"] += int(output_tokens or 0)
        tally.cost += cost or 0.0


def _copy(tally: Tally) -> Tally:
    return Tally(
        responses=dict(tally.responses),
        buckets=list(tally.buckets),
        duration_sum=tally.duration_sum,
        duration_count=tally.duration_count,
        tokens=dict(tally.tokens),
        cost=tally.cost,
        feedback_sum=tally.feedback_sum,
        feedback_count=tally.feedback_count,
    )


@dataclass
class Call:
    """What `track()`'s block learns about its response; an exception makes it an error."""

    success: bool = True
    input_tokens: int | None = None
    output_tokens: int | None = None
    spent: float | None = None

    def tokens(self, input: int | None = None, output: int | None = None) -> None:
        self.input_tokens, self.output_tokens = input, output

    def cost(self, amount: float) -> None:
        self.spent = amount

    def fail(self) -> None:
        """The response is an error though nothing was raised (a refusal, a bad answer)."""
        self.success = False


def _float(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def exposition(prompt: str, label: str, outcomes: Outcomes, escape: Escape) -> list[str]:
    """The sample lines of one prompt's outcomes (without HELP and TYPE: `families` has them)."""
    lines: list[str] = []
    for (variant, version, content_hash), tally in outcomes.snapshot():
        base = (
            f'prompt="{escape(prompt)}",label="{escape(label)}",variant="{escape(variant)}",'
            f'version="{escape(version)}",hash="{escape(content_hash)}"'
        )
        for outcome in (SUCCESS, ERROR):
            lines.append(f'{RESPONSES}{{{base},outcome="{outcome}"}} {tally.responses[outcome]}')
        for bound, count in zip(BUCKETS, tally.buckets, strict=True):
            lines.append(f'{DURATION}_bucket{{{base},le="{bound}"}} {count}')
        lines.append(f'{DURATION}_bucket{{{base},le="+Inf"}} {tally.duration_count}')
        lines.append(f"{DURATION}_sum{{{base}}} {_float(tally.duration_sum)}")
        lines.append(f"{DURATION}_count{{{base}}} {tally.duration_count}")
        for kind in ("input", "output"):
            lines.append(f'{TOKENS}{{{base},type="{kind}"}} {tally.tokens[kind]}')
        lines.append(f"{COST}{{{base}}} {_float(tally.cost)}")
        lines.append(f"{FEEDBACK}_sum{{{base}}} {_float(tally.feedback_sum)}")
        lines.append(f"{FEEDBACK}_count{{{base}}} {tally.feedback_count}")
    return lines


class Escape(Protocol):
    def __call__(self, value: object) -> str: ...


FAMILIES = (
    (RESPONSES, "counter", "Responses served from each prompt version, by outcome."),
    (DURATION, "histogram", "Seconds each response took."),
    (TOKENS, "counter", "Tokens in (prompt) and out (completion) per prompt version."),
    (COST, "counter", "What the responses cost, in the workload's unit."),
    (FEEDBACK, "summary", "Feedback scores given to the responses."),
)


def families(samples: list[str]) -> list[str]:
    """HELP and TYPE for each family, each followed by its samples (Prometheus's text format
    wants a family's samples together)."""
    lines: list[str] = []
    for name, kind, help_text in FAMILIES:
        own = [line for line in samples if line.split("{", 1)[0] in (name, *_suffixed(name, kind))]
        if own:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *own]
    return lines


def _suffixed(name: str, kind: str) -> tuple[str, ...]:
    if kind == "histogram":
        return (f"{name}_bucket", f"{name}_sum", f"{name}_count")
    if kind == "summary":
        return (f"{name}_sum", f"{name}_count")
    return ()
