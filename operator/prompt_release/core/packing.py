"""JSON-like values kept packed (compact JSON, compressed): about a tenth of their parsed size.

What waits a long time in memory at scale (the bodies a restart lists long before a pass needs
them, the passes queued behind thousands of others) is kept this way; unpacking one costs
about as much as parsing its watch event did.
"""

from __future__ import annotations

import json
import zlib
from typing import Any


def pack(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode(), 1)


def unpack(packed: bytes) -> Any:
    return json.loads(zlib.decompress(packed))


class Packed:
    """One value kept packed; `value()` gives it back parsed (a new copy each time)."""

    __slots__ = ("data",)

    def __init__(self, value: Any) -> None:
        self.data = pack(value)

    def value(self) -> Any:
        return unpack(self.data)

    def __len__(self) -> int:
        return len(self.data)
