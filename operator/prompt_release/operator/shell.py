"""What every handler module shares: the clock, namespaces, and re-planning on conflicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import kopf

from prompt_release.kube import is_status

T = TypeVar("T")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def namespaced(namespace: str | None) -> str:
    """Both kinds are namespaced; kopf's signatures allow None for cluster-scoped kinds."""
    if namespace is None:
        raise kopf.PermanentError("a namespaced object arrived without a namespace")
    return namespace


class StaleReadError(Exception):
    """What a pass read is inconsistent (read before a newer write): plan again, as on a 409."""


def until_no_conflict(attempt: Callable[[], T], retries: int) -> T:
    """Run one read-plan-write pass; on 409 (someone wrote in between) or a stale read, plan
    again from fresh reads, at most `retries` times, then let kopf retry a little later."""
    for _ in range(retries):
        try:
            return attempt()
        except StaleReadError:
            continue
        except Exception as error:
            if not is_status(error, 409):
                raise
    raise kopf.TemporaryError(f"{retries} write conflicts in a row", delay=1)
