"""Views on in-memory runs: each zoom level's facts and its error paths."""

from __future__ import annotations

import numpy as np
import pytest

from runwise_core import views
from runwise_core.errors import KeyNotFound, NoHistory, UsageError
from runwise_core.model import Run, RunState, Series

NOW = 2_000_000_000.0


def make_run(run_id: str = "abc12345", name: str = "baseline", n: int = 1000, **kw) -> Run:
    """A finished run: dense train/loss and train/lr, sparse val/loss every 100 steps."""
    steps = np.arange(n, dtype=np.int64) * 10
    loss = 2.0 * np.exp(-steps / 3000.0) + 0.5
    metrics = {
        "train/loss": Series(steps, loss),
        "train/lr": Series(steps, np.full(n, 1e-3)),
        "val/loss": Series(steps[::10], loss[::10] + 0.1),
    }
    defaults = dict(
        id=run_id, name=name, source="wandb", path=f"/runs/{run_id}", config={"lr": 1e-3, "bs": 32, "_wandb.x": 1},
        exit_code=0, exited=True, last_step=int(steps[-1]), rows=n, runtime_s=3725.0, metrics=metrics,
        summary={"train/loss": float(loss[-1]), "_step": int(steps[-1]), "note": "text", "flag": True},
        group="g1", tags=("sweep", "lr"), notes="first try",
    )
    defaults.update(kw)
    return Run(**defaults)


# -- list / find / best ------------------------------------------------------------------------

def test_list_view_shows_primary_metric_and_limits():
    runs = [make_run("a1", "one"), make_run("b2", "two", exit_code=1)]
    r = views.list_view(runs, limit=1, now=NOW)
    assert r.total == 2 and len(r.rows) == 1
    row = r.rows[0]
    assert (row.id, row.name, row.state, row.last_step, row.metric) == ("a1", "one", RunState.FINISHED, 9990, "train/loss")
    assert row.final == pytest.approx(2.0 * np.exp(-9990 / 3000) + 0.5)
    assert row.trend.arrow == "↓" and len(row.shape) == 10


def test_list_view_filters_by_state():
    runs = [make_run("a1"), make_run("b2", exit_code=1)]
    r = views.list_view(runs, state=RunState.FAILED, now=NOW)
    assert [x.id for x in r.rows] == ["b2"] and r.total == 1


def test_find_matches_name_tag_group_and_notes_case_insensitively():
    runs = [make_run("a1", "Baseline"), make_run("b2", "other", tags=("ablation",), group=None, notes=None)]
    assert [x.id for x in views.find_view(runs, "baseline").rows] == ["a1"]
    assert [x.id for x in views.find_view(runs, "ABLAT").rows] == ["b2"]
    assert [x.id for x in views.find_view(runs, "g1").rows] == ["a1"]
    assert [x.id for x in views.find_view(runs, "first TRY").rows] == ["a1"]
    assert views.find_view(runs, "nothing").rows == ()


def test_best_view_ranks_by_direction_from_role_or_flag():
    good = make_run("good")
    bad = make_run("bad")
    bad.metrics["val/loss"] = Series.from_lists([0, 10], [3.0, 2.0])
    other = make_run("none", metrics={"x": Series.from_lists([0], [1.0])})
    b = views.best_view([bad, good, other], "val/loss")
    assert [r.id for r in b.rows] == ["good", "bad"] and b.without_metric == 1
    assert b.higher_is_better is False and b.direction_from == "role"
    assert b.rows[1].best == 2.0 and b.rows[1].best_step == 10
    assert [r.id for r in views.best_view([bad, good], "val/loss", higher_is_better=True).rows] == ["bad", "good"]


def test_best_view_unknown_metric_names_closest_keys():
    with pytest.raises(KeyNotFound, match="closest keys: val/loss"):
        views.best_view([make_run()], "val/los")


# -- run summary -------------------------------------------------------------------------------

