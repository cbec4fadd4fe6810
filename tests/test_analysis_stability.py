"""Rolling std, Theil-Sen slope and the stability verdict."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.stability import (
    THEIL_SEN_MAX_POINTS,
    Status,
    rolling_std,
    stability_of,
    theil_sen_slope,
)
from runwise_core.model import Series


def test_rolling_std_matches_the_naive_computation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200) * 5 + 1000
    fast = rolling_std(x, 17)
    naive = np.array([x[i : i + 17].std() for i in range(200 - 16)])
    assert fast.shape == naive.shape
    assert np.allclose(fast, naive, rtol=1e-9, atol=1e-9)


def test_theil_sen_recovers_a_line_despite_outliers():
    steps = np.arange(0, 10_000, 10)
    values = 2.0 - 0.0005 * steps
    values[::37] += 50  # outliers a least-squares fit would follow
    assert abs(theil_sen_slope(steps, values) - (-0.0005)) < 1e-12


def test_theil_sen_uses_a_bounded_sample_on_long_series():
    steps = np.arange(1_000_000)
    slope = theil_sen_slope(steps, 3.0 * steps, max_points=THEIL_SEN_MAX_POINTS)
    assert slope == 3.0


def test_smooth_series_is_stable_and_reports_slope_per_1k_steps():
    steps = np.arange(0, 5000, 5)
    s = Series(steps.astype(np.int64), 10.0 - 0.001 * steps)
    r = stability_of(s)
    assert r.status is Status.STABLE
    assert abs(r.slope_per_1k - (-1.0)) < 1e-9
    assert abs(r.recent_slope_per_1k - (-1.0)) < 1e-9


def test_noise_larger_than_the_level_is_noisy():
    rng = np.random.default_rng(1)
    s = Series(np.arange(1000, dtype=np.int64), 1.0 + rng.standard_normal(1000))
    assert stability_of(s).status is Status.NOISY


def test_moderate_noise_is_moderate():
    rng = np.random.default_rng(2)
    s = Series(np.arange(1000, dtype=np.int64), 1.0 + 0.1 * rng.standard_normal(1000))
    assert stability_of(s).status is Status.MODERATE


def test_fewer_than_ten_points_is_too_short():
    s = Series.from_lists(range(5), [1, 2, 3, 4, 5])
    r = stability_of(s)
    assert r.status is Status.TOO_SHORT and r.rolling_std_median is None
    assert r.slope_per_1k == 1000.0


def test_non_finite_points_are_ignored():
    v = np.linspace(1, 0, 100)
    v[50] = np.nan
    r = stability_of(Series(np.arange(100, dtype=np.int64), v))
    assert r.count == 99
