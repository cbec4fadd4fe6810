"""Exact per-key statistics."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.stats import best_value, series_stats
from runwise_core.model import Series


def test_stats_are_exact_over_every_point_with_steps_of_extremes():
    s = Series.from_lists([0, 10, 20, 30, 40], [3.0, 1.0, 5.0, 1.0, 2.0])
    st = series_stats(s)
    assert (st.count, st.first_step, st.last_step) == (5, 0, 40)
    assert (st.min, st.min_step) == (1.0, 10)  # the first step reaching the minimum
    assert (st.max, st.max_step) == (5.0, 20)
    assert st.mean == 2.4
    assert (st.final, st.final_step) == (2.0, 40)
    assert (st.nan, st.inf) == (0, 0)


def test_nan_and_inf_are_counted_and_left_out_of_min_max_mean():
    s = Series.from_lists([1, 2, 3, 4, 5], [1.0, np.nan, np.inf, -np.inf, 3.0])
    st = series_stats(s)
    assert (st.nan, st.inf, st.non_finite) == (1, 2, 3)
    assert (st.min, st.max, st.mean) == (1.0, 3.0, 2.0)


def test_a_run_that_ends_in_nan_has_a_nan_final():
    st = series_stats(Series.from_lists([1, 2], [1.0, np.nan]))
    assert np.isnan(st.final)


def test_all_non_finite_series_has_no_min_max_mean():
    st = series_stats(Series.from_lists([1, 2], [np.nan, np.inf]))
    assert st.min is None and st.max is None and st.mean is None and st.min_step is None


def test_empty_series():
    st = series_stats(Series.from_lists([], []))
    assert st.count == 0 and st.final is None and st.first_step is None


def test_best_value_follows_direction():
    st = series_stats(Series.from_lists([0, 1, 2], [0.5, 0.9, 0.7]))
    assert best_value(st, True) == (0.9, 1)
    assert best_value(st, False) == (0.5, 0)
