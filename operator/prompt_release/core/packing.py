"""JSON-like values kept packed (compact JSON, compressed): about a tenth of their parsed size.

What waits a long time in memory at scale (the bodies a restart lists long before a pass needs
them, the passes queued behind thousands of others) is kept this way; unpacking one costs
about as much as parsing its watch event did.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

SMALL = 16 * 1024  # bytes of JSON packed with a small window
RAW = -15  # raw deflate (no header or checksum), read with the largest window


def pack(value: Any) -> bytes:
    """Compact JSON, deflated at level 1. Most bodies are under a KiB: there a 4 KiB window
    and small buffers pack them as tightly and four to seven times faster, since setting up
    zlib's default 32 KiB window and buffers costs more than deflating the body."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    small = len(text) < SMALL
    deflate = zlib.compressobj(1, zlib.DEFLATED, -12 if small else RAW, 4 if small else 8)
    return deflate.compress(text) + deflate.flush()


def unpack(packed: bytes) -> Any:
    return json.loads(zlib.decompress(packed, RAW))


class Packed:
    """One value kept packed; `value()` gives it back parsed (a new copy each time)."""

    __slots__ = ("data",)

    def __init__(self, value: Any) -> None:
        self.data = pack(value)

    def value(self) -> Any:
        return unpack(self.data)
