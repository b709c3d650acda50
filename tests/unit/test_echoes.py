"""The operator's memory of its own writes and of what releases read of versions."""

from __future__ import annotations

from typing import cast

from prompt_release.operator.echoes import Echoes, InFlight, Rows, older, spec_state

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


def test_echoes_sharing_rows_keep_their_own_columns() -> None:
    """Several Echoes in one table: one row per object, each remembering only its own state;
    the row goes when every column forgot the object, and a column added later still works."""
    from prompt_release.operator.echoes import Rows

    rows = Rows()
    seen, written = Echoes(rows), Echoes(rows)
    assert seen.news(KEY, "a") and written.get(KEY) is None
    written.note(KEY, None)  # None is a state like any other
    assert written.is_echo(KEY, None) and not seen.is_echo(KEY, None)
    assert not seen.news(KEY, "a") and seen.news(KEY, "b")
    assert (len(rows.rows), len(seen), len(written)) == (1, 1, 1)
    late = Echoes(rows)  # its column comes after the row was made
    assert late.get(KEY) is None and late.news(KEY, "x") and late.is_echo(KEY, "x")
    seen.forget(KEY)
    assert seen.get(KEY) is None and written.is_echo(KEY, None) and len(rows.rows) == 1
    written.forget(KEY)
    late.forget(KEY)
    assert rows.rows == {} and len(late) == 0
    late.forget(KEY)  # nothing left: nothing happens


def test_equal_states_in_one_row_share_one_tuple_and_one_uid() -> None:
    """Two parts noting the same spec state of a release keep one tuple between them, and every
    state of an object holds one copy of its uid (at ten thousand prompts, each copy counts)."""
    rows = Rows()
    seen, specs = Echoes(rows), Echoes(rows)
    uid = "".join(["0b6c3a6e-", "uid"])  # built at run time, as a parsed body's string is
    first = spec_state({"metadata": {"uid": uid, "generation": 1}})
    second = spec_state({"metadata": {"uid": "".join(["0b6c3a6e-", "uid"]), "generation": 1}})
    assert first == second and first is not second
    assert cast(tuple[str, int, bool], first)[0] is cast(tuple[str, int, bool], second)[0]
    seen.note(("ns", "a"), first)
    specs.note(("ns", "a"), second)
    assert specs.get(("ns", "a")) is seen.get(("ns", "a"))
