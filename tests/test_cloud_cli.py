"""Every ``runwise`` command on W&B cloud runs, through the real CLI ``main()`` and the real
wandb client, against the fake W&B endpoint on 127.0.0.1 (``tests/cloud_fake.py``).

Expected values are the rows the fake serves (or computed from them); failures must end in
exit 1 with one line on stderr, no traceback, within 10 s.
"""

from __future__ import annotations

import io
import json
import math
import socket
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cloud_fake import BAD_KEY, FakeRun, FakeWandb, exported_run, offline_env, sample_rows, standard_project
from runwise.cli import main

NOW = time.time()
BOUND_S = 10.0
NEWEST_FIRST = ["stale", "live", "pending1", "preempt1", "killed1", "crashnew", "crashold", "failed1", "long"]


@pytest.fixture(scope="module")
def project() -> list[FakeRun]:
    return standard_project(NOW)


@pytest.fixture()
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "wandb-state"


@pytest.fixture()
def fake(project, monkeypatch, state_dir):
    with FakeWandb({"ent/proj": project, "ent/other": [exported_run()]}) as server:
        offline_env(monkeypatch, state_dir, server.base_url)
        monkeypatch.delenv("RUNWISE_WANDB_PROJECT", raising=False)
        monkeypatch.delenv("RUNWISE_DIR", raising=False)
        yield server


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def ok(*argv: str) -> str:
    code, out, err = cli(*argv)
    assert (code, err) == (0, ""), err
    return out


def as_json(*argv: str) -> dict:
    return json.loads(ok(*argv, "--format", "json"))


def rows_of(project: list[FakeRun], run_id: str) -> list[dict]:
    return next(r for r in project if r.id == run_id).history


