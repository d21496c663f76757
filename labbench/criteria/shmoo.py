"""The shmoo of a sweep: its pass/fail grid, Vmin per row and holes (docs/architecture.md §4).

A sweep step runs one point per coordinate (``x``, and ``y`` when it has a second axis); each
point gets its own verdict.  This module turns the points into what a bring-up engineer reads,
one way for the command line, the exports, the report and the app:

* the grid over x × y, each cell ``P`` (passed), ``M`` (marginal), ``F`` (failed), ``E``
  (error) or ``-`` (not run: an aborted sweep's later points, never a pass);
* Vmin(y): the smallest x such that every point from it up to the largest x passes at that y
  (a marginal point passes: it met its limits); none when the largest x does not pass;
* holes: a failed point with a passing point at a smaller x in the same row; an error (the rig
  lost, no reply) is not silicon failing and is not a hole, nor is a point never run.

With one axis there is a single row whose y is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["CELL_LETTERS", "Shmoo", "SweepPoint", "axis_text", "build_shmoo", "shmoo_csv_rows"]

CELL_LETTERS = {"passed": "P", "marginal": "M", "failed": "F", "error": "E"}
NOT_RUN = "-"
_PASSING = frozenset({"passed", "marginal"})
# A hole is silicon failing above a pass: an error (the rig lost, no reply) is not one.
_FAILING = frozenset({"failed"})


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its coordinates, when it ran (``order`` from 0; None if it never
    ran) and its verdict (None while pending or never run)."""

    x: float
    y: float | None
    order: int | None
    verdict: str | None


@dataclass(frozen=True)
class Shmoo:
    x_name: str
    y_name: str | None
    xs: tuple[float, ...]
    ys: tuple[float | None, ...]
    points: tuple[SweepPoint, ...]
    vmin: dict[float | None, float | None] = field(default_factory=dict)
    holes: tuple[tuple[float, float | None], ...] = ()

    def verdict(self, x: float, y: float | None) -> str | None:
        point = self._by_coordinate.get((x, y))
        return point.verdict if point is not None else None

    def cell(self, x: float, y: float | None) -> str:
        """The grid letter of a point: P, M, F, E, or ``-`` when it did not run."""
        return CELL_LETTERS.get(self.verdict(x, y) or "", NOT_RUN)

    def point(self, x: float, y: float | None) -> SweepPoint | None:
        return self._by_coordinate.get((x, y))

    @property
    def _by_coordinate(self) -> dict[tuple[float, float | None], SweepPoint]:
        found = self.__dict__.get("_index")
        if found is None:
            found = {(p.x, p.y): p for p in self.points}
            object.__setattr__(self, "_index", found)
        return found

    def as_json(self) -> dict:
        """The ``sweep`` object of ``labbench run --json`` and the JSON record."""
        return {
            "x": self.x_name,
            "y": self.y_name,
            "points": [
                {
                    "x": _number(p.x),
                    "y": _number(p.y),
                    "order": p.order,
                    "verdict": p.verdict or "not run",
                }
                for p in sorted(self.points, key=_run_order)
            ],
            "vmin": {_json_key(y): _number(self.vmin.get(y)) for y in self.ys},
            "holes": [[_number(x), _number(y)] for x, y in self.holes],
        }


def _run_order(point: SweepPoint) -> tuple:
    return (
        point.order is None,
        point.order if point.order is not None else 0,
        point.y or 0,
        point.x,
    )


def _number(value: float | None) -> float | int | None:
    """A coordinate for JSON as written in the plan: 1000, not 1000.0 (so a point's y finds
    its row in ``vmin``, whose keys are text: ``vmin[str(point["y"])]``)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else value


def _json_key(y: float | None) -> str:
    return "null" if y is None else axis_text(y)


def axis_text(value: float | None) -> str:
    """A coordinate as people write it: ``650``, not ``650.0``; ``0.85`` stays ``0.85``."""
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def build_shmoo(x_name: str, y_name: str | None, points: Iterable[SweepPoint]) -> Shmoo:
    """The grid, Vmin per row and holes of a sweep's points (in any order)."""
    points = tuple(points)
    xs = tuple(sorted({p.x for p in points}))
    ys_set = {p.y for p in points}
    ys: tuple[float | None, ...] = (
        (None,) if ys_set <= {None} else tuple(sorted(y for y in ys_set if y is not None))
    )
    verdicts = {(p.x, p.y): p.verdict for p in points}
    vmin: dict[float | None, float | None] = {}
    holes: list[tuple[float, float | None]] = []
    for y in ys:
        row = [verdicts.get((x, y)) for x in xs]
        vmin[y] = _vmin(xs, row)
        passed_below = False
        for x, verdict in zip(xs, row, strict=True):
            if verdict in _FAILING and passed_below:
                holes.append((x, y))
            passed_below = passed_below or verdict in _PASSING
    return Shmoo(x_name, y_name, xs, ys, points, vmin, tuple(holes))


def _vmin(xs: Sequence[float], row: Sequence[str | None]) -> float | None:
    found = None
    for x, verdict in zip(reversed(xs), reversed(row), strict=True):
        if verdict not in _PASSING:
            break
        found = x
    return found


def shmoo_csv_rows(shmoo: Shmoo) -> list[list[str]]:
    """The grid as CSV rows: a header of x values, one row per y (ascending), each cell a
    letter; then a blank row and Vmin per y.  Names are raw text: the writer escapes them."""
    corner = f"{shmoo.y_name or ''} \\ {shmoo.x_name}" if shmoo.y_name else shmoo.x_name
    rows = [[corner, *(axis_text(x) for x in shmoo.xs)]]
    for y in shmoo.ys:
        rows.append([axis_text(y), *(shmoo.cell(x, y) for x in shmoo.xs)])
    rows.append([])
    rows.append([shmoo.y_name or "", f"vmin {shmoo.x_name}", "holes"])
    for y in shmoo.ys:
        row_holes = " ".join(axis_text(x) for x, hy in shmoo.holes if hy == y)
        rows.append([axis_text(y), axis_text(shmoo.vmin.get(y)), row_holes])
    return rows
