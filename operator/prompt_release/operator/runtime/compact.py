"""Objects kept as compact JSON bytes, parsed again when a pass reads them.

A store of parsed bodies costs several times their JSON size in small Python objects, and the
parts each watch event brings and the store drops leave the allocator's pages fragmented; one
bytes object per body costs its JSON size. A pass parses the few bodies it reads. Behind
`Options.compact_stores`; its figures are in docs/performance.md.
"""

from __future__ import annotations

import json
from typing import Any

ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def encode(value: Any) -> bytes:
    return ENCODER.encode(value).encode("utf-8")


def decode(packed: bytes) -> Any:
    return json.loads(packed)