def test_run_view_picks_key_metrics_with_final_best_and_trend():
    s = views.run_view(make_run(), anomalies=False, now=NOW)
    assert [m.key for m in s.metrics] == ["train/loss", "val/loss", "train/lr"]
    loss = s.metrics[0]
    assert loss.best == pytest.approx(loss.final) and loss.best_step == 9990 and loss.higher_is_better is False
    assert s.metrics[2].best is None  # lr has no direction
    assert s.picked and s.other_keys == 0 and not s.anomalies_checked
    assert s.summary == {"train/loss": pytest.approx(loss.final)}  # numbers only, no _keys
    assert "_wandb.x" not in s.config and s.config["lr"] == 1e-3
    assert (s.state, s.exit_code, s.runtime_s) == (RunState.FINISHED, 0, 3725.0)


def test_run_view_with_keys_and_globs():
    s = views.run_view(make_run(), keys=["val/loss", "train/*"], anomalies=False)
    assert [m.key for m in s.metrics] == ["val/loss", "train/loss", "train/lr"]
    assert not s.picked


def test_run_view_runs_the_anomaly_detectors_when_present():
    run = make_run()
    run.metrics["train/loss"].values[500] = np.nan
    s = views.run_view(run)
    if views.summary._anomalies is None:
        pytest.skip("anomaly detectors not installed")
    assert s.anomalies_checked
    assert any(getattr(a, "metric", None) == "train/loss" for a in s.anomalies)


def test_unknown_key_names_the_closest_keys():
    with pytest.raises(KeyNotFound) as err:
        views.run_view(make_run(), keys=["train/los"])
    assert "train/loss" in str(err.value) and "abc12345" in str(err.value)


def test_non_scalar_key_is_named_as_such():
    run = make_run(non_scalar={"samples": "image"})
    with pytest.raises(KeyNotFound, match="is a image, not a scalar"):
        views.history_view(run, ["samples"])


def test_run_without_history_says_why():
    run = make_run(metrics={}, rows=0, exit_code=1, console_tail=["Traceback", "RuntimeError: boom"])
    with pytest.raises(NoHistory) as err:
        views.stats_view(run)
    msg = str(err.value)
    assert "0 history rows" in msg and "exit code 1" in msg and "RuntimeError: boom" in msg
    # the summary itself still works: status and config are worth seeing
    assert views.run_view(run, anomalies=False).metrics == ()


# -- keys ---------------------------------------------------------------------------------------

def test_keys_view_lists_every_key_in_prefix_order_with_counts_and_steps():
    run = make_run(non_scalar={"media/img": "image"})
    k = views.keys_view(run)
    assert [(i.key, i.count, i.first_step, i.last_step) for i in k.keys] == [
        ("train/loss", 1000, 0, 9990), ("train/lr", 1000, 0, 9990), ("val/loss", 100, 0, 9900)]
    assert k.non_scalar == (("media/img", "image"),)
    assert [i.key for i in views.keys_view(run, "val").keys] == ["val/loss"]


# -- history ------------------------------------------------------------------------------------

def test_history_small_enough_is_exact_and_aligns_sparse_keys_by_step():
    run = make_run(n=100)
    h = views.history_view(run, ["train/loss", "val/loss"])
    assert h.exact
    steps = h.union_steps()
    assert steps.size == 100 and steps[0] == 0 and steps[-1] == 990
    assert len(h.keys[1].points) == 10


def test_history_of_a_million_steps_keeps_spike_and_nan_and_real_steps():
    n = 1_000_000
    steps = np.arange(n, dtype=np.int64)
    v = np.full(n, 1.0)
    v[500_123] = 9.5
    v[777_777] = np.nan
    run = make_run(metrics={"loss": Series(steps, v)})
    h = views.history_view(run, ["loss"])
    kh = h.keys[0]
    assert not h.exact and h.samples == 500
    assert kh.stats.max == 9.5 and kh.stats.max_step == 500_123
    assert kh.non_finite.steps.tolist() == [777_777]
    spike_row = int(np.searchsorted(kh.grid.starts, 500_123, side="right") - 1)
    assert kh.grid.max[spike_row] == 9.5
    assert len(kh.grid.starts) <= 250


