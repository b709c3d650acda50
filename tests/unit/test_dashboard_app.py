"""The dashboard's own rules about requests: which Host it answers, which names it takes."""

from __future__ import annotations

import pytest

from prompt_release.plugin.dashboard.app import answered_hosts, checked_names
from prompt_release.plugin.errors import UsageError


def test_a_loopback_dashboard_answers_its_own_addresses_only() -> None:
    assert answered_hosts("127.0.0.1", 3100) == {
        "127.0.0.1:3100",
        "localhost:3100",
    }
    assert "localhost:3100" in answered_hosts("localhost", 3100)
    assert "[::1]:3100" in answered_hosts("::1", 3100)


def test_a_dashboard_bound_elsewhere_answers_any_host() -> None:
    assert answered_hosts("0.0.0.0", 3100) == frozenset()


def test_names_in_the_address_must_be_kubernetes_names() -> None:
    checked_names({"namespace": "prompts-demo", "name": "ticket-summarizer-v1.2"})
    for bad in ({"namespace": "a?b"}, {"namespace": "A"}, {"name": "x/y"}, {"name": "-x"}):
        with pytest.raises(UsageError, match="is not a valid"):
            checked_names(bad)
