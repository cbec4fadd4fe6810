"""Every zoom level the CLI and MCP server offer works on cloud runs: views and renderers
take a CloudCatalog's runs as they take local ones."""

from __future__ import annotations

import json
import time

import pytest

from cloud_fake import FakeWandb, offline_env, standard_project
from runwise_core import views
from runwise_core.cloud_catalog import CloudCatalog
from runwise_core.render import render

NOW = time.time()


@pytest.fixture()
def cat(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    with FakeWandb({"ent/proj": standard_project(NOW)}) as server:
        offline_env(monkeypatch, tmp_path_factory.getbasetemp() / "wandb-state", server.base_url)
        yield CloudCatalog("ent/proj", samples=200)


def test_every_view_renders_for_cloud_runs_in_every_format(cat: CloudCatalog) -> None:
    long_run = cat.load(cat.select("long"))
    live = cat.load(cat.select("live"))
    results = [
        views.list_view(cat.runs(4), 4),
        views.run_view(long_run),
        views.keys_view(long_run),
        views.history_view(long_run, ["loss", "val_loss"], 100),
        views.stats_view(long_run, ["loss"]),
        views.compare_view(long_run, live),
        views.config_view(long_run),
        views.live_view(live),
    ]
    for result in results:
        for fmt in ("text", "md", "json"):
            out = render(result, fmt)
            assert out.strip(), (type(result).__name__, fmt)
            if fmt == "json":
                json.loads(out)


def test_the_run_summary_says_the_history_was_sampled_by_the_server(cat: CloudCatalog) -> None:
    summary = views.run_view(cat.load(cat.select("long")))
    assert summary.read_notes[0].startswith("history sampled by the W&B server: 200 of 3,000 rows")
    assert "history sampled by the W&B server" in render(summary, "text")


def test_the_live_view_of_a_running_cloud_run(cat: CloudCatalog) -> None:
    run = cat.latest_running()
    assert run is not None
    status = views.live_view(run)
    assert (status.id, status.state.value, status.step, status.total_steps) == ("live", "running", 39, 3000)
    assert status.rate == pytest.approx(1.0)  # the fake logs one step per second
    assert status.eta_s == pytest.approx(3000 - 39, rel=0.01)
    assert status.is_running