def test_history_samples_are_capped_and_validated():
    run = make_run()
    assert views.history_view(run, ["train/loss"], samples=5000).samples == 1000
    with pytest.raises(UsageError):
        views.history_view(run, ["train/loss"], samples=1)
    assert views.history_view(run, ["train/loss"], samples=2).samples == 2


def test_history_step_range_and_empty_range():
    run = make_run()
    h = views.history_view(run, ["train/loss"], step_range=(100, 200))
    assert h.keys[0].stats.first_step == 100 and h.keys[0].stats.last_step == 200
    with pytest.raises(UsageError, match="no points"):
        views.history_view(run, ["train/loss"], step_range=(10**9, None))


def test_history_default_keys_are_the_losses():
    assert [k.key for k in views.history_view(make_run()).keys] == ["train/loss", "val/loss"]


# -- stats / stability ---------------------------------------------------------------------------

def test_stats_view_is_exact():
    t = views.stats_view(make_run(), ["val/loss"])
    (key, st), = t.rows
    assert key == "val/loss" and st.count == 100 and st.max_step == 0


def test_stability_view_rows():
    t = views.stability_view(make_run(), ["train/loss"])
    assert t.rows[0][1].slope_per_1k < 0


# -- compare -------------------------------------------------------------------------------------

def test_compare_final_values_delta_and_percent():
    a = make_run("a1")
    b = make_run("b2")
    b.metrics["train/loss"] = Series(a.metrics["train/loss"].steps, a.metrics["train/loss"].values * 2)
    c = views.compare_view(a, b)
    row = next(r for r in c.rows if r.key == "train/loss")
    assert row.b == pytest.approx(2 * row.a) and row.pct == pytest.approx(100.0) and row.better == "a"
    assert c.config_diff is None


def test_compare_at_step_uses_exact_or_nearest_and_says_which():
    a, b = make_run("a1"), make_run("b2")
    c = views.compare_view(a, b, step_a=500, step_b=505)
    row = next(r for r in c.rows if r.key == "val/loss")
    assert (row.a_step, row.a_exact) == (500, True)
    assert (row.b_step, row.b_exact) == (500, False)


def test_compare_filter_threshold_group_and_config_diff():
    a, b = make_run("a1"), make_run("b2", config={"lr": 3e-4, "bs": 32})
    b.metrics["val/loss"] = Series(a.metrics["val/loss"].steps, a.metrics["val/loss"].values * 1.5)
    b.metrics["extra"] = Series.from_lists([0], [1.0])
    c = views.compare_view(a, b, filter="LOSS", threshold_pct=5, group=True, config=True)
    assert [r.key for r in c.rows] == ["val/loss"] and c.hidden_below_threshold == 1
    assert {d.key for d in c.config_diff} == {"lr"}
    assert views.compare_view(a, b).only_b == ("extra",)


def test_compare_unknown_key_in_both_runs_raises():
    with pytest.raises(KeyNotFound):
        views.compare_view(make_run("a1"), make_run("b2"), keys=["nope"])


# -- live / config --------------------------------------------------------------------------------

def test_live_view_rate_and_eta_from_timestamps():
    run = make_run(exited=False, exit_code=None, total_steps=20_000, last_activity=NOW - 5,
                   timestamps=Series(np.arange(0, 10_000, 10, dtype=np.int64), NOW - 5 - (9990 - np.arange(0, 10_000, 10)) / 100.0),
                   console_tail=["", "step 9990 loss 0.6"])
    v = views.live_view(run, now=NOW)
    assert v.is_running and v.state is RunState.RUNNING
    assert v.rate == pytest.approx(100.0)
    assert v.eta_s == pytest.approx((20_000 - 9990) / 100.0)
    assert v.console == ("step 9990 loss 0.6",)
    assert v.seconds_since_activity == pytest.approx(5.0)


def test_config_view_hides_wandb_bookkeeping_and_filters():
    c = views.config_view(make_run(), filter="L")
    assert c.items == (("lr", 1e-3),) and c.hidden_internal == 1
