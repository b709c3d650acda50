"""POST a body to a URL with a deadline: the one HTTP call of the webhook sinks.

No retries and no redirects here: the notification controller retries with its own backoff
(recorded in its ledger) and a redirect would carry a signed body somewhere unconfigured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import urllib3

from prompt_release import __version__

USER_AGENT = f"prompt-release-operator/{__version__}"
POOL = urllib3.PoolManager(num_pools=16, maxsize=4, retries=False)


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str


class UnreachableError(Exception):
    """No answer: refused, reset, or nothing within the deadline."""


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Answer:
    """One POST; the status the receiver answered (any), or Unreachable."""
    try:
        response = POOL.request(
            "POST",
            url,
            body=body,
            headers={**headers, "User-Agent": USER_AGENT},
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            redirect=False,
            retries=False,
            preload_content=True,
        )
    except urllib3.exceptions.NewConnectionError as error:  # before TimeoutError: a subclass
        raise UnreachableError(f"cannot connect: {error}") from error
    except urllib3.exceptions.TimeoutError as error:
        raise UnreachableError(f"no answer within {timeout:g}s") from error
    except urllib3.exceptions.HTTPError as error:
        raise UnreachableError(str(getattr(error, "reason", None) or error)) from error
    return Answer(response.status, response.reason or "")
