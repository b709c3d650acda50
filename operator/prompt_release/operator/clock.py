"""The time as the API writes it."""

from __future__ import annotations

import datetime as dt


def now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
