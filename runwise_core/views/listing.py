"""The cheapest zoom level: one line per run (``runwise list``, ``runwise find TEXT``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.keypick import primary_key
from ..analysis.series_facts import shape_of, trend_of_series
from ..analysis.trend import Trend
from ..model import Run, RunState
from ..settings import Settings


@dataclass(frozen=True)
class RunRow:
    """One run in a list: identity, state, progress and its primary metric at a glance."""

    id: str
    name: str
    state: RunState
    last_step: int | None
    source: str
    start_time: float | None
    runtime_s: float | None
    metric: str | None  # the primary metric (see keypick.primary_key)
    final: float | None
    trend: Trend | None
    shape: tuple[float, ...]  # sparkline values
    group: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RunList:
    """Runs newest first. ``total`` counts the runs before ``limit``; ``query`` is set for find;
    ``skipped`` holds one message per run that could not be read (the front end loads runs)."""

    rows: tuple[RunRow, ...]
    total: int
    query: str | None = None
    skipped: tuple[str, ...] = ()


def run_row(run: Run, now: float | None = None, settings: Settings | None = None) -> RunRow:
    key = primary_key(run.metrics, settings)
    series = run.metrics.get(key) if key else None
    return RunRow(
        id=run.id,
        name=run.name,
        state=run.state(now),
        last_step=run.last_step,
        source=run.source,
        start_time=run.start_time,
        runtime_s=run.runtime_s,
        metric=key,
        final=series.final if series is not None else None,
        trend=trend_of_series(series) if series is not None else None,
        shape=shape_of(series, 10) if series is not None else (),
        group=run.group,
        tags=tuple(run.tags),
    )


def list_view(
    runs: Sequence[Run],
    limit: int | None = None,
    state: RunState | None = None,
    now: float | None = None,
    settings: Settings | None = None,
) -> RunList:
    """``runs`` (newest first, as the catalog gives them) as rows, optionally only those in
    ``state``, at most ``limit`` of them."""
    selected = [r for r in runs if state is None or r.state(now) is state]
    total = len(selected)
    if limit is not None:
        selected = selected[: max(limit, 0)]
    return RunList(tuple(run_row(r, now, settings) for r in selected), total)


def matches(run: Run, text: str) -> bool:
    """Whether ``text`` occurs (case-insensitive) in the run's id, name, group, tags or notes."""
    needle = text.lower()
    fields = [run.id, run.name, run.group or "", run.notes or "", *run.tags]
    return any(needle in f.lower() for f in fields)


def find_view(
    runs: Sequence[Run], text: str, limit: int | None = None, now: float | None = None,
    settings: Settings | None = None,
) -> RunList:
    """The runs whose id, name, group, tag or notes contain ``text``, newest first."""
    found = [r for r in runs if matches(r, text)]
    rows = tuple(run_row(r, now, settings) for r in (found if limit is None else found[:limit]))
    return RunList(rows, len(found), query=text)
