"""The W&B cloud mapping without a server: states, history rows, config and summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runwise_core.cloud_catalog import _keyed, parse_cloud_selector, parse_project
from runwise_core.errors import UsageError
from runwise_core.model import DEFAULT_LIVE_WINDOW_S, RunState, Series
from runwise_core.sources.wandb_cloud import CloudRunInfo, HistoryBuilder, build_run, state_facts
from runwise_core.sources.wandb_time import parse_time

NOW = 1_800_000_000.0


def info(state: str, heartbeat_age: float | None = 3000.0, **kw) -> CloudRunInfo:
    base = dict(entity="ent", project="proj", id="abc123", name="nice-run", state=state,
                created_at=NOW - 10_000, heartbeat_at=None if heartbeat_age is None else NOW - heartbeat_age,
                url="https://wandb.ai/ent/proj/runs/abc123")
    base.update(kw)
    return CloudRunInfo(**base)


@pytest.mark.parametrize("server, age, expected", [
    ("finished", 3000, RunState.FINISHED),
    ("finished", 5, RunState.FINISHED),
    ("failed", 3000, RunState.FAILED),
    ("killed", 3000, RunState.FAILED),
    ("crashed", 3000, RunState.CRASHED),
    ("crashed", 30, RunState.CRASHED),  # the server's verdict stands even with a recent heartbeat
    ("preempted", 30, RunState.CRASHED),
    ("running", 10, RunState.RUNNING),
    ("preempting", 10, RunState.RUNNING),
    ("running", 3600, RunState.CRASHED),  # no heartbeat for an hour: runwise's rule, as for local runs
    ("pending", 10, RunState.UNKNOWN),
    ("Finished", 10, RunState.FINISHED),  # case does not matter
    ("something-new", 10, RunState.UNKNOWN),
])
def test_server_state_maps_to_the_same_state_names_as_local_runs(server: str, age: float, expected: RunState) -> None:
    run = build_run(info(server, age), HistoryBuilder(), fetched_at=NOW)
    assert run.state(now=NOW) is expected


def test_exit_facts_follow_the_documented_table() -> None:
    assert state_facts("finished", NOW - 50, NOW - 100, NOW) == state_facts("finished", NOW - 50, None, NOW)
    fin = state_facts("finished", NOW - 50, NOW - 100, NOW)
    assert (fin.exited, fin.exit_code, fin.last_activity) == (True, 0, NOW - 50)
    failed = state_facts("failed", NOW - 50, NOW - 100, NOW)
    assert (failed.exited, failed.exit_code, failed.note) == (True, None, None)
    killed = state_facts("killed", NOW - 50, NOW - 100, NOW)
    assert (killed.exited, killed.exit_code) == (True, None) and "killed" in killed.note
    running = state_facts("running", NOW - 50, NOW - 100, NOW)
    assert (running.exited, running.last_activity, running.records_exits) == (False, NOW - 50, True)
    old_crash = state_facts("crashed", NOW - 4000, NOW - 5000, NOW)
    assert (old_crash.last_activity, old_crash.note) == (NOW - 4000, None)
    new_crash = state_facts("crashed", NOW - 30, NOW - 5000, NOW)
    assert new_crash.last_activity == NOW - DEFAULT_LIVE_WINDOW_S - 1.0
    assert new_crash.note == "W&B state crashed; last heartbeat 2027-01-15 07:59:30 UTC"
    pending = state_facts("pending", NOW - 30, NOW - 50, NOW)
    assert (pending.records_exits, pending.last_activity) == (False, None)
    assert pending.note == "W&B state pending: the run has not started"
    assert state_facts("queued", NOW, NOW, NOW).note == "W&B state queued: not one runwise knows"


def test_running_without_heartbeat_falls_back_to_creation_time() -> None:
    facts = state_facts("running", None, NOW - 20, NOW)
    assert facts.last_activity == NOW - 20


def test_history_rows_become_series_with_nulls_skipped_and_nan_kept() -> None:
    b = HistoryBuilder()
    b.add_rows([
        {"_step": 0, "_runtime": 0.5, "_timestamp": NOW, "loss": 2.0, "val_loss": None, "grad": {"norm": 1.5},
         "_wandb": {"runtime": 1}},
        {"_step": 10, "_timestamp": NOW + 1, "loss": float("nan"), "val_loss": 2.5, "flag": True},
        {"_step": 20, "loss": float("inf"), "img": {"_type": "image-file", "path": "x.png"}, "comment": "hi",
         "epoch": 1},
    ])
    metrics = b.metrics()
    assert sorted(metrics) == ["epoch", "grad.norm", "loss", "val_loss"]
    assert metrics["loss"].steps.tolist() == [0, 10, 20]
    assert metrics["loss"].values[0] == 2.0 and math.isnan(metrics["loss"].values[1])
    assert metrics["loss"].values[2] == math.inf
    assert metrics["val_loss"].steps.tolist() == [10] and metrics["val_loss"].values.tolist() == [2.5]
    assert metrics["grad.norm"].values.tolist() == [1.5]
    assert b.non_scalar == {"flag": "bool", "img": "image", "comment": "string"}
    stamps = b.timestamps()
    assert stamps is not None and stamps.steps.tolist() == [0, 10] and stamps.values.tolist() == [NOW, NOW + 1]
    assert b.rows == 3


def test_config_is_flattened_without_wandb_and_summary_kept_apart() -> None:
    run_info = info("finished", config={"lr": 0.01, "model": {"layers": 4}, "_wandb": {"cli_version": "0.31"}},
                    summary={"loss": 0.1, "best": {"acc": 0.9}, "_wandb": {"runtime": 12}, "_step": 99},
                    tags=("a", "b"), group="g", notes="n", history_lines=100, last_step=99,
                    history_keys={"loss": {"typeCounts": [{"type": "number", "count": 100}]},
                                  "samples": {"typeCounts": [{"type": "table-file", "count": 2}]},
                                  "note": {"typeCounts": [{"type": "string", "count": 1}]},
                                  "_step": {"typeCounts": [{"type": "number", "count": 100}]}})
    b = HistoryBuilder()
    b.add_rows({"_step": s, "loss": 1.0 / (s + 1)} for s in range(0, 100, 10))
    run = build_run(run_info, b, fetched_at=NOW)
    assert run.config == {"lr": 0.01, "model.layers": 4}
    assert run.summary == {"loss": 0.1, "best.acc": 0.9, "_step": 99}
    assert run.metrics["loss"].final == pytest.approx(1.0 / 91)
    assert run.non_scalar == {"samples": "table", "note": "string"}
    assert (run.source, run.path, run.project, run.group, run.tags, run.notes) == (
        "wandb-cloud", "https://wandb.ai/ent/proj/runs/abc123", "proj", "g", ("a", "b"), "n")
    assert (run.rows, run.last_step, run.start_time) == (100, 99, NOW - 10_000)
    assert run.runtime_s == 12.0  # the summary's own runtime, before heartbeat - creation


def test_parse_time_reads_naive_utc_and_zoned_times() -> None:
    assert parse_time("2027-01-15T08:00:00") == 1_800_000_000.0
    assert parse_time("2027-01-15T08:00:00Z") == 1_800_000_000.0
    assert parse_time("2027-01-15T09:00:00+01:00") == 1_800_000_000.0
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_project_and_cloud_selectors_parse() -> None:
    assert parse_project("my-team/my.project") == ("my-team", "my.project")
    assert parse_project("solo") == (None, "solo")
    with pytest.raises(UsageError, match="expected ENTITY/PROJECT"):
        parse_project("a/b/c")
    assert parse_cloud_selector("ent/proj/abc123") == ("ent/proj", "abc123")
    assert parse_cloud_selector("https://wandb.ai/ent/proj/runs/abc123?nw=1") == ("ent/proj", "abc123")
    assert parse_cloud_selector("abc123") is None
    assert parse_cloud_selector("latest") is None


def test_sparse_keys_are_fetched_alone_thinnest_first_within_the_cap() -> None:
    def s(n: int) -> Series:
        return Series(np.arange(n, dtype=np.int64), np.zeros(n))

    counts = {"loss": 3000, "val_loss": 30, "rare": 5, "lr": 3000}
    metrics = {"loss": s(1000), "val_loss": s(10), "lr": s(1000)}  # "rare" missed entirely
    chosen, left = _keyed(["lr"], counts, metrics, samples=1000)
    assert chosen == ["lr", "rare", "val_loss"]
    assert left == []
