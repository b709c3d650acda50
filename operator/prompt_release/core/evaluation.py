"""PromptEvaluations as evidence: a typed view, the dataset hash, and which results count.

A result is evidence for one exact content: its `spec.hash` must be the content hash of the
version it names, and only then does it count for that version (by name and hash). The rules
a release adds (`spec.promotion.evidence`) are checked in `counts`; why a result doesn't count
is said in words, because the release's condition lists it. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prompt_release.core.canonical import canonical_json
from prompt_release.core.governance import Subjects
from prompt_release.core.hashing import PREFIX, short_hash, without_null_members
from prompt_release.core.identity import Identity

EVALUATION_PLURAL = "promptevaluations"
DEFAULT_DATASET_KEY = "cases.json"
EMPTY: Mapping[str, Any] = {}


def dataset_hash(cases: Sequence[Any]) -> str:
    """The hash of a list of cases: the rule of a PromptVersion's hash (RFC 8785 canonical
    JSON, null members of objects dropped), applied to the list."""
    return PREFIX + hashlib.sha256(canonical_json(without_null_members(list(cases)))).hexdigest()


def cases_of(text: str) -> list[Any]:
    """A dataset file's cases: a JSON list, or JSON Lines (one case a line)."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        found = json.loads(stripped)
        if not isinstance(found, list):
            raise ValueError("a dataset is a JSON list of cases")
        return found
    return [json.loads(line) for line in stripped.splitlines() if line.strip()]


@dataclass(frozen=True)
class Requirements:
    """spec.promotion.evidence: what a passing result must also show."""

    min_score: float | None = None
    max_regression: float | None = None
    evaluator: str | None = None
    dataset: str | None = None
    trusted: tuple[tuple[str, Subjects], ...] = ()
    """(PromptPolicy, its trustedEvaluators): who may have recorded a result that counts."""

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> Requirements:
        raw = raw or EMPTY

        def number(key: str) -> float | None:
            value = raw.get(key)
            return None if value is None else float(value)

        return cls(
            min_score=number("minScore"),
            max_regression=number("maxRegression"),
            evaluator=raw.get("evaluator") or None,
            dataset=raw.get("dataset") or None,
        )


@dataclass(frozen=True)
class EvaluationView:
    """A PromptEvaluation: one result of one exact version."""

    name: str
    namespace: str
    version: str
    hash: str
    score: float
    passed: bool
    dataset_hash: str
    dataset_names: tuple[str, ...] = ()
    evaluator: str = ""
    evaluator_label: str = ""
    threshold: float | None = None
    baseline_version: str | None = None
    baseline_hash: str | None = None
    baseline_score: float | None = None
    recorded_by: str | None = None
    recorded_by_groups: tuple[str, ...] = ()
    created: str = ""
    scores: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> EvaluationView:
        meta, spec = body.get("metadata") or EMPTY, body.get("spec") or EMPTY
        dataset = spec.get("dataset") or EMPTY
        evaluator = spec.get("evaluator") or EMPTY
        baseline = spec.get("baseline") or EMPTY
        name = str(evaluator.get("name") or "")
        pinned = evaluator.get("version") or evaluator.get("image") or ""
        threshold = spec.get("threshold")
        base_score = baseline.get("score")
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            version=str(spec.get("version", "")),
            hash=str(spec.get("hash", "")),
            score=float(spec.get("score") or 0),
            passed=bool(spec.get("passed")),
            dataset_hash=str(dataset.get("hash", "")),
            dataset_names=tuple(
                str(dataset[key]) for key in ("name", "configMap") if dataset.get(key)
            ),
            evaluator=name,
            evaluator_label=f"{name}@{pinned}" if pinned else name,
            threshold=None if threshold is None else float(threshold),
            baseline_version=baseline.get("version") or None,
            baseline_hash=baseline.get("hash") or None,
            baseline_score=None if base_score is None else float(base_score),
            recorded_by=spec.get("recordedBy") or None,
            recorded_by_groups=tuple(str(g) for g in spec.get("recordedByGroups") or ()),
            created=str(meta.get("creationTimestamp") or ""),
            scores=dict(spec.get("scores") or {}),
        )

    @property
    def short(self) -> str:
        return f"PromptEvaluation {self.name}"

    def record(self) -> dict[str, Any]:
        """What a history entry keeps of the evidence it rested on."""
        found: dict[str, Any] = {
            "name": self.name,
            "score": self.score,
            "dataset": self.dataset_hash,
            "evaluator": self.evaluator_label,
        }
        if self.recorded_by:
            found["recordedBy"] = self.recorded_by
        if self.baseline_score is not None:
            found["baselineScore"] = self.baseline_score
        return found


