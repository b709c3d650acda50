"""The printout: every figure next to its target and the floor measured in the same run, with
PASS or MISS. A printout only: a MISS never fails the build."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    section: str
    what: str
    measured: str
    target: str
    floor: str = "-"
    ok: bool | None = None  # None: a figure with no target of its own

    @property
    def verdict(self) -> str:
        return "-" if self.ok is None else ("PASS" if self.ok else "MISS")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def s(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds:.1f} s"


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    headers = ("", "measured", "target", "floor (same run)", "")
    cells = [("  " + r.what, r.measured, r.target, r.floor, r.verdict) for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    out: list[str] = []

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out.append(line(headers))
    section = None
    for row, cell in zip(rows, cells, strict=True):
        if row.section != section:
            section = row.section
            out.append(f"{section}:")
        out.append(line(cell))
    return "\n".join(out)


def as_json(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [{**asdict(r), "verdict": r.verdict} for r in rows]