def one_line_failure(*argv: str) -> str:
    start = time.monotonic()
    code, out, err = cli(*argv)
    elapsed = time.monotonic() - start
    assert elapsed < BOUND_S, f"took {elapsed:.1f} s"
    assert (code, out) == (1, "")
    assert err.startswith("runwise: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err[len("runwise: "):-1]


# -- list ------------------------------------------------------------------------------------

def test_list_shows_the_projects_runs_newest_first_with_local_state_names(fake) -> None:
    data = as_json("list", "--wandb", "ent/proj", "-n", "20")
    assert data["total"] == 9
    assert [(r["id"], r["state"], r["source"]) for r in data["runs"]] == [
        ("stale", "crashed", "wandb-cloud"), ("live", "running", "wandb-cloud"), ("pending1", "unknown", "wandb-cloud"),
        ("preempt1", "crashed", "wandb-cloud"), ("killed1", "failed", "wandb-cloud"),
        ("crashnew", "crashed", "wandb-cloud"), ("crashold", "crashed", "wandb-cloud"),
        ("failed1", "failed", "wandb-cloud"), ("long", "finished", "wandb-cloud")]
    assert data["runs"][-1]["last_step"] == 2999 and data["runs"][-1]["final"] == 0.1 + 2.0 * math.exp(-2999 / 40)


def test_list_reads_only_the_newest_runs_asked_for(fake) -> None:
    data = as_json("list", "--wandb", "ent/proj", "-n", "2")
    assert (data["total"], [r["id"] for r in data["runs"]]) == (9, ["stale", "live"])
    loaded = {r["variables"]["name"] for r in fake.requests if r["operation"] == "Run"}
    assert loaded == {"stale", "live"}


def test_list_with_a_state_loads_only_the_runs_the_server_lists_in_it(fake) -> None:
    data = as_json("list", "--wandb", "ent/proj", "--state", "crashed", "-n", "2")
    assert (data["total"], [r["id"] for r in data["runs"]]) == (4, ["stale", "preempt1"])
    loaded = {r["variables"]["name"] for r in fake.requests if r["operation"] == "Run"}
    assert loaded == {"stale", "preempt1", "crashnew", "crashold"}


def test_the_project_comes_from_the_environment_and_dir_overrides_it(fake, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RUNWISE_WANDB_PROJECT", "ent/proj")
    assert [r["id"] for r in as_json("list", "-n", "3")["runs"]] == NEWEST_FIRST[:3]
    assert as_json("list", "--dir", str(tmp_path)) == {"total": 0, "runs": []}  # a flag beats the environment


# -- one run ---------------------------------------------------------------------------------

def test_run_summarizes_a_cloud_run_and_says_its_history_was_sampled(fake) -> None:
    lines = ok("run", "long", "--wandb", "ent/proj").splitlines()
    assert lines[0] == "run long long-name · finished · step 2,999/3,000 · 5m22s · exit 0 · group sweep-a · tags cloud,long"
    assert lines[-1] == ("note: history sampled by the W&B server: 1,000 of 3,000 rows, at most 1,000 points per "
                         "key; 1 key(s) sampled on their own (val_loss); counts, extremes and statistics are over "
                         "the sample: load with exact=True (runwise --exact) for every point")


def test_a_run_is_selected_by_entity_project_id_or_url_without_wandb(fake) -> None:
    assert as_json("run", "ent/proj/failed1")["id"] == "failed1"
    assert as_json("config", "https://wandb.ai/ent/proj/runs/live")["id"] == "live"


def test_keys_lists_the_sampled_points_and_says_so(fake) -> None:
    assert ok("keys", "long", "--wandb", "ent/proj") == (
        "keys of long long-name: 3 scalar, 1 non-scalar (3,000 rows); points sampled by the server: "
        "1,000 of 3,000 rows; --exact for every row\n"
        "key      points  steps\n"
        "loss       1000 0-2999\n"
        "lr         1000 0-2999\n"
        "val_loss     30 0-2900\n"
        "non-scalar: samples (table)\n")
    exact = as_json("keys", "long", "--wandb", "ent/proj", "--exact")
    assert "sampled" not in exact
    assert [(k["key"], k["count"], k["non_finite"]) for k in exact["keys"]] == [
        ("loss", 3000, 1), ("lr", 3000, 0), ("val_loss", 30, 0)]


def test_stats_over_the_sample_say_so_and_exact_reads_every_row(fake, project) -> None:
    rows = rows_of(project, "long")
    served = sample_rows([{"_step": r["_step"], "loss": r["loss"]} for r in rows], 1000)
    sampled = as_json("stats", "long", "-k", "loss", "--wandb", "ent/proj")
    assert sampled["sampled"] == {"rows_read": 1000, "rows": 3000}
    loss = sampled["stats"]["loss"]
    assert (loss["count"], loss["nan"], loss["max"], loss["final"]) == (
        len(served), sum(math.isnan(r["loss"]) for r in served), 2.1, rows[-1]["loss"])
    heading = ok("stats", "long", "-k", "loss", "--wandb", "ent/proj").splitlines()[0]
    assert heading.startswith("stats of long long-name (sampled by the server: 1,000 of 3,000 rows; "
                              "--exact for every row")

    exact = as_json("stats", "long", "-k", "loss", "--wandb", "ent/proj", "--exact")
    finite = [r["loss"] for r in rows if not math.isnan(r["loss"])]
    loss = exact["stats"]["loss"]
    assert "sampled" not in exact
    assert (loss["count"], loss["nan"], loss["inf"]) == (3000, 1, 0)
    assert (loss["min"], loss["max"], loss["max_step"], loss["final"], loss["final_step"]) == (
        min(finite), max(finite), 0, rows[-1]["loss"], 2999)
    assert loss["mean"] == pytest.approx(sum(finite) / len(finite), rel=1e-12)
    assert ok("stats", "long", "-k", "loss", "--wandb", "ent/proj", "--exact").splitlines()[0] == (
        "stats of long long-name (exact, all points)")


def test_history_of_a_complete_cloud_run_holds_every_value_and_the_nan(fake, project) -> None:
    rows = rows_of(project, "live")
    data = as_json("history", "live", "-k", "loss", "--wandb", "ent/proj")
    assert data["exact"] is True and "sampled" not in data
    assert data["history"]["loss"]["steps"] == list(range(40))
    expected = ["NaN" if math.isnan(r["loss"]) else r["loss"] for r in rows]
    assert data["history"]["loss"]["values"] == expected


def test_history_of_a_sampled_run_says_it_was_sampled(fake) -> None:
    heading = ok("history", "long", "-k", "loss", "--samples", "10", "--wandb", "ent/proj").splitlines()[0]
    assert heading.endswith("; sampled by the server: 1,000 of 3,000 rows; --exact for every row")


def test_config_and_live(fake) -> None:
    config = as_json("config", "live", "--wandb", "ent/proj")["config"]
    assert config == {"lr": 0.001, "max_steps": 3000, "model.layers": 4, "model.width": 128, "optimizer": "adam"}
    live = as_json("live", "--wandb", "ent/proj")
    assert (live["id"], live["state"], live["step"], live["total_steps"]) == ("live", "running", 39, 3000)


def test_best_and_find_over_the_projects_runs(fake, project) -> None:
    best = as_json("best", "loss", "--wandb", "ent/proj", "-n", "1")
    listed = sample_rows(rows_of(project, "long"), 200)  # runs for a ranking are read lightly sampled
    lowest = min((r for r in listed if not math.isnan(r["loss"])), key=lambda r: r["loss"])
    assert [(r["id"], r["best"], r["best_step"]) for r in best["runs"]] == [("long", lowest["loss"], lowest["_step"])]
    found = as_json("find", "crash", "--wandb", "ent/proj")
    assert [r["id"] for r in found["runs"]] == ["crashnew", "crashold"]


# -- compare ---------------------------------------------------------------------------------

def test_compare_a_cloud_run_with_a_local_run(fake, project, tmp_path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0 / (s + 1)}) + "\n" for s in range(50)))
    local_id = as_json("list", "--dir", str(tmp_path))["runs"][0]["id"]
    data = as_json("compare", "ent/proj/live", local_id, "-k", "loss", "--dir", str(tmp_path))
    assert (data["a"]["id"], data["b"]["id"]) == ("live", local_id)
    (row,) = data["metrics"]
    assert (row["key"], row["a"], row["b"]) == ("loss", rows_of(project, "live")[-1]["loss"], 1.0 / 50)


