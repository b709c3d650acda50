"""Unit-test settings: property tests judged on their results, never on how fast a shared,
loaded machine ran them (hypothesis's default 200 ms deadline flakes under load)."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("unit", deadline=None)
settings.load_profile("unit")
