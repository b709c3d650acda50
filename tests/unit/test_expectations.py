"""Expectations: a pass waits for the stores to show our own last write; its echo is ours."""

from __future__ import annotations

from prompt_release.operator.runtime.expectations import Expectations, older


def test_resource_versions_compare_as_integers_and_anything_else_never_counts_as_older() -> None:
    assert older(None, "5") and older("4", "5")
    assert not older("5", "5") and not older("12", "5")
    assert not older("abc", "5")


def test_a_store_behind_our_write_is_pending_until_it_catches_up_or_patience_runs_out() -> None:
    now = [0.0]
    written = Expectations(patience=10, clock=lambda: now[0])
    written.wrote("r", "7")
    assert not written.is_own("r", "8")
    assert written.pending("r", "6")
    assert not written.pending("r", "7")  # caught up: forgotten
    assert not written.pending("r", "6")
    written.wrote("r", "9")
    now[0] = 11.0
    assert not written.pending("r", "8")  # waited long enough: the store is trusted again


def test_the_echo_of_our_own_write_is_known_once_and_then_forgotten() -> None:
    written = Expectations()
    written.wrote("r", "7")
    assert written.is_own("r", "7")
    assert not written.is_own("r", "7")
    assert not written.pending("r", "6")
