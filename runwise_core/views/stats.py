"""Exact statistics per key (``runwise stats``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.keypick import pick_keys
from ..analysis.series_facts import stats_of
from ..analysis.stats import SeriesStats
from ..model import Run
from ..settings import Settings
from ._common import require_history, resolve_keys, step_slice


@dataclass(frozen=True)
class StatsTable:
    """Exact stats for ``keys`` of one run, over every point (in ``step_range`` if set)."""

    run_id: str
    run_name: str
    rows: tuple[tuple[str, SeriesStats], ...]
    picked: bool
    step_range: tuple[int | None, int | None] | None
    #: (rows read, rows logged) when the run's history is a server's sample (W&B cloud):
    #: the figures are then over the sample, not over every point.
    sampled: tuple[int, int] | None = None


def stats_view(
    run: Run,
    keys: Sequence[str] | None = None,
    step_range: tuple[int | None, int | None] | None = None,
    settings: Settings | None = None,
) -> StatsTable:
    """Exact statistics of ``keys`` (default: the key metrics) over the run's points (a
    server's sample when ``run.sampled`` says so, and the result says it too); raises
    NoHistory for a run without metrics and KeyNotFound for unknown keys."""
    require_history(run)
    chosen = resolve_keys(run, keys) if keys else pick_keys(run.metrics, settings)
    rows = tuple((k, stats_of(step_slice(run.metrics[k], step_range))) for k in chosen)
    return StatsTable(run.id, run.name, rows, not keys, step_range, run.sampled)
