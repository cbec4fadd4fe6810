"""Exact statistics of one metric over every logged point.

``runwise stats`` promises exact numbers, never numbers from a downsample: count, min and
max with the step where each was first reached, mean over finite values, the final value
(NaN included: a run that ends in NaN ends in NaN) and how many points were NaN or +-Inf.
Vectorized; one pass of numpy reductions, fast on 1M points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Series


@dataclass(frozen=True)
class SeriesStats:
    """Exact statistics of one series. Min, max and mean cover finite values only.

    ``min``/``max``/``mean``/``std`` are ``None`` when no value is finite; ``final`` is the last
    logged value as it was (possibly NaN). ``nan`` counts NaN points and ``inf`` +-Inf points.
    """

    count: int
    first_step: int | None
    last_step: int | None
    min: float | None
    min_step: int | None
    max: float | None
    max_step: int | None
    mean: float | None
    std: float | None
    final: float | None
    final_step: int | None
    nan: int
    inf: int

    @property
    def non_finite(self) -> int:
        return self.nan + self.inf


def series_stats(series: Series) -> SeriesStats:
    """Statistics over every point of ``series`` (exact; ties in min/max take the first step)."""
    v = series.values
    s = series.steps
    n = int(v.size)
    if n == 0:
        return SeriesStats(0, None, None, None, None, None, None, None, None, None, None, 0, 0)
    nan_mask = np.isnan(v)
    finite_mask = np.isfinite(v)
    nan = int(nan_mask.sum())
    inf = int(n - nan - finite_mask.sum())
    if finite_mask.any():
        all_finite = nan == 0 and inf == 0
        fv = v if all_finite else v[finite_mask]  # (no copy of a clean series)
        fs = s if all_finite else s[finite_mask]
        i_min = int(np.argmin(fv))
        i_max = int(np.argmax(fv))
        mn, mx = float(fv[i_min]), float(fv[i_max])
        mn_s, mx_s = int(fs[i_min]), int(fs[i_max])
        mean = float(fv.mean())
        std = float(fv.std())
    else:
        mn = mx = mean = std = None
        mn_s = mx_s = None
    return SeriesStats(
        count=n,
        first_step=int(s[0]),
        last_step=int(s[-1]),
        min=mn,
        min_step=mn_s,
        max=mx,
        max_step=mx_s,
        mean=mean,
        std=std,
        final=float(v[-1]),
        final_step=int(s[-1]),
        nan=nan,
        inf=inf,
    )


def best_value(stats: SeriesStats, higher_is_better: bool | None) -> tuple[float | None, int | None]:
    """The best finite value and its step: max when higher is better, else min (unknown
    direction falls back to min, the loss convention)."""
    if higher_is_better:
        return stats.max, stats.max_step
    return stats.min, stats.min_step
