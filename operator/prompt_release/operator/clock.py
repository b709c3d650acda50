"""The time as the API writes it."""

from __future__ import annotations

import datetime as dt

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def text(moment: dt.datetime) -> str:
    return moment.strftime(FORMAT)


def now_text() -> str:
    return text(dt.datetime.now(dt.UTC))
