"""Exact aggregates of a full-resolution series that every detector shares.

Detectors never look at a display sample. Where a detector needs a smooth level, it uses
medians (and median absolute deviations) over fixed, consecutive blocks of points: an exact
statistic of every point, O(n) with ``np.median`` over a reshaped array, and robust to the
short excursions the detectors are looking for. This is what keeps a 1,000,000-point series
well under a second without a Python loop over points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..medians import median, row_medians

#: 1.4826 * MAD estimates the standard deviation of Gaussian noise.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Blocks:
    """Block medians of a series: ``steps[k]`` is the step of block ``k``'s middle point.

    ``size`` points per block; the ``n % size`` leftover points join the last block.
    ``mad[k]`` is the median absolute deviation of block ``k`` around its median.
    """

    size: int
    steps: np.ndarray
    med: np.ndarray
    mad: np.ndarray
    first_index: np.ndarray  # index of each block's first point

    def __len__(self) -> int:
        return int(self.med.size)


def blocks(steps: np.ndarray, values: np.ndarray, size: int) -> Blocks:
    """Medians and MADs over consecutive blocks of ``size`` points (exact, vectorized)."""
    n = values.size
    size = max(1, min(int(size), n))
    nb = n // size
    cut = nb * size
    grid = values[:cut].reshape(nb, size)
    med = row_medians(grid)
    mad = row_medians(np.abs(grid - med[:, None]))
    bsteps = steps[: cut].reshape(nb, size)[:, size // 2].astype(np.float64)
    if cut < n:  # fold the leftover points into the last block
        tail = values[(nb - 1) * size :]
        med[-1] = median(tail)
        mad[-1] = median(np.abs(tail - med[-1]))
        bsteps[-1] = float(steps[(nb - 1) * size + (n - (nb - 1) * size) // 2])
    return Blocks(size, bsteps, med, mad, np.arange(nb) * size)


def blocks_for(steps: np.ndarray, values: np.ndarray, target: int = 200) -> Blocks:
    """About ``target`` blocks (one point per block for short series)."""
    return blocks(steps, values, max(1, int(np.ceil(values.size / target))))


def rolling_median(a: np.ndarray, half: int) -> np.ndarray:
    """Centered median over ``2*half+1`` neighbours, edges padded with the edge value.

    Meant for block-level arrays (a few thousand entries at most), not raw points.
    """
    if half <= 0 or a.size == 0:
        return a.copy()
    padded = np.pad(a, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def noise_sigma(a: np.ndarray) -> float:
    """Robust point-to-point noise of ``a`` as a sigma: the MAD of second differences / sqrt(6).

    Second differences cancel any locally linear trend, so a falling loss, or one that falls
    and then stops, does not count as noise.
    """
    if a.size < 4:
        return 0.0
    d = np.diff(a, 2)
    return float(MAD_TO_SIGMA * median(np.abs(d - median(d))) / np.sqrt(6.0))


def window_median(steps: np.ndarray, values: np.ndarray, lo: float, hi: float) -> float | None:
    """Median of the points with ``lo <= step <= hi`` (None when there are none)."""
    i = int(np.searchsorted(steps, lo, side="left"))
    j = int(np.searchsorted(steps, hi, side="right"))
    if j <= i:
        return None
    return float(median(values[i:j]))


def oriented(values: np.ndarray, higher_better: bool | None) -> np.ndarray:
    """Values turned so that lower is better (the detectors' one convention)."""
    return -values if higher_better else values
