"""Trend arrows, sparkline profiles and key picking by role."""

from __future__ import annotations

import numpy as np

from runwise_core.analysis.keypick import pick_keys, primary_key
from runwise_core.analysis.trend import Trend, profile, trend_of
from runwise_core.model import Series


def _s(values) -> Series:
    return Series(np.arange(len(values), dtype=np.int64), np.asarray(values, dtype=np.float64))


def test_trend_of_a_falling_loss_is_down_even_with_a_spike():
    v = list(np.linspace(3, 1, 200))
    v[100] = 50.0
    assert trend_of(_s(v)) is Trend.DOWN
    assert Trend.DOWN.arrow == "↓"


def test_trend_up_flat_and_noisy():
    assert trend_of(_s(np.linspace(0, 1, 100))) is Trend.UP
    assert trend_of(_s([2.0] * 50)) is Trend.FLAT
    rng = np.random.default_rng(0)
    assert trend_of(_s(rng.standard_normal(500) + np.linspace(0, 0.3, 500))) is Trend.NOISY


def test_trend_of_one_point_is_flat():
    assert trend_of(_s([1.0])) is Trend.FLAT


def test_profile_averages_equal_slices_and_marks_all_nan_slices():
    v = [1.0, 3.0, np.nan, np.nan, 5.0, 7.0]
    assert profile(_s(v), 3)[0] == 2.0 and np.isnan(profile(_s(v), 3)[1]) and profile(_s(v), 3)[2] == 6.0
    assert profile(_s([1.0, 2.0]), 10) == (1.0, 2.0)


def test_pick_keys_orders_by_role_and_skips_internal_keys():
    m = {k: _s([1.0, 2.0]) for k in ["_runtime", "val/acc", "train/lr", "train/loss", "val/loss", "epoch",
                                        "train/grad_norm", "perf/samples_per_sec", "train/acc"]}
    assert pick_keys(m) == ["train/loss", "val/loss", "val/acc", "train/acc", "train/lr", "train/grad_norm",
                            "perf/samples_per_sec"]


def test_pick_keys_without_known_roles_falls_back_to_densest_keys():
    m = {"a": _s([1.0] * 3), "b": _s([1.0] * 9), "c": _s([1.0])}
    assert pick_keys(m) == ["b", "a", "c"]


def test_primary_key_prefers_the_training_loss():
    m = {"val_loss": _s([1.0]), "loss": _s([1.0, 2.0]), "acc": _s([1.0])}
    assert primary_key(m) == "loss"
    assert primary_key({"acc": _s([1.0])}) == "acc"
    assert primary_key({}) is None


def _trend_with_numpy(series: Series) -> Trend:
    """The trend rule written with np.percentile and np.median on the points as logged."""
    y = series.values[np.isfinite(series.values)]
    n = y.size
    if n < 2:
        return Trend.FLAT
    lo, hi = np.percentile(y, [5, 95]) if n >= 20 else (y.min(), y.max())
    spread = float(hi - lo)
    if spread <= 0:
        return Trend.FLAT
    k = max(n // 5, 1)
    change = float(np.median(y[-k:]) - np.median(y[:k]))
    if n >= 10:
        d = np.diff(y)
        noise = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
        if abs(change) < 2.0 * noise:
            return Trend.NOISY if noise > 0.1 * spread else Trend.FLAT
    if abs(change) < 0.1 * spread:
        return Trend.FLAT
    return Trend.DOWN if change < 0 else Trend.UP


def test_trend_is_the_numpy_rule_on_every_kind_of_curve():
    rng = np.random.default_rng(3)
    for n in (2, 19, 20, 300, 5_001, 200_000):
        t = np.linspace(0, 1, n)
        curves = [np.exp(-5 * t), 1e-3 * 0.5 * (1 + np.cos(np.pi * t)), np.cos(np.pi * t) ** 2,
                  rng.standard_normal(n), np.round(rng.standard_normal(n)), rng.choice([0.0, -0.0, 1.0], n),
                  rng.choice([0.0, -0.0], n), np.full(n, 2.0), t + 0.01 * rng.standard_normal(n)]
        for y in curves:
            y = y.copy()
            if n > 100:
                y[rng.integers(0, n, 3)] = [np.nan, np.inf, 50.0]
            s = Series(np.arange(n, dtype=np.int64), y)
            assert trend_of(s) is _trend_with_numpy(s)
