"""A canary: the candidate of a release served to a share of requests, sticky per key.

`canary.json` is the one schema the operator writes and the SDK reads, next to `prompt.json`
in the release's ConfigMap (so the kubelet swaps both at once):

    {"format": 1, "version": …, "hash": …, "weight": 10, "salt": "…",
     "segments": [{"attribute": "plan", "operator": "In", "values": ["enterprise"], "weight": 50}],
     "startedAt": "…", "prompt": {the candidate's payload, exactly as prompt.json}}

Stickiness: a key (a user id, a session id) lands in a bucket, `sha256(salt ":" key)` mapped to
[0, 100000); it gets the candidate when its bucket is below `weight * 1000` (weights are
percentages, so a bucket is 0.001 %). Raising the weight only adds buckets, so a key that saw
the candidate keeps seeing it; a new candidate comes with a new salt, so it reaches other keys.
Segments are tried in order before the default weight: the first whose attribute matches gives
the weight. Without a key each call draws a bucket at random.

Standard library only: the workload SDK imports it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prompt_release.core import payload
from prompt_release.core.payload import PayloadError

CANARY_KEY = "canary.json"
CANARY_FORMAT = 1
BUCKETS = 100_000
"""Buckets per key space: one is 0.001 %, so weights resolve to a thousandth of a percent."""
STABLE, CANARY = "stable", "canary"
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "In", "NotIn", "Exists", "DoesNotExist"


def salt_for(release_uid: str, candidate_hash: str) -> str:
    """The salt of a canary: one per (release, candidate), so a new candidate reshuffles."""
    return hashlib.sha256(f"{release_uid}:{candidate_hash}".encode()).hexdigest()[:16]


def bucket(salt: str, key: object) -> int:
    """The bucket of a key, in [0, BUCKETS): the same for the same salt and key, always."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def threshold(weight: float) -> int:
    """Buckets below this one get the candidate."""
    return max(0, min(BUCKETS, round(float(weight) * BUCKETS / 100)))


def normal_weight(weight: float) -> float | int:
    """A weight as written to JSON: an integer when it is one, else rounded to 0.001 %."""
    rounded = round(float(weight), 3)
    return int(rounded) if rounded.is_integer() else rounded


@dataclass(frozen=True)
class Segment:
    """Requests whose attribute matches get this segment's weight instead of the default."""

    attribute: str
    operator: str
    values: tuple[str, ...]
    weight: float

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Segment:
        return cls(
            attribute=str(raw.get("attribute", "")),
            operator=str(raw.get("operator") or IN),
            values=tuple(str(value) for value in raw.get("values") or ()),
            weight=float(raw.get("weight") or 0),
        )

    def matches(self, attributes: Mapping[str, Any]) -> bool:
        """Kubernetes label-selector semantics: NotIn and DoesNotExist match an absent one."""
        present = attributes.get(self.attribute) is not None
        value = str(attributes.get(self.attribute)) if present else None
        if self.operator == IN:
            return present and value in self.values
        if self.operator == NOT_IN:
            return not present or value not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        return False

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"attribute": self.attribute, "operator": self.operator}
        if self.operator in (IN, NOT_IN):
            found["values"] = list(self.values)
        found["weight"] = normal_weight(self.weight)
        return found


@dataclass(frozen=True)
class Split:
    """How requests are split between the stable version and the candidate."""

    weight: float
    salt: str
    segments: tuple[Segment, ...] = ()

    def weight_for(self, attributes: Mapping[str, Any] | None) -> float:
        for segment in self.segments:
            if segment.matches(attributes or {}):
                return segment.weight
        return self.weight

    def serves_candidate(
        self,
        key: object | None = None,
        attributes: Mapping[str, Any] | None = None,
        rng: random.Random | None = None,
    ) -> bool:
        """Whether this request gets the candidate: sticky for a key, random without one."""
        limit = threshold(self.weight_for(attributes))
        if limit <= 0:
            return False
        if limit >= BUCKETS:
            return True
        if key is None:
            drawn = (rng or random).randrange(BUCKETS)
            return drawn < limit
        return bucket(self.salt, key) < limit

    def variant(
        self, key: object | None = None, attributes: Mapping[str, Any] | None = None
    ) -> str:
        return CANARY if self.serves_candidate(key, attributes) else STABLE


P = TypeVar("P", bound=payload.Payload)


@dataclass(frozen=True)
class Canary(Generic[P]):
    """canary.json read back: the split and the candidate's prompt."""

    split: Split
    prompt: P
    started_at: str
    document: Mapping[str, Any]

    @property
    def weight(self) -> float:
        return self.split.weight

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self.split.segments


def document(
    candidate: Mapping[str, Any],
    *,
    weight: float,
    salt: str,
    segments: Sequence[Segment],
    started_at: str,
) -> dict[str, Any]:
    """The canary.json document for a candidate payload (built by `payload.build`)."""
    return {
        "format": CANARY_FORMAT,
        "version": candidate["version"],
        "hash": candidate["hash"],
        "weight": normal_weight(weight),
        "salt": salt,
        "segments": [segment.to_json() for segment in segments],
        "startedAt": started_at,
        "prompt": dict(candidate),
    }


def text(document: Mapping[str, Any]) -> str:
    """canary.json's text: stable for the same document, so a pass that changes nothing
    writes nothing."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse(text: str, *, verify: bool = True, into: type[P] = payload.Payload) -> Canary[P]:  # type: ignore[assignment]
    """canary.json's text read back; with `verify`, the candidate must re-hash."""
    found = payload.document_of(text, CANARY_KEY, CANARY_FORMAT)
    try:
        segments = tuple(Segment.of(raw) for raw in found.get("segments") or ())
        split = Split(weight=float(found["weight"]), salt=str(found["salt"]), segments=segments)
        inner = found["prompt"]
        if not isinstance(inner, dict):
            raise PayloadError(f"{CANARY_KEY}: prompt must be a JSON object")
    except (KeyError, TypeError, ValueError) as error:
        raise PayloadError(f"{CANARY_KEY} is malformed: {error!r}") from error
    try:
        prompt = payload.parse(json.dumps(inner), verify=verify, into=into)
    except PayloadError as error:
        raise PayloadError(f"{CANARY_KEY}: {error}") from error
    if (prompt.version, prompt.hash) != (found.get("version"), found.get("hash")):
        raise PayloadError(f"{CANARY_KEY}: its prompt is not the version and hash it names")
    return Canary(
        split=split, prompt=prompt, started_at=str(found.get("startedAt", "")), document=found
    )