def test_compare_runs_of_two_projects(fake) -> None:
    data = as_json("compare", "long", "ent/other/exported", "-k", "loss", "--wandb", "ent/proj")
    assert (data["a"]["id"], data["b"]["id"]) == ("long", "exported")


# -- failures: one line, exit 1, no traceback, < 10 s ------------------------------------------

def test_a_refused_key_is_one_line(fake, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", BAD_KEY)
    assert one_line_failure("list", "--wandb", "ent/proj") == (
        f"W&B at {fake.base_url} refused the API key (user is not logged in); run `wandb login --relogin` "
        "or set WANDB_API_KEY to a valid key")


def test_no_key_is_one_line(fake, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY")
    host = fake.base_url.split("//")[1]
    assert one_line_failure("run", "long", "--wandb", "ent/proj") == (
        f"no W&B API key for {host}: run `wandb login --host {fake.base_url}` or set WANDB_API_KEY")


def test_an_unknown_project_is_one_line(fake) -> None:
    assert one_line_failure("list", "--wandb", "ent/nope") == (
        f"no W&B project 'ent/nope' at {fake.base_url} (or this key cannot see it); check ENTITY/PROJECT "
        "(--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")


def test_an_unknown_run_names_the_runs(fake) -> None:
    assert one_line_failure("stats", "nosuchrun", "--wandb", "ent/proj").startswith(
        "no run 'nosuchrun' in W&B project ent/proj. ")


def test_a_malformed_project_is_a_usage_line(fake) -> None:
    assert one_line_failure("list", "--wandb", "not a project") == (
        "W&B project 'not a project': expected ENTITY/PROJECT, e.g. my-team/my-project "
        "(--wandb ENTITY/PROJECT or RUNWISE_WANDB_PROJECT)")


def test_a_server_error_is_one_line(fake) -> None:
    fake.mode = "http500"
    assert one_line_failure("keys", "long", "--wandb", "ent/proj") == (
        f"W&B at {fake.base_url} answered HTTP 500 (server error) while connecting; try again later, "
        "or check the server's logs")


def test_a_server_that_is_down_is_one_line(monkeypatch, state_dir) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    offline_env(monkeypatch, state_dir, f"http://127.0.0.1:{port}")
    assert one_line_failure("list", "--wandb", "ent/proj") == (
        f"cannot reach W&B at http://127.0.0.1:{port} (connection refused); check WANDB_BASE_URL and the network")


def test_a_slow_server_is_one_line_within_the_bound(project, monkeypatch, state_dir) -> None:
    with FakeWandb({"ent/proj": project}, mode="slow", delay=60.0) as slow:
        offline_env(monkeypatch, state_dir, slow.base_url)
        assert one_line_failure("list", "--wandb", "ent/proj") == (
            f"W&B at {slow.base_url} did not answer within 7 s while connecting; the server is slow or "
            "unreachable: try again, or check WANDB_BASE_URL and the network")


def test_stability_of_a_sampled_run_says_it_was_sampled(fake) -> None:
    sampled = as_json("stability", "long", "-k", "loss", "--wandb", "ent/proj")
    assert sampled["sampled"] == {"rows_read": 1000, "rows": 3000} and sampled["stability"]["loss"]["count"] == 1000
    assert ok("stability", "long", "-k", "loss", "--wandb", "ent/proj").splitlines()[0] == (
        "stability of long long-name (rolling std over a window; Theil-Sen slope per 1k steps); "
        "sampled by the server: 1,000 of 3,000 rows; --exact for every row")
    exact = as_json("stability", "long", "-k", "loss", "--wandb", "ent/proj", "--exact")
    assert "sampled" not in exact and exact["stability"]["loss"]["count"] == 2999  # finite points: 3,000 less the NaN
