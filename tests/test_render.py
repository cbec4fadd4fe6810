"""Renderers: exact text, markdown tables, the JSON contract. Built from view results only."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_views import NOW, make_run

from runwise_core import views
from runwise_core.errors import UsageError
from runwise_core.model import Series
from runwise_core.render import render
from runwise_core.render.sparkline import COMPACT_BLOCKS, sparkline


def test_sparkline_scales_between_min_and_max_and_marks_non_finite():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, float("nan"), 3.0]) == "▁×█"
    assert sparkline([2.0, 2.0]) == "▁▁"
    assert sparkline([]) == ""
    assert sparkline([0, 1, 2], COMPACT_BLOCKS) == "_▄█"


def test_list_text_is_aligned_with_title_in_the_last_header_cell():
    r = views.list_view([make_run("a1", "one"), make_run("b2", "two", exit_code=1)], now=NOW)
    assert render(r) == (
        "id state    step train/loss trend name (2 runs, newest first)\n"
        "a1 finished 9990     0.5716 █▄__↓ one\n"
        "b2 failed   9990     0.5716 █▄__↓ two\n"
    )


def test_list_md_is_a_table_and_json_has_the_contract_fields():
    r = views.list_view([make_run("a1", "one")], now=NOW)
    md = render(r, "md")
    assert md.splitlines()[0] == "| id | state | step | train/loss | trend | name (1 run, newest first) |"
    assert md.splitlines()[1] == "|---|---|---:|---:|---|---|"
    data = json.loads(render(r, "json"))
    run = data["runs"][0]
    assert {"id", "name", "state", "last_step", "metric", "final", "trend", "sparkline"} <= set(run)
    assert (run["id"], run["state"], run["last_step"], run["trend"]) == ("a1", "finished", 9990, "down")


def test_empty_list_says_where_to_look():
    assert "--dir" in render(views.list_view([], now=NOW))


def test_run_summary_text():
    s = views.run_view(make_run(), anomalies=False, now=NOW)
    assert render(s) == (
        "run abc12345 baseline · finished · step 9,990 · 1h02m · exit 0 · group g1 · tags sweep,lr\n"
        "key metrics\n"
        "  key         final   best@step trend\n"
        "  train/loss 0.5716 0.5716@9990 █▆▄▃▂▂▁▁▁▁↓\n"
        "  val/loss   0.6738 0.6738@9900 █▆▄▃▂▂▁▁▁▁↓\n"
        "  train/lr    0.001           - ▁▁▁▁▁▁▁▁▁▁→\n"
    )


class _Finding:
    kind = "spike"
    metric = "train/loss"
    step = 500
    message = "train/loss spiked to 9.5 at step 500"


def test_anomalies_are_listed_with_kind_and_message():
    s = views.run_view(make_run(), anomalies=False, now=NOW)
    s = views.RunSummary(**{**s.__dict__, "anomalies": (_Finding(),), "anomalies_checked": True})
    text = render(s)
    assert "anomalies (1):\n  spike train/loss spiked to 9.5 at step 500\n" in text
    data = json.loads(render(s, "json"))
    assert data["anomalies"] == [{"kind": "spike", "metric": "train/loss", "step": 500,
                                  "message": "train/loss spiked to 9.5 at step 500"}]


def test_run_summary_json_contract_and_nan_as_string():
    run = make_run()
    run.metrics["train/loss"] = Series(run.metrics["train/loss"].steps,
                                       np.r_[run.metrics["train/loss"].values[:-1], np.nan])
    run.summary["train/loss"] = float("nan")
    data = json.loads(render(views.run_view(run, anomalies=False, now=NOW), "json"))
    assert {"id", "name", "state", "last_step", "exit_code", "runtime_s", "config", "summary", "anomalies",
            "metrics"} <= set(data)
    assert data["summary"]["train/loss"] == "NaN"
    assert data["metrics"][0]["final"] == "NaN"
    assert data["config"] == {"lr": 0.001, "bs": 32}


def test_no_history_summary_says_so():
    run = make_run(metrics={}, rows=0, exit_code=1, last_step=None)
    text = render(views.run_view(run, anomalies=False, now=NOW))
    assert "no metric history (0 rows logged; exit 1)" in text


def test_keys_text_and_json():
    k = views.keys_view(make_run(non_scalar={"media/img": "image"}))
    assert render(k) == (
        "keys of abc12345 baseline: 3 scalar, 1 non-scalar (1,000 rows)\n"
        "key        points  steps\n"
        "train/loss   1000 0-9990\n"
        "train/lr     1000 0-9990\n"
        "val/loss      100 0-9900\n"
        "non-scalar: media/img (image)\n"
    )
    data = json.loads(render(k, "json"))
    assert data["keys"][2] == {"key": "val/loss", "count": 100, "first_step": 0, "last_step": 9900, "non_finite": 0}
    assert data["non_scalar"] == [{"key": "media/img", "kind": "image"}]


def test_stats_text_and_json():
    run = make_run(metrics={"loss": Series.from_lists([0, 10, 20], [3.0, np.nan, 1.0])})
    t = views.stats_view(run, ["loss"])
    assert render(t) == (
        "stats of abc12345 baseline (exact, all points)\n"
        "key  n min@step max@step mean final nan/inf\n"
        "loss 3     1@20      3@0    2     1     1/0\n"
    )
    data = json.loads(render(t, "json"))
    assert data["stats"]["loss"] == {"count": 3, "min": 1.0, "min_step": 20, "max": 3.0, "max_step": 0,
                                     "mean": 2.0, "std": 1.0, "final": 1.0, "final_step": 20, "first_step": 0,
                                     "last_step": 20, "nan": 1, "inf": 0}


def test_stats_without_non_finite_drops_the_column_and_says_so():
    text = render(views.stats_view(make_run(), ["val/loss"]))
    assert "no NaN/Inf" in text.splitlines()[0] and "nan/inf" not in text


def test_history_exact_csv_with_sparse_key_blank():
    run = make_run(metrics={"a": Series.from_lists([0, 5, 10], [1.0, 2.0, 3.0]),
                            "b": Series.from_lists([5], [0.5])})
    text = render(views.history_view(run, ["a", "b"]))
    assert text.endswith("step,a,b\n0,1,\n5,2,0.5\n10,3,\n")
    data = json.loads(render(views.history_view(run, ["a", "b"]), "json"))
    assert data["history"]["b"] == {"total": 1, "steps": [5], "values": [0.5]}


def test_history_grid_shows_bucket_min_max_and_nan_counts_and_lists_nan_with_step():
    n = 1_000_000
    v = np.full(n, 1.0)
    v[500_123] = 9.5
    v[777_777] = np.nan
    run = make_run(metrics={"loss": Series(np.arange(n, dtype=np.int64), v)})
    text = render(views.history_view(run, ["loss"]))
    lines = text.splitlines()
    assert "rows of 5,000 steps" in lines[0]
    assert "max 9.5@500123" in lines[1]
    assert lines[2] == "non-finite loss: 1 point: NaN@777777"
    assert lines[3] == "step,loss.min,loss.max,loss.nan"
    assert "500000,1,9.5," in lines  # the spike's bucket: max 9.5, no NaN
    assert "775000,1,1,1" in lines  # the NaN's bucket: one non-finite point
    assert len(lines) == 4 + 200


def test_compare_text_with_steps_and_config_diff():
    a, b = make_run("a1", "one"), make_run("b2", "two", config={"lr": 3e-4, "bs": 32, "new": 1})
    c = views.compare_view(a, b, step_a=500, step_b=505, keys=["val/loss"], config=True, now=NOW)
    assert render(c) == (
        "compare A=a1 one@500 vs B=b2 two@505\n"
        "values at the asked step; value@step where the nearest logged step stood in\n"
        "key          A         B Δ  %\n"
        "val/loss 2.293 2.293@500 0 0%\n"
        "config differences (2):\n"
        "  config A         B\n"
        "  lr     0.001     0.0003\n"
        "  new    (missing) 1\n"
    )
    data = json.loads(render(c, "json"))
    assert data["metrics"][0] == {"key": "val/loss", "a": pytest.approx(2.293, abs=1e-3), "b": pytest.approx(2.293, abs=1e-3),
                                  "delta": 0.0, "pct": 0.0, "a_step": 500, "b_step": 500, "a_exact": True,
                                  "b_exact": False, "better": "=", "group": "val"}
    assert data["config_diff"]["new"] == {"a": None, "b": 1, "in_a": False, "in_b": True}
    assert data["a"]["id"] == "a1" and data["b"]["id"] == "b2"


def test_compare_grouped_has_one_table_per_prefix():
    text = render(views.compare_view(make_run("a1"), make_run("b2"), group=True, now=NOW))
    assert "\ntrain:\n" in text and "\nval:\n" in text


def test_config_best_live_stability_render_in_every_format():
    run = make_run()
    results = [views.config_view(run), views.best_view([run], "val/loss"), views.live_view(run, now=NOW),
               views.stability_view(run), views.find_view([run], "base")]
    for r in results:
        for fmt in ("text", "md", "json"):
            out = render(r, fmt)
            assert out.endswith("\n") and out.strip()
        json.loads(render(r, "json"))


def test_percent_of_a_loss_is_never_printed_as_a_loss_value():
    s = render(views.run_view(make_run(), anomalies=False, now=NOW))
    assert "%" not in s


def test_unknown_format_and_bad_budget_are_usage_errors():
    r = views.keys_view(make_run())
    with pytest.raises(UsageError):
        render(r, "html")
    with pytest.raises(UsageError):
        render(r, "text", max_tokens=0)


def test_a_long_list_of_anomalies_shows_five_and_says_how_to_get_the_rest():
    s = views.run_view(make_run(), anomalies=False, now=NOW)
    s = views.RunSummary(**{**s.__dict__, "anomalies": (_Finding(),) * 7, "anomalies_checked": True})
    lines = render(s).splitlines()
    assert lines[1] == "anomalies (7):"
    assert sum(1 for line in lines if line.startswith("  spike ")) == 5
    assert lines[7] == "  … 2 more (spike): runwise run abc12345 --format json lists all"
    assert len(json.loads(render(s, "json"))["anomalies"]) == 7


def test_list_names_each_runs_source_only_when_sources_are_mixed():
    wandb_only = views.list_view([make_run("aaa11111"), make_run("bbb22222")], now=NOW)
    assert render(wandb_only, "text").splitlines()[0].split()[:3] == ["id", "state", "step"]
    mixed = views.list_view([make_run("aaa11111"), make_run("log-1a2b3c", source="jsonl")], now=NOW)
    lines = render(mixed, "text").splitlines()
    assert lines[0].split()[:4] == ["id", "state", "source", "step"]
    assert lines[1].split()[:4] == ["aaa11111", "finished", "wandb", "9990"]
    assert lines[2].split()[:4] == ["log-1a2b3c", "finished", "jsonl", "9990"]
    md = render(mixed, "md").splitlines()
    assert md[0].startswith("| id | state | source | step |")
    assert md[3].startswith("| log-1a2b3c | finished | jsonl | 9990 |")
