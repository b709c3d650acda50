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
