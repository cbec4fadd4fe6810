"""Which way a metric went over a run: down, up, flat or noisy.

One symbol per metric (``↓ ↑ → ~``) is cheap for a model to read and enough to decide
whether to zoom in. The judgement is robust: medians of the first and last fifth of the
finite values, set against the metric's own spread and its point-to-point noise, so a single
spike or NaN does not flip it.
"""

from __future__ import annotations

import enum

import numpy as np

from ..model import Series
from .medians import median


class Trend(str, enum.Enum):
    DOWN = "down"
    UP = "up"
    FLAT = "flat"
    NOISY = "noisy"

    @property
    def arrow(self) -> str:
        return {"down": "↓", "up": "↑", "flat": "→", "noisy": "~"}[self.value]


#: A change smaller than this fraction of the metric's 5-95% range counts as flat.
FLAT_FRACTION = 0.1


def trend_of(series: Series) -> Trend:
    """The trend of ``series`` over all its finite points.

    flat: fewer than two finite points, no spread, or a change under ``FLAT_FRACTION`` of
    the range. noisy: the change is smaller than twice the typical point-to-point noise and
    that noise is more than ``FLAT_FRACTION`` of the range.
    Otherwise down or up by the sign of (median of last fifth - median of first fifth).
    """
    finite = np.isfinite(series.values)
    y = series.values if finite.all() else series.values[finite]
    n = y.size
    if n < 2:
        return Trend.FLAT
    d = np.diff(y)
    lo, hi = _range_5_95(y, d) if n >= 20 else (y.min(), y.max())
    spread = float(hi - lo)
    if spread <= 0:
        return Trend.FLAT
    k = max(n // 5, 1)
    change = float(median(y[-k:]) - median(y[:k]))
    if n >= 10:
        noise = 1.4826 * float(median(np.abs(d - median(d)))) / np.sqrt(2.0)
        # A change within twice the point-to-point noise is no direction: noisy when the
        # noise is a visible part of the range, else flat.
        if abs(change) < 2.0 * noise:
            return Trend.NOISY if noise > FLAT_FRACTION * spread else Trend.FLAT
    if abs(change) < FLAT_FRACTION * spread:
        return Trend.FLAT
    return Trend.DOWN if change < 0 else Trend.UP


def _range_5_95(y: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """``np.percentile(y, [5, 95])``. A mostly monotone series (a schedule, a smooth loss),
    where numpy's selection is slowest, is sorted first: the same order statistics, so the
    same numbers, except maybe a zero's sign, which cannot change a trend (the spread is
    only compared, and 0.0 equals -0.0)."""
    rising, falling = int(np.count_nonzero(d > 0)), int(np.count_nonzero(d < 0))
    if max(rising, falling) < 0.9 * d.size:
        return tuple(np.percentile(y, [5, 95]))
    ordered = y if falling == 0 else y[::-1] if rising == 0 else np.sort(y)
    return tuple(np.percentile(ordered, [5, 95]))


def profile(series: Series, width: int = 10) -> tuple[float, ...]:
    """The series' shape in ``width`` values: the mean of the finite values of each of
    ``width`` equal slices of its points (NaN for a slice holding no finite value), for a
    sparkline. Fewer points than ``width`` give one value per point."""
    v = series.values
    if v.size == 0:
        return ()
    if v.size <= width:
        return tuple(float(x) for x in v)
    edges = np.linspace(0, v.size, width + 1).round().astype(np.int64)
    finite = np.isfinite(v)
    if finite.all():  # the same sums without masked copies
        sums, counts = np.add.reduceat(v, edges[:-1]), np.diff(edges)
    else:
        sums = np.add.reduceat(np.where(finite, v, 0.0), edges[:-1])
        counts = np.add.reduceat(finite.astype(np.int64), edges[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return tuple(float(x) for x in means)
