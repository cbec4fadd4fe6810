"""Values at a step, deltas and config differences."""

from __future__ import annotations

import math

from runwise_core.analysis.compare import MISSING, config_diff, delta_pct, group_of, value_at
from runwise_core.model import Series

S = Series.from_lists([0, 100, 200, 300], [4.0, 3.0, 2.0, 1.0])


def test_value_at_an_exact_step():
    at = value_at(S, 200)
    assert (at.value, at.step, at.exact) == (2.0, 200, True)


def test_value_at_a_missing_step_takes_the_nearest_and_says_which():
    at = value_at(S, 180)
    assert (at.value, at.step, at.exact) == (2.0, 200, False)
    assert value_at(S, 10_000).step == 300
    assert value_at(S, -5).step == 0


def test_value_at_a_tie_takes_the_earlier_step():
    assert value_at(S, 150).step == 100


def test_value_at_an_empty_series_is_none():
    assert value_at(Series.from_lists([], []), 5) is None


def test_delta_and_percent():
    assert delta_pct(2.0, 3.0) == (1.0, 50.0)
    assert delta_pct(-2.0, -1.0) == (1.0, 50.0)
    assert delta_pct(0.0, 1.0) == (1.0, None)
    assert delta_pct(None, 1.0) == (None, None)
    assert delta_pct(math.nan, 1.0) == (None, None)


def test_config_diff_lists_changed_and_one_sided_keys_without_wandb_bookkeeping():
    a = {"lr": 0.001, "bs": 64, "opt": "adam", "_wandb.t": 1, "only_a": True, "same": 1}
    b = {"lr": 0.0003, "bs": 64.0, "opt": "adam", "_wandb.t": 2, "only_b": [1, 2], "same": True}
    diff = {d.key: (d.a, d.b) for d in config_diff(a, b)}
    assert diff == {"lr": (0.001, 0.0003), "only_a": (True, MISSING), "only_b": (MISSING, [1, 2]),
                    "same": (1, True)}


def test_group_of_uses_the_first_prefix():
    assert group_of("train/loss") == "train"
    assert group_of("val.acc") == "val"
    assert group_of("loss") == ""
