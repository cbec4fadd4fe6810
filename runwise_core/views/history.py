"""Metric history (``runwise history``): real steps, extremes kept, sparse keys aligned.

The result carries both forms a renderer may need:

* ``exact``: every key fits in ``samples`` points, so all points are there and rows are
  the union of the keys' steps (a sparse key is blank where it was not logged);
* otherwise a step grid shared by all keys (``width`` steps per row, rows starting at
  ``origin + i * width``) with each key's min and max per row, plus each key's
  extreme-preserving downsample (real points, for JSON) and every non-finite point.

Two values per key per grid row, and at most ``2 * samples // 5`` rows (200 for the default
500): a row of step, min and max costs 12-14 tokens, and the default must stay under 3,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..analysis.downsample import Buckets, bucket_grid, downsample, grid_width
from ..analysis.keypick import pick_keys
from ..analysis.memo import memoized
from ..analysis.roles import LOSS_ROLES, role_of
from ..analysis.series_facts import stats_of
from ..analysis.stats import SeriesStats
from ..analysis.unique import sorted_unique
from ..errors import UsageError
from ..model import Run, Series
from ..settings import Settings
from ._common import require_history, resolve_keys, step_slice
from .samples import DEFAULT_SAMPLES, MAX_SAMPLES, MIN_SAMPLES
#: Non-finite points listed per key; the count says how many more there were.
MAX_NON_FINITE_LISTED = 100


@dataclass(frozen=True)
class KeyHistory:
    """One key's history in the requested range."""

    key: str
    stats: SeriesStats  # exact, over every point in range
    points: Series  # the downsample: real points, first/last/min/max per bucket, non-finite
    non_finite: Series  # the non-finite points (at most MAX_NON_FINITE_LISTED)
    grid: Buckets  # min/max per row of the shared grid (rows without points left out)

    @property
    def total(self) -> int:
        return self.stats.count


@dataclass(frozen=True)
class History:
    run_id: str
    run_name: str
    keys: tuple[KeyHistory, ...]
    samples: int
    step_range: tuple[int | None, int | None] | None
    exact: bool
    origin: int
    width: int
    picked: bool
    #: (rows read, rows logged) when the run's history is a server's sample (W&B cloud):
    #: ``exact`` then means every point of the sample.
    sampled: tuple[int, int] | None = None

    def union_steps(self) -> np.ndarray:
        """The sorted union of all keys' kept steps (rows of the exact table)."""
        if not self.keys:
            return np.zeros(0, dtype=np.int64)
        return sorted_unique(np.concatenate([kh.points.steps for kh in self.keys]))


def clamp_samples(samples: int | None) -> int:
    """``None`` -> the default 500; values above the hard cap of 1,000 are capped, below
    ``MIN_SAMPLES`` (2: the first and the last point) refused."""
    if samples is None:
        return DEFAULT_SAMPLES
    if samples < MIN_SAMPLES:
        raise UsageError(f"--samples must be at least {MIN_SAMPLES} (got {samples})")
    return min(int(samples), MAX_SAMPLES)


def history_view(
    run: Run,
    keys: Sequence[str] | None = None,
    samples: int | None = DEFAULT_SAMPLES,
    step_range: tuple[int | None, int | None] | None = None,
    settings: Settings | None = None,
) -> History:
    """The history of ``keys`` (default: :func:`default_history_keys`), at most ``samples`` values per key
    (default 500, capped at 1,000), never losing a spike or a NaN. Raises NoHistory,
    KeyNotFound, or UsageError for a bad sample count or an empty step range."""
    require_history(run)
    n = clamp_samples(samples)
    chosen = resolve_keys(run, keys) if keys else default_history_keys(run, settings)
    series = {k: step_slice(run.metrics[k], step_range) for k in chosen}
    nonempty = [s for s in series.values() if len(s)]
    if not nonempty:
        raise UsageError(
            f"no points of {', '.join(chosen)} in steps {_range_text(step_range)}; "
            f"run `runwise keys {run.id}` for each key's step range"
        )
    lo = min(int(s.steps[0]) for s in nonempty)
    hi = max(int(s.steps[-1]) for s in nonempty)
    rows = max(n * 2 // 5, 2)  # a row costs ~12-14 tokens: 500 samples -> at most 200 rows
    width = grid_width(lo, hi, rows)
    origin = (lo // width) * width
    out = []
    exact = True
    for k in chosen:
        s = series[k]
        ds, grid, stats = memoized(s, ("history", n, rows, origin, width), lambda s=s: (
            downsample(s, n, max_non_finite=MAX_NON_FINITE_LISTED),
            bucket_grid(s, rows, origin=origin, width=width),
            stats_of(s)))
        exact = exact and ds.exact
        nf_mask = ~np.isfinite(ds.points.values)
        out.append(
            KeyHistory(
                key=k,
                stats=stats,
                points=ds.points,
                non_finite=Series(ds.points.steps[nf_mask], ds.points.values[nf_mask]),
                grid=grid,
            )
        )
    hist = History(run.id, run.name, tuple(out), n, step_range, exact, origin, width, not keys, run.sampled)
    if exact and hist.union_steps().size > n:
        hist = History(run.id, run.name, tuple(out), n, step_range, False, origin, width, not keys, run.sampled)
    return hist


def default_history_keys(run: Run, settings: Settings | None = None) -> list[str]:
    """Without ``-k``: the run's losses among its key metrics (at most two), else its first
    key metric. A history of every key would cost thousands of tokens for what ``stats``
    says in a few dozen."""
    picked = pick_keys(run.metrics, settings)
    losses = [k for k in picked if role_of(k, settings) in LOSS_ROLES][:2]
    return losses or picked[:1]


def _range_text(step_range: tuple[int | None, int | None] | None) -> str:
    if step_range is None:
        return "all"
    lo, hi = step_range
    return f"{'' if lo is None else lo}:{'' if hi is None else hi}"