@dataclass(frozen=True)
class Verdict:
    """The results that count for a version, and why the others don't."""

    counting: tuple[EvaluationView, ...]
    refused: tuple[str, ...]

    @property
    def best(self) -> EvaluationView | None:
        """The result a promotion rests on: the newest that counts."""
        return self.counting[-1] if self.counting else None


def _why_not(
    found: EvaluationView,
    content_hash: str,
    rules: Requirements,
    live_hash: str | None,
) -> str | None:
    """Why a result for this version doesn't count (None: it does)."""
    if found.hash != content_hash:
        return (
            f"{found.short} records hash {short_hash(found.hash)}, but {found.version} hashes "
            f"to {short_hash(content_hash)}: evidence for other content"
        )
    if not found.passed:
        return f"{found.short} did not pass (score {found.score:g})"
    if rules.evaluator and found.evaluator != rules.evaluator:
        return f"{found.short} is by evaluator {found.evaluator}, not {rules.evaluator}"
    if rules.dataset and rules.dataset not in (*found.dataset_names, found.dataset_hash):
        return f"{found.short} ran on another dataset than {rules.dataset}"
    if rules.min_score is not None and found.score < rules.min_score:
        return f"{found.short} scored {found.score:g}, under minScore {rules.min_score:g}"
    return _untrusted(found, rules) or _regression(found, rules, live_hash)


def _untrusted(found: EvaluationView, rules: Requirements) -> str | None:
    """A PromptPolicy's trustedEvaluators: the result was recorded by one of them (the API
    server stamps recordedBy; unstamped, it counts for nobody)."""
    who = None
    if found.recorded_by:
        who = Identity.of(found.recorded_by, found.recorded_by_groups)
    for policy, subjects in rules.trusted:
        if who is None or not subjects.include(who):
            return (
                f"{found.short} was recorded by {who or 'nobody attested'}, not one of the "
                f"trusted evaluators of PromptPolicy {policy} ({subjects})"
            )
    return None


def _regression(found: EvaluationView, rules: Requirements, live_hash: str | None) -> str | None:
    """maxRegression: a paired run against what is live, the candidate not too far under it."""
    if rules.max_regression is None or live_hash is None:
        return None
    if found.baseline_hash != live_hash or found.baseline_score is None:
        return (
            f"{found.short} is not a paired run against the live version "
            f"({short_hash(live_hash)}), which maxRegression needs"
        )
    floor = found.baseline_score - rules.max_regression
    if found.score < floor:
        return (
            f"{found.short} regresses: {found.score:g} against the live version's "
            f"{found.baseline_score:g}, more than maxRegression {rules.max_regression:g} "
            f"(at least {floor:g} needed)"
        )
    return None


def verdict(
    evaluations: Iterable[EvaluationView],
    version: str,
    content_hash: str,
    rules: Requirements,
    live_hash: str | None = None,
) -> Verdict:
    """Of the results naming `version`, those that count as its evidence (oldest first), and
    one line for each that doesn't. `live_hash`: what the release serves now (maxRegression's
    baseline)."""
    counting: list[EvaluationView] = []
    refused: list[str] = []
    naming = sorted(
        (e for e in evaluations if e.version == version), key=lambda e: (e.created, e.name)
    )
    for found in naming:
        why = _why_not(found, content_hash, rules, live_hash)
        if why is None:
            counting.append(found)
        else:
            refused.append(why)
    return Verdict(tuple(counting), tuple(refused))


def evidence_problem(
    entry: Mapping[str, Any], kept: Mapping[str, Any], found: Mapping[str, Any] | None
) -> str | None:
    """What no longer holds of the evidence a history entry kept (`kept`, from its
    `promotion.evidence`), against the PromptEvaluation of that name now (`found`); None when
    it still proves the entry: the same version and hash, dataset and score."""
    name = str(kept.get("name") or "")
    if found is None:
        return f"its evidence, PromptEvaluation {name}, is gone"
    view = EvaluationView.of(found)
    version, content = str(entry.get("version") or ""), str(entry.get("hash") or "")
    if (view.version, view.hash) != (version, content):
        return (
            f"its evidence, PromptEvaluation {name}, is for {view.version} "
            f"({short_hash(view.hash)}), not {version} ({short_hash(content)})"
        )
    if view.dataset_hash != kept.get("dataset"):
        return (
            f"its evidence, PromptEvaluation {name}, ran on dataset "
            f"{short_hash(view.dataset_hash)}, not {short_hash(str(kept.get('dataset') or ''))}"
        )
    if kept.get("score") is not None and view.score != float(kept["score"]):
        return f"its evidence, PromptEvaluation {name}, scores {view.score:g}, not {kept['score']}"
    return None
