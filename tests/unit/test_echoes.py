"""The operator's memory of its own writes and of what releases read of versions."""

from __future__ import annotations

from prompt_release.operator.echoes import Echoes, InFlight, older

KEY = ("ns", "summarizer-production")


def test_a_write_of_ours_comes_back_as_an_echo_and_anything_else_is_news() -> None:
    written = Echoes()
    assert not written.is_echo(KEY, "41")  # nothing written yet: after a restart all is news
    written.note(KEY, "42")
    assert written.is_echo(KEY, "42")
    assert not written.is_echo(KEY, "43")  # a hand edit
    assert not written.is_echo(("ns", "other"), "42")
    written.forget(KEY)
    assert not written.is_echo(KEY, "42") and len(written) == 0


def test_news_is_a_change_of_state_and_is_remembered() -> None:
    seen = Echoes()
    assert seen.news(KEY, ("uid", 1, False))  # first sight
    assert not seen.news(KEY, ("uid", 1, False))  # a status change: same state
    assert seen.news(KEY, ("uid", 2, True))  # deletion started
    assert seen.news(KEY, ("uid2", 1, False))  # deleted and created again
    seen.forget(KEY)
    assert seen.news(KEY, ("uid2", 1, False))


def test_an_event_overtaking_a_write_is_held_until_the_write_says_whose_it_was() -> None:
    writes = InFlight()
    key = ("ns", "cm")
    assert not writes.hold(key, "7")  # no write on its way: the event is decided at once
    writes.begin(key)
    assert writes.hold(key, "8")  # the echo, ahead of the response
    assert not writes.end(key, "8")  # it was ours: nothing to look at again
    assert not writes.hold(key, "9")  # that write is over

    writes.begin(key)
    assert writes.hold(key, "10")  # another writer's change, while ours was on its way
    assert writes.hold(key, "11")
    assert writes.end(key, "11")  # ours made 11; 10 was news

    writes.begin(key)
    assert writes.hold(key, "12")
    assert writes.end(key, None)  # our write failed: whatever came is news

    writes.begin(key)
    assert not writes.end(key, "13")  # nothing overtook it


def test_resource_versions_compare_as_increasing_integers_and_nothing_else_is_older() -> None:
    assert older("9", "10") and older("41", "42") and older("999", "1000")
    assert not older("10", "9") and not older("42", "42")
    # Not comparable (KEP-5504's rules): none of these is known to be older.
    for a, b in [("", "5"), (None, "5"), ("5", None), ("05", "6"), ("5", "06"), ("a1", "b2")]:
        assert not older(a, b)
    assert not older("٣", "٤")  # decimal digits of another script are no resourceVersion
