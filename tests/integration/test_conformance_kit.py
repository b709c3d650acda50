"""The committed conformance kit still holds what the operator writes.

The kit's source (`tests/conformance/scenario.py`) runs again on the real API server with the
operator as its own process, and the kit built from its ConfigMaps must equal the committed
one, but for what differs by nature from one run to the next: release times, canary start
times and canary salts (one per release uid), and so the keys a salt assigns (every SDK's run
of the committed kit checks those). Regenerate with `make conformance`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conformance import kit, scenario
from tests.kube import Kubectl, OperatorProcess

pytestmark = pytest.mark.integration

_VOLATILE = re.compile(r'(\\*"(?:releasedAt|startedAt|salt)\\*":\s*\\*")[^"\\]*')


def normal(files: dict[str, Any]) -> dict[str, Any]:
    text = _VOLATILE.sub(r"\1…", json.dumps(files, ensure_ascii=False))
    found: dict[str, Any] = json.loads(text)
    for case in found["assignments.json"]["cases"]:
        case["expect"].pop("assignment")
        case["expect"].pop("candidates")
    return found


def test_the_committed_kit_is_what_the_operator_writes(
    kubectl: Kubectl, operator: OperatorProcess
) -> None:
    built = normal(kit.build(scenario.run(kubectl)))
    committed = normal(kit.load())
    for name in kit.FILES:
        assert built[name] == committed[name], (
            f"conformance/{name} differs from what the operator writes: run `make conformance`"
        )
