"""CloudCatalog against a fake W&B server on 127.0.0.1, through the real wandb client.

The fake (``tests/cloud_fake.py``) answers the GraphQL operations the installed wandb sends;
every value asserted here is what the fake served, or computed from the rows it holds.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from cloud_fake import (
    EXPORTED_ROWS,
    FakeRun,
    FakeWandb,
    curve_rows,
    exported_history,
    exported_run,
    offline_env,
    sample_rows,
    standard_project,
)
from runwise_core import views
from runwise_core.catalog import Catalog
from runwise_core.cloud_catalog import CloudCatalog
from runwise_core.errors import RunNotFound
from runwise_core.model import RunState

NOW = time.time()


@pytest.fixture(scope="module")
def project() -> list[FakeRun]:
    return standard_project(NOW)


@pytest.fixture()
def fake(project: list[FakeRun], monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    with FakeWandb({"ent/proj": project, "ent/other": [exported_run()]}) as server:
        offline_env(monkeypatch, tmp_path_factory.getbasetemp() / "wandb-state", server.base_url)
        yield server


def rows_of(project: list[FakeRun], run_id: str) -> list[dict]:
    return next(r for r in project if r.id == run_id).history


def test_runs_are_listed_newest_first_over_several_pages(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj", page_size=4)
    refs = cat.refs()
    newest_first = sorted(project, key=lambda r: -r.created_at)
    assert [r.id for r in refs] == [r.id for r in newest_first]
    assert [r.name_hint for r in refs] == [f"{r.id}-name" for r in newest_first]
    assert [r.sort_time for r in refs] == [float(int(r.created_at)) for r in newest_first]
    assert {r.source for r in refs} == {"wandb-cloud"} and {r.paths for r in refs} == {()}
    runs_requests = [r for r in fake.requests if r["operation"] == "Runs"]
    assert len(runs_requests) == 3  # 9 runs, 4 per page
    assert [r["variables"].get("cursor") for r in runs_requests][0] is None
    assert {r["variables"]["order"] for r in runs_requests} == {"-created_at"}
    assert {r["variables"]["perPage"] for r in runs_requests} == {4}
    assert cat.notes == []


def test_listing_stops_at_max_runs_and_says_so(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj", page_size=2, max_runs=3)
    assert [r.id for r in cat.refs()] == ["stale", "live", "pending1"]
    assert cat.notes == ["ent/proj has 9 runs; the newest 3 are listed (older ones are found by id)"]
    # An id beyond the listed runs is still found on the server.
    assert cat.select("long").id == "long"


def test_states_match_the_server_states_by_runwise_names(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    states = {ref.id: cat.load(ref).state().value for ref in cat.refs()}
    assert states == {"long": "finished", "failed1": "failed", "crashold": "crashed", "crashnew": "crashed",
                      "killed1": "failed", "preempt1": "crashed", "pending1": "unknown", "live": "running",
                      "stale": "crashed"}


def test_run_summary_config_and_metadata_come_from_the_server(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj")
    run = cat.load(cat.select("failed1"))
    fake_run = next(r for r in project if r.id == "failed1")
    assert (run.id, run.name, run.source, run.project, run.group) == ("failed1", "failed1-name", "wandb-cloud", "proj",
                                                                      "sweep-a")
    assert run.tags == ("cloud", "failed1") and run.notes == "notes of failed1"
    assert run.config == {"lr": 0.001, "model.layers": 4, "model.width": 128, "max_steps": 3000, "optimizer": "adam"}
    assert run.summary == {"loss": 0.25, "_step": 39, "_runtime": 321.5, "_timestamp": fake_run.created_at + 40,
                           "best.val_loss": 0.3}
    assert run.start_time == float(int(fake_run.created_at))  # W&B times have whole seconds
    assert (run.exited, run.exit_code) == (True, None)
    assert (run.rows, run.last_step, run.total_steps, run.runtime_s) == (40, 39, 3000, 321.5)
    assert run.path == f"{fake.base_url}/ent/proj/runs/failed1"
    assert run.read_notes == []  # 40 rows: nothing was sampled away
    assert run.non_scalar == {"samples": "table"}


def test_keys_view_lists_every_key_with_counts_of_a_complete_history(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    result = views.keys_view(cat.load(cat.select("live")))
    assert [(k.key, k.count, k.first_step, k.last_step, k.non_finite) for k in result.keys] == [
        ("loss", 40, 0, 39, 1), ("lr", 40, 0, 39, 0), ("val_loss", 4, 0, 30, 0)]
    assert result.non_scalar == (("samples", "table"),)
    assert result.rows == 40


def test_sampled_history_holds_exactly_the_rows_the_server_sampled(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj", samples=100)
    run = cat.load(cat.select("long"))
    rows = rows_of(project, "long")
    served = sample_rows(rows, 100)
    assert run.metrics["loss"].steps.tolist() == [r["_step"] for r in served]
    np.testing.assert_array_equal(run.metrics["loss"].values, np.array([r["loss"] for r in served]))
    # val_loss (30 points, every 100th row) is thin in the row sample: fetched alone, in full.
    val = [r for r in rows if "val_loss" in r]
    assert run.metrics["val_loss"].steps.tolist() == [r["_step"] for r in val]
    assert run.metrics["val_loss"].values.tolist() == [r["val_loss"] for r in val]
    assert run.read_notes == [
        "history sampled by the W&B server: 100 of 3,000 rows, at most 100 points per key; 1 key(s) sampled "
        "on their own (val_loss); counts, extremes and statistics are over the sample: load with exact=True "
        "(runwise --exact) for every point"]
    specs = [json.loads(r["variables"]["specs"][0]) for r in fake.requests if r["operation"] == "RunSampledHistory"]
    assert specs == [{"keys": ["_step", "val_loss"], "samples": 100}]
    assert [r["variables"]["samples"] for r in fake.requests if r["operation"] == "RunFullHistory"] == [100]


def test_keys_asked_for_are_sampled_on_their_own(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj", samples=50)
    run = cat.load(cat.select("long"), keys=["lo*", "missing"])
    served = sample_rows([{"_step": r["_step"], "loss": r["loss"]} for r in rows_of(project, "long")], 50)
    assert run.metrics["loss"].steps.tolist() == [r["_step"] for r in served]
    keyed = [json.loads(r["variables"]["specs"][0])["keys"] for r in fake.requests
             if r["operation"] == "RunSampledHistory"]
    assert keyed == [["_step", "loss"], ["_step", "val_loss"]]


def test_history_and_stats_views_work_on_a_cloud_run(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj")
    run = cat.load(cat.select("live"))
    rows = rows_of(project, "live")
    hist = views.history_view(run, ["loss"], 500)
    assert hist.exact and hist.keys[0].points.steps.tolist() == list(range(40))
    table = views.stats_view(run, ["loss"])
    (key, stats), = table.rows
    finite = [r["loss"] for r in rows if not math.isnan(r["loss"])]
    assert (key, stats.count, stats.nan, stats.min, stats.max) == ("loss", 40, 1, min(finite), max(finite))
    assert stats.final == rows[-1]["loss"]


def test_exact_scan_reads_every_row_with_progress(fake: FakeWandb, project: list[FakeRun]) -> None:
    seen: list[tuple[float, float | None]] = []
    cat = CloudCatalog("ent/proj", samples=100)
    run = cat.load(cat.select("long"), exact=True, progress=lambda done, total, msg: seen.append((done, total)))
    rows = rows_of(project, "long")
    assert run.metrics["loss"].steps.tolist() == [r["_step"] for r in rows]
    np.testing.assert_array_equal(run.metrics["loss"].values, np.array([r["loss"] for r in rows]))
    assert len(run.metrics["val_loss"]) == 30
    assert seen == [(0, 3000), (1000, 3000), (2000, 3000), (3000, 3000)]
    assert run.read_notes == ["history read in full from the W&B server (3,000 rows)"]
    stats = dict(views.stats_view(run, ["loss"]).rows)["loss"]
    assert (stats.count, stats.nan) == (3000, 1)


def test_exact_scan_reads_the_parquet_export_then_the_live_tail(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/other", exact=True)
    run = cat.load(cat.select("exported"))
    rows = exported_history()
    assert run.metrics["loss"].steps.tolist() == list(range(120))
    np.testing.assert_array_equal(run.metrics["loss"].values, np.array([r["loss"] for r in rows]))
    assert run.metrics["val_loss"].steps.tolist() == list(range(0, 120, 10))
    downloads = [r["file"] for r in fake.requests if r.get("file")]
    assert downloads == ["/files/exported/history.parquet"]
    # The rows after the export come from the live history (the fake's live store holds only those).
    assert any(r["operation"] == "HistoryPage" for r in fake.requests)
    assert run.read_notes == [f"history read in full from the W&B server (120 rows)"]
    assert len(rows) - EXPORTED_ROWS == 20


def test_rows_served_by_both_the_export_and_the_live_history_are_read_once(fake: FakeWandb) -> None:
    fake.live_keeps_exported = True
    run = CloudCatalog("ent/other", exact=True, cache=None).load(CloudCatalog("ent/other").select("exported"))
    assert run.metrics["loss"].steps.tolist() == list(range(120))
    assert run.read_notes == ["history read in full from the W&B server (120 rows); 100 repeated row(s) skipped"]


def test_a_loaded_run_is_reused_until_the_server_says_it_changed(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj")
    ref = cat.select("live")
    first = cat.load(ref)
    before = len(fake.requests)
    assert cat.load(ref) is first
    assert [r["operation"] for r in fake.requests[before:]] == ["Run"]
    live = next(r for r in project if r.id == "live")
    saved = (list(live.history), live.heartbeat_at)
    try:
        live.history.extend(curve_rows(45, start=live.created_at)[40:])
        live.heartbeat_at += 5
        again = cat.load(ref)
    finally:
        live.history[:], live.heartbeat_at = saved
    assert again is not first and again.last_step == 44 and len(again.metrics["loss"]) == 45


def test_latest_running_skips_a_listed_running_run_with_an_old_heartbeat(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    run = cat.latest_running()
    assert run is not None and run.id == "live"
    loaded = {r["variables"]["name"] for r in fake.requests if r["operation"] == "Run"}
    assert loaded == {"stale", "live"}


def test_runs_loads_the_newest_runs_for_a_list_view(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    result = views.list_view(cat.runs(3), 3)
    assert [(r.id, r.state, r.metric) for r in result.rows] == [
        ("stale", RunState.CRASHED, "loss"), ("live", RunState.RUNNING, "loss"), ("pending1", RunState.UNKNOWN, None)]


def test_selection_by_id_prefix_name_url_and_latest(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    assert cat.select("latest").id == "stale"
    assert cat.select("crashn").id == "crashnew"
    assert cat.select("killed1-name").id == "killed1"
    assert cat.select("ent/proj/live").id == "live"
    assert cat.select(f"{fake.base_url}/ent/proj/runs/long").id == "long"
    with pytest.raises(RunNotFound, match=r"'crash' matches 2 runs: crashnew, crashold; give more of the id"):
        cat.select("crash")
    with pytest.raises(RunNotFound) as err:
        cat.select("lve")
    assert "no run 'lve' in W&B project ent/proj. closest: live" in str(err.value)


def test_refresh_finds_a_run_created_since(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj")
    assert len(cat.refs()) == 9
    project.append(FakeRun("newest", "newest-name", "running", NOW, NOW, history=curve_rows(5, start=NOW)))
    try:
        assert len(cat.refs()) == 9
        cat.refresh()
        assert cat.refs()[0].id == "newest"
    finally:
        project.pop()


def test_a_cloud_run_compares_against_a_local_run(fake: FakeWandb, tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0 / (s + 1), "val_loss": 2.0 / (s + 1)}) + "\n"
                           for s in range(0, 40)))
    local = Catalog([tmp_path])
    local_run = local.load(local.select("latest"))
    cloud = CloudCatalog("ent/proj")
    cloud_run = cloud.load(cloud.select("live"))
    result = views.compare_view(cloud_run, local_run, keys=["loss", "val_loss"])
    assert (result.a.source, result.b.source) == ("wandb-cloud", local_run.source)
    rows = {r.key: r for r in result.rows}
    assert rows["loss"].a == cloud_run.metrics["loss"].final and rows["loss"].b == 1.0 / 40
    assert rows["val_loss"].a == cloud_run.metrics["val_loss"].final and rows["val_loss"].b == 2.0 / 40
    assert (rows["loss"].a_step, rows["loss"].b_step) == (39, 39)


def test_runs_in_a_state_load_only_the_runs_the_list_places_there(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    crashed = cat.runs(state=RunState.CRASHED)
    assert [r.id for r in crashed] == ["stale", "preempt1", "crashnew", "crashold"]
    assert {r["variables"]["name"] for r in fake.requests if r["operation"] == "Run"} == {
        "stale", "preempt1", "crashnew", "crashold"}
    assert [r.id for r in cat.runs(1, state=RunState.FAILED)] == ["killed1"]
    assert cat.listed_state(cat.select("live")) is RunState.RUNNING
    assert cat.listed_state(cat.select("pending1")) is RunState.UNKNOWN


def test_a_list_loads_several_runs_at_once(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj")
    cat.refs()
    fake.mode, fake.delay = "slow", 0.2  # every answer takes 0.2 s, so parallel loads overlap
    runs = cat.runs(8)
    assert [r.id for r in runs] == [r.id for r in cat.refs()[:8]]
    assert fake.max_in_flight >= 2


def history_operations(fake: FakeWandb, since: int) -> list[str]:
    return [r["operation"] for r in fake.requests[since:]
            if r["operation"] in ("RunFullHistory", "RunSampledHistory", "RunParquetHistory", "HistoryPage")]


def test_a_new_process_reuses_the_history_from_the_disk_cache(fake: FakeWandb) -> None:
    first = CloudCatalog("ent/proj", samples=100)
    run = first.load(first.select("long"))
    before = len(fake.requests)
    second = CloudCatalog("ent/proj", samples=100)  # a new catalog: nothing in memory
    again = second.load(second.select("long"))
    assert history_operations(fake, before) == []
    assert again is not run
    assert sorted(again.metrics) == sorted(run.metrics)
    for key in run.metrics:
        np.testing.assert_array_equal(again.metrics[key].steps, run.metrics[key].steps)
        np.testing.assert_array_equal(again.metrics[key].values, run.metrics[key].values)
    assert again.timestamps is not None and run.timestamps is not None
    np.testing.assert_array_equal(again.timestamps.values, run.timestamps.values)
    assert (again.read_notes, again.non_scalar, again.rows) == (run.read_notes, run.non_scalar, run.rows)
    # Another sample size is another entry.
    before = len(fake.requests)
    CloudCatalog("ent/proj", samples=50).load(second.select("long"))
    assert "RunFullHistory" in history_operations(fake, before)


def test_the_disk_cache_is_not_used_once_the_run_changed(fake: FakeWandb, project: list[FakeRun]) -> None:
    CloudCatalog("ent/proj").load(CloudCatalog("ent/proj").select("live"))
    live = next(r for r in project if r.id == "live")
    saved = (list(live.history), live.heartbeat_at)
    try:
        live.history.extend(curve_rows(42, start=live.created_at)[40:])
        live.heartbeat_at += 5
        before = len(fake.requests)
        cat = CloudCatalog("ent/proj")
        run = cat.load(cat.select("live"))
    finally:
        live.history[:], live.heartbeat_at = saved
    assert history_operations(fake, before) == ["RunFullHistory"]
    assert run.last_step == 41


def test_an_exact_scan_is_cached_and_no_cache_means_none(fake: FakeWandb, monkeypatch: pytest.MonkeyPatch) -> None:
    CloudCatalog("ent/proj", exact=True).load(CloudCatalog("ent/proj").select("long"))
    before = len(fake.requests)
    run = CloudCatalog("ent/proj", exact=True).load(CloudCatalog("ent/proj").select("long"))
    assert history_operations(fake, before) == [] and len(run.metrics["loss"]) == 3000
    before = len(fake.requests)
    CloudCatalog("ent/proj", exact=True, cache=None).load(CloudCatalog("ent/proj").select("long"))
    assert "HistoryPage" in history_operations(fake, before)
    monkeypatch.setenv("RUNWISE_NO_CACHE", "1")
    assert CloudCatalog("ent/proj").cache is None


def test_a_catalog_works_from_a_worker_thread_as_the_mcp_server_uses_it(fake: FakeWandb) -> None:
    import threading

    out: dict[str, object] = {}

    def work() -> None:
        cat = CloudCatalog("ent/proj")
        out["ids"] = [r.id for r in cat.refs()[:2]]
        out["state"] = cat.load(cat.select("live")).state().value

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert out == {"ids": ["stale", "live"], "state": "running"}


def test_a_list_stays_sampled_in_an_exact_catalog(fake: FakeWandb) -> None:
    cat = CloudCatalog("ent/proj", exact=True, cache=None)
    before = len(fake.requests)
    runs = cat.runs(2)
    assert [r.id for r in runs] == ["stale", "live"]
    assert "HistoryPage" not in history_operations(fake, before)
    assert "RunFullHistory" in history_operations(fake, before)


def test_a_run_with_many_keys_gets_fewer_rows_in_the_all_keys_request(fake: FakeWandb, project: list[FakeRun],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import runwise_core.cloud_catalog as cc

    monkeypatch.setattr(cc, "ALL_KEYS_VALUES", 400)  # "long" logs 4 keys (loss, lr, val_loss, samples): 100 rows
    cat = CloudCatalog("ent/proj", cache=None)
    run = cat.load(cat.select("long"))
    assert [r["variables"]["samples"] for r in fake.requests if r["operation"] == "RunFullHistory"] == [100]
    assert len(run.metrics["loss"]) == 100
    assert run.read_notes[0].startswith("history sampled by the W&B server: 100 of 3,000 rows")


def test_load_readable_skips_a_run_gone_since_the_list_and_names_it(fake: FakeWandb, project: list[FakeRun]) -> None:
    cat = CloudCatalog("ent/proj")
    refs = cat.refs()[:3]
    gone = project.pop(project.index(next(r for r in project if r.id == refs[1].id)))
    try:
        runs, skipped = cat.load_readable(refs)
    finally:
        project.append(gone)
    assert [r.id for r in runs] == [refs[0].id, refs[2].id]
    assert skipped == [f"{refs[1].id}: no run '{refs[1].id}' in W&B project 'ent/proj' at {fake.base_url}; "
                       "see `runwise list --wandb ent/proj`"]


def test_load_readable_raises_a_server_failure_instead_of_skipping_every_run(fake: FakeWandb) -> None:
    from runwise_core.sources.wandb_cloud_client import CloudUnavailable

    cat = CloudCatalog("ent/proj")
    refs = cat.refs()
    fake.mode = "http500"
    before = len(fake.requests)
    with pytest.raises(CloudUnavailable, match="answered HTTP 500"):
        cat.load_readable(refs)
    # No load starts after the first failure: at most the workers' first loads were tried.
    assert len({r["variables"].get("name") for r in fake.requests[before:]}) <= 4


def test_a_cloud_history_in_the_disk_cache_survives_pruning(fake: FakeWandb) -> None:
    """The cache prunes entries whose log file is gone now and then; a cloud history has no
    file (it used to be pruned at random, 1 write in 32)."""
    cat = CloudCatalog("ent/proj", exact=True)
    cat.load(cat.select("long"))
    assert cat.cache is not None and cat.cache.prune() == 0
    before = len(fake.requests)
    again = CloudCatalog("ent/proj", exact=True)
    assert len(again.load(again.select("long")).metrics["loss"]) == 3000
    assert history_operations(fake, before) == []
