"""The downsampler's guarantees: extremes, first/last, every NaN, real steps, determinism."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from runwise_core.analysis.downsample import bucket_width, coarsen, downsample, make_buckets
from runwise_core.model import Series


def _series(n: int, seed: int = 0) -> Series:
    rng = np.random.default_rng(seed)
    steps = np.arange(n, dtype=np.int64) * 3 + 7
    return Series(steps, np.cumsum(rng.standard_normal(n)))


def test_one_step_spike_and_nan_in_a_million_steps_survive_500_samples():
    n = 1_000_000
    values = np.full(n, 1.0)
    values[500_123] = 9.5
    values[777_777] = np.nan
    ds = downsample(Series(np.arange(n, dtype=np.int64), values), 500)
    kept = dict(zip(ds.points.steps.tolist(), ds.points.values.tolist()))
    assert kept[500_123] == 9.5
    assert np.isnan(kept[777_777])
    assert len(ds.points) <= 500 + 1
    assert ds.total == n and ds.non_finite_total == 1 and ds.non_finite_dropped == 0


def test_first_and_last_points_are_always_kept():
    s = _series(10_000)
    ds = downsample(s, 100)
    assert ds.points.steps[0] == s.steps[0] and ds.points.steps[-1] == s.steps[-1]
    assert ds.points.values[0] == s.values[0] and ds.points.values[-1] == s.values[-1]


def test_kept_points_are_real_points_with_real_steps():
    s = _series(5_000)
    ds = downsample(s, 200)
    idx = np.searchsorted(s.steps, ds.points.steps)
    assert np.array_equal(s.steps[idx], ds.points.steps)
    assert np.array_equal(s.values[idx], ds.points.values)
    assert np.all(np.diff(ds.points.steps) > 0)


def test_short_series_comes_back_unchanged():
    s = _series(300)
    ds = downsample(s, 500)
    assert ds.exact
    assert np.array_equal(ds.points.steps, s.steps) and np.array_equal(ds.points.values, s.values)


def test_deterministic():
    s = _series(20_000, seed=3)
    a, b = downsample(s, 250), downsample(s, 250)
    assert np.array_equal(a.points.steps, b.points.steps)


def test_non_finite_points_are_capped_and_counted():
    values = np.zeros(10_000)
    values[::50] = np.nan  # 200 NaNs
    values[7] = np.inf
    ds = downsample(Series(np.arange(10_000, dtype=np.int64), values), 100, max_non_finite=20)
    assert ds.non_finite_total == 201
    assert ds.non_finite_dropped == 181
    assert int(np.count_nonzero(~np.isfinite(ds.points.values))) == 20


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=3000),
    samples=st.integers(min_value=8, max_value=400),
)
def test_global_finite_extremes_and_all_non_finite_are_kept(values, samples):
    v = np.asarray(values, dtype=np.float64)
    s = Series(np.arange(v.size, dtype=np.int64) * 2, v)
    ds = downsample(s, samples, max_non_finite=10_000)
    kept = ds.points.values
    finite = v[np.isfinite(v)]
    if finite.size:
        assert np.nanmax(np.where(np.isfinite(kept), kept, np.nan)) == finite.max()
        assert np.nanmin(np.where(np.isfinite(kept), kept, np.nan)) == finite.min()
    assert int(np.count_nonzero(~np.isfinite(kept))) == int(np.count_nonzero(~np.isfinite(v)))
    assert int(np.count_nonzero(np.isfinite(kept))) <= max(samples, 8)


def test_bucket_width_is_a_round_number_covering_the_span():
    assert bucket_width(0, 999_999, 250) == 5_000
    assert bucket_width(0, 99, 10) == 10
    assert bucket_width(5, 5, 10) == 1


def test_buckets_hold_min_max_and_non_finite_counts():
    s = Series(np.arange(10, dtype=np.int64), np.array([1, 5, 2, np.nan, 3, 0, 4, 4, np.inf, 2.0]))
    b, idx = make_buckets(s, 2, origin=0, width=5)
    assert b.starts.tolist() == [0, 5]
    assert b.min.tolist() == [1, 0] and b.max.tolist() == [5, 4]
    assert b.non_finite.tolist() == [1, 1] and b.counts.tolist() == [5, 5]
    assert idx.tolist() == [0] * 5 + [1] * 5


def test_coarsen_is_exact():
    s = _series(8_000, seed=5)
    fine, _ = make_buckets(s, 400, origin=0, width=20)
    coarse_direct, _ = make_buckets(s, 100, origin=0, width=80)
    merged = coarsen(fine, 4)
    assert merged.width == 80
    assert np.array_equal(merged.starts, coarse_direct.starts)
    assert np.array_equal(merged.min, coarse_direct.min) and np.array_equal(merged.max, coarse_direct.max)
    assert np.array_equal(merged.counts, coarse_direct.counts)


def test_grid_width_is_round_and_fits_the_row_limit():
    from runwise_core.analysis.downsample import grid_width

    assert grid_width(0, 999_999, 200) == 5_000
    assert grid_width(0, 399_999, 200) == 2_000
    assert grid_width(17, 1_000_016, 200) == 10_000  # 5,000 would need 201 rows from step 0
    assert grid_width(140_749, 197_034, 200) == 500
    for lo, hi in ((0, 5), (3, 99_999), (12_345, 6_789_012)):
        w = grid_width(lo, hi, 200)
        assert hi // w - lo // w + 1 <= 200


# -- the vectorized code against a plain loop ---------------------------------------------------
def _loop_reference(series: Series, samples: int, max_non_finite: int) -> tuple[list[int], list[tuple]]:
    """The guarantees written as a loop over points: the kept indices and, per non-empty
    bucket, (start step, count, finite min, finite max, non-finite count)."""
    steps, values = series.steps.tolist(), series.values.tolist()
    n = len(steps)
    samples = max(samples, 8)
    width = bucket_width(steps[0], steps[-1], max(samples // 4 - 1, 1))
    origin = steps[0] // width * width
    buckets: dict[int, list[int]] = {}
    for i, s in enumerate(steps):
        buckets.setdefault((s - origin) // width, []).append(i)
    finite = [np.isfinite(v) for v in values]
    grid = []
    for k, idx in buckets.items():
        vals = [values[i] for i in idx if finite[i]]
        grid.append((origin + k * width, len(idx), min(vals) if vals else None, max(vals) if vals else None,
                     sum(not finite[i] for i in idx)))
    if n <= samples:
        return list(range(n)), grid
    keep = {0, n - 1}
    for idx in buckets.values():
        keep.update(i for i in (idx[0], idx[-1]) if finite[i])
        vals = [(values[i], i) for i in idx if finite[i]]
        if vals:
            lo, hi = min(v for v, _ in vals), max(v for v, _ in vals)
            keep.add(next(i for v, i in vals if v == lo))  # the first point reaching each extreme
            keep.add(next(i for v, i in vals if v == hi))
    keep.update([i for i in range(n) if not finite[i]][:max_non_finite])
    return sorted(keep), grid


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, -0.0, 1.0, -2.5, 3.25, 1e300, float("nan"),
                                                              float("inf"), -float("inf")])),
                min_size=1, max_size=400),
       st.sampled_from([2, 8, 10, 40, 100]), st.sampled_from([0, 1, 3, 100]), st.integers(-50, 50))
def test_downsample_equals_a_loop_over_the_points(points, samples, max_non_finite, offset):
    steps = np.cumsum([gap for gap, _ in points]).astype(np.int64) + offset
    values = np.array([v for _, v in points], dtype=np.float64)
    series = Series(steps, values)
    kept, grid = _loop_reference(series, samples, max_non_finite)
    ds = downsample(series, samples, max_non_finite=max_non_finite)
    assert ds.points.steps.tolist() == steps[kept].tolist()
    assert np.array_equal(ds.points.values, values[kept], equal_nan=True)
    b = ds.buckets
    got = [(int(s), int(c), None if np.isnan(lo) else float(lo), None if np.isnan(hi) else float(hi), int(nf))
           for s, c, lo, hi, nf in zip(b.starts, b.counts, b.min, b.max, b.non_finite)]
    assert got == grid


@given(st.lists(st.integers(-(2**62), 2**62), max_size=60))
def test_sorted_unique_is_np_unique(values):
    from runwise_core.analysis.unique import sorted_unique

    a = np.array(values, dtype=np.int64)
    got, want = sorted_unique(a), np.unique(a)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
