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
Vectorized (bucket edges found by binary search, ``np.minimum.reduceat`` and friends, one
``argmin``/``argmax`` per bucket), so 1M points take a few passes over the values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Series
from .unique import sorted_unique

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


def _segments(steps: np.ndarray, origin: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The index of each non-empty bucket's first point and the bucket's number, for sorted
    ``steps``: bucket ``k`` holds ``origin + k * width <= step < origin + (k + 1) * width``.

    Found by binary search of the bucket edges, not by dividing every step: the cost follows
    the number of buckets, not of points.
    """
    k0 = (int(steps[0]) - origin) // width
    k1 = (int(steps[-1]) - origin) // width
    edges = origin + np.arange(k0 + 1, k1 + 1, dtype=np.int64) * width
    inner = np.searchsorted(steps, edges, side="left")
    # a bucket without points has the same first index as the next one: keep the last of a run
    bounds = np.concatenate(([0], inner))
    nonempty = np.concatenate((bounds[1:] != bounds[:-1], [True])) if bounds.size > 1 else np.array([True])
    nonempty &= bounds < steps.size
    seg_starts = bounds[nonempty].astype(np.int64)
    seg_ids = np.arange(k0, k1 + 1, dtype=np.int64)[nonempty]
    return seg_starts, seg_ids


def _finite_extremes(v: np.ndarray, seg_starts: np.ndarray, dirty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment, the min and max of its finite values (+inf / -inf where there are none).
    ``dirty`` lists the segments holding a non-finite value: only those are looked at again,
    so a series with a few NaN costs no masked copy of all its values."""
    bmin, bmax = np.minimum.reduceat(v, seg_starts), np.maximum.reduceat(v, seg_starts)
    ends = np.append(seg_starts[1:], v.size)
    at = np.zeros(1, dtype=np.int64)
    for i in dirty.tolist():
        part = v[seg_starts[i]:ends[i]]
        finite = np.isfinite(part)
        # reduceat, as for the clean segments: a min over 0.0 and -0.0 keeps the same one
        bmin[i] = np.minimum.reduceat(np.where(finite, part, np.inf), at)[0]
        bmax[i] = np.maximum.reduceat(np.where(finite, part, -np.inf), at)[0]
    return bmin, bmax


def bucket_grid(series: Series, n_buckets: int, origin: int | None = None, width: int | None = None) -> Buckets:
    """The bucket grid of ``series`` (see :func:`make_buckets`), without each point's bucket."""
    return _grid(series, n_buckets, origin, width)[0]


def make_buckets(
    series: Series, n_buckets: int, origin: int | None = None, width: int | None = None
) -> tuple[Buckets, np.ndarray]:
    """The bucket grid of ``series`` and each point's bucket index (into the listed buckets).

    Buckets start at ``origin`` (default: the first step rounded down to the width) and are
    ``width`` steps wide (default: :func:`bucket_width` of the series' span), so grids of
    several keys given the same origin and width line up.
    """
    buckets, seg_starts, _ = _grid(series, n_buckets, origin, width)
    return buckets, np.repeat(np.arange(seg_starts.size), buckets.counts)


def _grid(series: Series, n_buckets: int, origin: int | None,
          width: int | None) -> tuple[Buckets, np.ndarray, np.ndarray]:
    """The grid, the index of each listed bucket's first point, and of each non-finite point."""
    s, v = series.steps, series.values
    if s.size == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return Buckets(1, empty_i, empty_i, empty_f, empty_f, empty_i, empty_f), empty_i, empty_i
    if width is None:
        width = bucket_width(int(s[0]), int(s[-1]), n_buckets)
    if origin is None:
        origin = (int(s[0]) // width) * width
    seg_starts, seg_ids = _segments(s, origin, width)
    counts = np.diff(np.append(seg_starts, s.size))
    nf_idx = np.flatnonzero(~np.isfinite(v))
    first_nf = np.zeros(seg_starts.size, dtype=np.float64)  # the first non-finite value of each bucket
    nf = np.zeros(seg_starts.size, dtype=np.int64)
    dirty = np.zeros(0, dtype=np.int64)
    if nf_idx.size:
        seg_of_nf = np.searchsorted(seg_starts, nf_idx, side="right") - 1
        dirty, first_pos, per = np.unique(seg_of_nf, return_index=True, return_counts=True)
        first_nf[dirty] = v[nf_idx[first_pos]]
        nf[dirty] = per
    bmin, bmax = _finite_extremes(v, seg_starts, dirty)
    if nf_idx.size:
        bmin = np.where(np.isinf(bmin) & (nf == counts), np.nan, bmin)
        bmax = np.where(np.isinf(bmax) & (nf == counts), np.nan, bmax)
    buckets = Buckets(
        width=width,
        starts=(origin + seg_ids * width).astype(np.int64),
        counts=counts.astype(np.int64),
        min=bmin,
        max=bmax,
        non_finite=nf,
        first_non_finite=first_nf,
    )
    return buckets, seg_starts, nf_idx


def downsample(series: Series, samples: int, max_non_finite: int = 100, origin: int | None = None) -> Downsampled:
    """Keep at most about ``samples`` points of ``series`` (plus non-finite points) without
    losing an extreme. See the module docstring for the guarantees.

    At most ``samples`` finite points are kept (``samples`` below 8 is raised to 8: two
    buckets' first/last/min/max), plus up to ``max_non_finite`` NaN/Inf points. The work is a
    few passes over the points plus one ``argmin``/``argmax`` per bucket (about
    ``samples / 4`` buckets).
    """
    samples = max(int(samples), 2 * POINTS_PER_BUCKET)
    n = len(series)
    v = series.values
    # Rounding the origin down can add one bucket: ask for one fewer to stay within samples.
    n_buckets = max(samples // POINTS_PER_BUCKET - 1, 1)
    buckets, seg_starts, nf_idx = _grid(series, n_buckets, origin, None)
    nf_total = int(nf_idx.size)
    if n <= samples:
        return Downsampled(series, buckets, n, nf_total, 0)
    seg_ends = np.append(seg_starts[1:], n) - 1
    # Each bucket's first and last finite-or-not point shapes the curve; a non-finite one is
    # kept through the non-finite rule below (so the cap holds), except the series' own ends.
    keep: list[np.ndarray] = [np.array([0, n - 1]), seg_starts[np.isfinite(v[seg_starts])],
                              seg_ends[np.isfinite(v[seg_ends])]]
    # The first point reaching each bucket's min / max among its finite values (in a bucket
    # with a non-finite value, that value stands in as +inf / -inf: no finite value ties it).
    dirty = buckets.non_finite > 0
    picks = []
    for a, e, has_nf, count, nf in zip(seg_starts.tolist(), (seg_ends + 1).tolist(), dirty.tolist(),
                                       buckets.counts.tolist(), buckets.non_finite.tolist()):
        if count == nf:
            continue  # no finite value: no min or max to keep
        part = v[a:e]
        low, high = part, part
        if has_nf:
            finite = np.isfinite(part)
            low, high = np.where(finite, part, np.inf), np.where(finite, part, -np.inf)
        picks += [a + int(np.argmin(low)), a + int(np.argmax(high))]
    keep.append(np.array(picks, dtype=np.int64))
    dropped = max(nf_total - max_non_finite, 0)
    keep.append(nf_idx[:max_non_finite])
    kept = sorted_unique(np.concatenate(keep))
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
