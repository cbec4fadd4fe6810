"""Extreme-preserving downsampling: a 1,000,000-step run in a few hundred points that still
shows a one-step spike and every NaN.

Guarantees of :func:`downsample` (the same for any series, and tested):

* Deterministic: the result depends only on the series and the sample count.
* The first and the last point are always kept.
* The steps are split into equal-width step buckets; in each bucket the first point, the
  last point (each when finite), the minimum and the maximum of the finite values are
  kept, so no extreme is lost: the min and max of every bucket survive.
* Every non-finite point (NaN, +-Inf) is kept, up to ``max_non_finite`` (the earliest
  ones, plus the series' last point if it is one; their total count is reported in
  :class:`Downsampled`).
* Kept points are real logged points: their steps are real steps, never row numbers, and
  no value is interpolated or averaged.
* A series with no more points than requested comes back unchanged.

The bucket summary (per bucket: start step, point count, min, max, non-finite count) is
returned too, so a renderer can show a compact step grid instead of a point list.
Vectorized (``np.minimum.reduceat`` and friends), so 1M points take milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Series

#: Points kept per bucket: first, last, min, max.
POINTS_PER_BUCKET = 4


@dataclass(frozen=True)
class Buckets:
    """A step grid over one series: bucket ``i`` covers ``[starts[i], starts[i] + width)``.

    Only buckets holding at least one point are listed. ``min``/``max`` are over finite values
    (NaN when a bucket holds none); ``non_finite`` counts NaN/Inf points in the bucket and
    ``worst`` is the first non-finite value of the bucket (NaN when there is none).
    """

    width: int
    starts: np.ndarray  # int64
    counts: np.ndarray  # int64
    min: np.ndarray
    max: np.ndarray
    non_finite: np.ndarray  # int64
    first_non_finite: np.ndarray  # float64: the first NaN/+-Inf value of the bucket, or 0.0


@dataclass(frozen=True)
class Downsampled:
    """The kept points (a real sub-series) and the bucket grid they came from.

    ``total`` is the number of points in the original series; ``non_finite_total`` the number
    of NaN/Inf points in it, of which all but ``non_finite_dropped`` are kept.
    """

    points: Series
    buckets: Buckets
    total: int
    non_finite_total: int
    non_finite_dropped: int

    @property
    def exact(self) -> bool:
        """True when every original point is kept."""
        return len(self.points) == self.total


def bucket_width(first_step: int, last_step: int, n_buckets: int) -> int:
    """The smallest width that covers ``[first_step, last_step]`` in ``n_buckets`` buckets,
    rounded up to a 1-2-2.5-5 x 10^k number (25, 250, 2,500, ...) so that bucket starts are
    easy to read; the grid then has between about 40% and 100% of ``n_buckets`` buckets."""
    span = max(last_step - first_step + 1, 1)
    raw = max(-(-span // max(n_buckets, 1)), 1)
    mag = 1
    while True:
        for m in (10, 20, 25, 50):
            width = m * mag // 10
            if width * 10 == m * mag and width >= raw:
                return width
        mag *= 10


def grid_width(first_step: int, last_step: int, max_rows: int) -> int:
    """The smallest round width (see :func:`bucket_width`) whose grid, starting at a multiple
    of the width, covers ``[first_step, last_step]`` in at most ``max_rows`` buckets."""
    width = bucket_width(first_step, last_step, max_rows)
    while last_step // width - first_step // width + 1 > max_rows:
        width = _round_above(width)
    return width


def _round_above(width: int) -> int:
    """The next width above ``width`` in the 1-2-2.5-5 x 10^k series."""
    mag = 1
    while True:
        for m in (10, 20, 25, 50):
            w = m * mag // 10
            if w * 10 == m * mag and w > width:
                return w
        mag *= 10


def make_buckets(
    series: Series, n_buckets: int, origin: int | None = None, width: int | None = None
) -> tuple[Buckets, np.ndarray]:
    """The bucket grid of ``series`` and each point's bucket index (into the listed buckets).

    Buckets start at ``origin`` (default: the first step rounded down to the width) and are
    ``width`` steps wide (default: :func:`bucket_width` of the series' span), so grids of
    several keys given the same origin and width line up.
    """
    s, v = series.steps, series.values
    if s.size == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return Buckets(1, empty_i, empty_i, empty_f, empty_f, empty_i, empty_f), empty_i
    if width is None:
        width = bucket_width(int(s[0]), int(s[-1]), n_buckets)
    if origin is None:
        origin = (int(s[0]) // width) * width
    raw_idx = (s - origin) // width
    # Points are sorted by step, so bucket ids are non-decreasing: segment boundaries.
    change = np.flatnonzero(np.diff(raw_idx)) + 1
    seg_starts = np.concatenate(([0], change))
    seg_ids = raw_idx[seg_starts]
    counts = np.diff(np.concatenate((seg_starts, [s.size])))
    finite = np.isfinite(v)
    vmin = np.where(finite, v, np.inf)
    vmax = np.where(finite, v, -np.inf)
    bmin = np.minimum.reduceat(vmin, seg_starts)
    bmax = np.maximum.reduceat(vmax, seg_starts)
    nf = np.add.reduceat((~finite).astype(np.int64), seg_starts)
    bmin = np.where(np.isinf(bmin) & (nf == counts), np.nan, bmin)
    bmax = np.where(np.isinf(bmax) & (nf == counts), np.nan, bmax)
    # The first non-finite value of each bucket (0.0 where none).
    first_nf = np.zeros(seg_starts.size, dtype=np.float64)
    nf_idx = np.flatnonzero(~finite)
    if nf_idx.size:
        seg_of_nf = np.searchsorted(seg_starts, nf_idx, side="right") - 1
        uniq, first_pos = np.unique(seg_of_nf, return_index=True)
        first_nf[uniq] = v[nf_idx[first_pos]]
    seg_index = np.repeat(np.arange(seg_starts.size), counts)
    buckets = Buckets(
        width=width,
        starts=(origin + seg_ids * width).astype(np.int64),
        counts=counts.astype(np.int64),
        min=bmin,
        max=bmax,
        non_finite=nf,
        first_non_finite=first_nf,
    )
    return buckets, seg_index


def downsample(series: Series, samples: int, max_non_finite: int = 100, origin: int | None = None) -> Downsampled:
    """Keep at most about ``samples`` points of ``series`` (plus non-finite points) without
    losing an extreme. See the module docstring for the guarantees.

    At most ``samples`` finite points are kept (``samples`` below 8 is raised to 8: two
    buckets' first/last/min/max), plus up to ``max_non_finite`` NaN/Inf points.
    """
    samples = max(int(samples), 2 * POINTS_PER_BUCKET)
    n = len(series)
    v = series.values
    finite = np.isfinite(v)
    nf_total = int(n - finite.sum())
    # Rounding the origin down can add one bucket: ask for one fewer to stay within samples.
    n_buckets = max(samples // POINTS_PER_BUCKET - 1, 1)
    buckets, seg_index = make_buckets(series, n_buckets, origin)
    if n <= samples:
        return Downsampled(series, buckets, n, nf_total, 0)
    seg_starts = np.concatenate(([0], np.flatnonzero(np.diff(seg_index)) + 1))
    seg_ends = np.concatenate((seg_starts[1:], [n])) - 1
    keep = np.zeros(n, dtype=bool)
    # Each bucket's first and last finite-or-not point shapes the curve; a non-finite one is
    # kept through the non-finite rule below (so the cap holds), except the series' own ends.
    keep[seg_starts[finite[seg_starts]]] = True
    keep[seg_ends[finite[seg_ends]]] = True
    keep[0] = keep[n - 1] = True
    # Position of each bucket's min / max among its finite values: argmin over a masked copy.
    idx = np.arange(n)
    vmin = np.where(finite, v, np.inf)
    vmax = np.where(finite, v, -np.inf)
    bmin = np.minimum.reduceat(vmin, seg_starts)
    bmax = np.maximum.reduceat(vmax, seg_starts)
    is_min = (vmin == bmin[seg_index]) & finite
    is_max = (vmax == bmax[seg_index]) & finite
    # The first point reaching the bucket's min / max.
    big = n + 1
    first_min = np.minimum.reduceat(np.where(is_min, idx, big), seg_starts)
    first_max = np.minimum.reduceat(np.where(is_max, idx, big), seg_starts)
    keep[first_min[first_min < big]] = True
    keep[first_max[first_max < big]] = True
    nf_idx = np.flatnonzero(~finite)
    dropped = max(nf_idx.size - max_non_finite, 0)
    keep[nf_idx[:max_non_finite]] = True
    kept = np.flatnonzero(keep)
    return Downsampled(Series(series.steps[kept], v[kept]), buckets, n, nf_total, dropped)


def coarsen(buckets: Buckets, factor: int) -> Buckets:
    """Merge every ``factor`` adjacent grid buckets into one (exact: min of mins, max of
    maxes, summed counts). Used to fit a step grid into a token budget without re-reading."""
    if factor <= 1 or buckets.starts.size == 0:
        return buckets
    width = buckets.width * factor
    origin = int(buckets.starts[0]) - int(buckets.starts[0]) % width
    group = (buckets.starts - origin) // width
    seg = np.concatenate(([0], np.flatnonzero(np.diff(group)) + 1))
    vmin = np.where(np.isnan(buckets.min), np.inf, buckets.min)
    vmax = np.where(np.isnan(buckets.max), -np.inf, buckets.max)
    bmin = np.minimum.reduceat(vmin, seg)
    bmax = np.maximum.reduceat(vmax, seg)
    bmin = np.where(np.isposinf(bmin), np.nan, bmin)
    bmax = np.where(np.isneginf(bmax), np.nan, bmax)
    has_nf = buckets.non_finite > 0
    first_nf = np.zeros(seg.size)
    seg_id = np.repeat(np.arange(seg.size), np.diff(np.concatenate((seg, [group.size]))))
    for i in np.flatnonzero(has_nf)[::-1]:  # few non-finite buckets; earliest wins
        first_nf[seg_id[i]] = buckets.first_non_finite[i]
    return Buckets(
        width=width,
        starts=(origin + group[seg] * width).astype(np.int64),
        counts=np.add.reduceat(buckets.counts, seg),
        min=bmin,
        max=bmax,
        non_finite=np.add.reduceat(buckets.non_finite, seg),
        first_non_finite=first_nf,
    )
