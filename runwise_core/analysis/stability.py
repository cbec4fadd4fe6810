"""How steady a metric is: rolling standard deviation, a robust slope, and a verdict.

``runwise stability`` answers "is this curve noisy, and is it still moving?" in one line
per key. Everything is vectorized and bounded:

* rolling std over a window of ``window`` points, from cumulative sums (O(n));
* the slope per 1,000 steps is Theil-Sen (median of pairwise slopes) on at most
  ``THEIL_SEN_MAX_POINTS`` evenly spaced points, so never O(n^2) on long runs;
* status: ``stable`` / ``moderate`` / ``noisy`` from the median rolling std relative to the
  metric's level (or its range when the level is near zero).

Seconds, not minutes, on 1M points: in practice tens of milliseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..model import Series

THEIL_SEN_MAX_POINTS = 256
#: Relative noise (median rolling std / level) below which a metric is stable.
STABLE_BELOW = 0.05
#: ... and below which it is moderate; above it, noisy.
MODERATE_BELOW = 0.2


class Status(str, enum.Enum):
    STABLE = "stable"
    MODERATE = "moderate"
    NOISY = "noisy"
    TOO_SHORT = "too short"


@dataclass(frozen=True)
class Stability:
    """The stability of one series (finite points only).

    ``rolling_std_median`` / ``rolling_std_final``: the median and the last value of the rolling
    std; ``relative_noise``: median rolling std over the level (``None`` when undefined);
    ``slope_per_1k``: Theil-Sen slope in value per 1,000 steps over the whole series, and
    ``recent_slope_per_1k`` over its last quarter.
    """

    count: int
    window: int
    rolling_std_median: float | None
    rolling_std_final: float | None
    relative_noise: float | None
    slope_per_1k: float | None
    recent_slope_per_1k: float | None
    status: Status


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """Population std of every full window of ``window`` consecutive values (length n-w+1)."""
    n = values.size
    if window < 2 or n < window:
        return np.zeros(0)
    x = values - values.mean()  # centring keeps the cumulative sums well conditioned
    c1 = np.concatenate(([0.0], np.cumsum(x)))
    c2 = np.concatenate(([0.0], np.cumsum(x * x)))
    s1 = c1[window:] - c1[:-window]
    s2 = c2[window:] - c2[:-window]
    var = s2 / window - (s1 / window) ** 2
    return np.sqrt(np.maximum(var, 0.0))


def theil_sen_slope(steps: np.ndarray, values: np.ndarray, max_points: int = THEIL_SEN_MAX_POINTS) -> float | None:
    """Median of pairwise slopes (value per step) over at most ``max_points`` evenly spaced
    points; ``None`` with fewer than two distinct steps."""
    n = values.size
    if n < 2:
        return None
    if n > max_points:
        idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
        steps, values = steps[idx], values[idx]
    x = steps.astype(np.float64)
    i, j = np.triu_indices(x.size, k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    if not ok.any():
        return None
    return float(np.median((values[j][ok] - values[i][ok]) / dx[ok]))


def default_window(n: int) -> int:
    """A window of about 5% of the points, at least 5 and at most 1,000."""
    return int(min(max(n // 20, 5), 1000))


def stability_of(series: Series, window: int | None = None) -> Stability:
    """The stability of ``series``; fewer than 10 finite points is ``too short``."""
    fin = series.finite()
    n = len(fin)
    w = default_window(n) if window is None else max(int(window), 2)
    if n < 10 or n < w:
        slope = theil_sen_slope(fin.steps, fin.values)
        return Stability(n, w, None, None, None, None if slope is None else slope * 1000, None, Status.TOO_SHORT)
    rs = rolling_std(fin.values, w)
    med = float(np.median(rs))
    level = float(np.median(np.abs(fin.values)))
    spread = float(np.percentile(fin.values, 95) - np.percentile(fin.values, 5))
    denom = level if level > 1e-12 and level >= 0.05 * spread else spread
    rel = med / denom if denom > 0 else None
    if rel is None:
        status = Status.STABLE
    elif rel < STABLE_BELOW:
        status = Status.STABLE
    elif rel < MODERATE_BELOW:
        status = Status.MODERATE
    else:
        status = Status.NOISY
    slope = theil_sen_slope(fin.steps, fin.values)
    q = max(n // 4, 2)
    recent = theil_sen_slope(fin.steps[-q:], fin.values[-q:])
    return Stability(
        count=n,
        window=w,
        rolling_std_median=med,
        rolling_std_final=float(rs[-1]),
        relative_noise=rel,
        slope_per_1k=None if slope is None else slope * 1000,
        recent_slope_per_1k=None if recent is None else recent * 1000,
        status=status,
    )
