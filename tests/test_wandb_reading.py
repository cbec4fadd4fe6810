"""Reading real W&B runs written by the installed wandb (offline): values equal what was logged."""

from __future__ import annotations

import math
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from runwise_core.catalog import Catalog
from runwise_core.errors import RunNotFound
from runwise_core.model import RunState
from wandb_runs import make_run

SCENARIOS = ("finished", "failed", "killed", "wide", "console")


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """Every scenario in its own folder, plus a resumed run written by two processes."""
    base = tmp_path_factory.mktemp("wandb-runs")
    with ThreadPoolExecutor(max_workers=3) as pool:
        truths = dict(zip(SCENARIOS, pool.map(lambda s: make_run(base / s, s), SCENARIOS)))
    truths["resumed0"] = make_run(base / "resumed", "resumed0")
    truths["resumed1"] = make_run(base / "resumed", "resumed1")
    return base, truths


def load(folder: Path):
    cat = Catalog([folder])
    refs = cat.refs()
    assert len(refs) == 1, refs
    return cat.load(refs[0])


def expected_columns(rows: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """What the truth says each metric should hold: flattened keys, the row index as step."""
    out: dict[str, tuple[list[int], list[float]]] = {}

    def add(key, step, value):
        steps, values = out.setdefault(key, ([], []))
        steps.append(step)
        values.append(value)

    for step, row in enumerate(rows):
        for key, value in row.items():
            if isinstance(value, dict):
                for sub, leaf in value.items():
                    add(f"{key}.{sub}", step, leaf)
            else:
                add(key, step, value)
    return out


def assert_series_equal(series, steps, values):
    assert series.steps.tolist() == steps
    got = series.values
    want = np.array(values, dtype=np.float64)
    assert np.array_equal(got, want, equal_nan=True), (got[:10], want[:10])


def test_finished_run_values_equal_what_was_logged(runs):
    base, truth = runs
    run = load(base / "finished")
    t = truth["finished"]
    assert run.id == t["id"]
    assert run.name == "baseline-small"
    assert run.source == "wandb"
    assert run.project == "rw-tests"
    assert run.group == "sweep-a"
    assert run.tags == ("baseline", "tiny")
    assert run.notes == "first try"
    assert run.state() is RunState.FINISHED
    assert run.exit_code == 0
    assert run.rows == 200
    assert run.last_step == 199
    columns = expected_columns(t["rows"])
    assert set(run.metrics) == set(columns) == {"train/loss", "lr", "grad.norm", "grad.max", "val/loss"}
    for key, (steps, values) in columns.items():
        assert_series_equal(run.metrics[key], steps, values)


def test_nan_and_infinities_are_kept(runs):
    base, _ = runs
    run = load(base / "finished")
    loss = run.metrics["train/loss"]
    assert math.isnan(loss.values[loss.steps.tolist().index(100)])
    lr = run.metrics["lr"]
    assert lr.values[150] == math.inf and lr.values[151] == -math.inf


def test_sparse_keys_keep_their_real_steps(runs):
    base, _ = runs
    val = load(base / "finished").metrics["val/loss"]
    assert val.steps.tolist() == list(range(0, 200, 20))


def test_config_is_flattened_without_wandb_internals(runs):
    base, truth = runs
    run = load(base / "finished")
    assert run.config == {"lr": 0.001, "model.layers": 4, "model.width": 128, "optimizer": "adam", "max_steps": 200}
    assert run.total_steps == 200


def test_media_and_strings_are_named_not_treated_as_metrics(runs):
    base, _ = runs
    run = load(base / "finished")
    assert run.non_scalar == {"weights": "histogram", "samples": "table", "comment": "string"}
    assert not any(k.startswith(("weights", "samples")) for k in run.metrics)


def test_summary_is_kept_apart_from_last_logged_values(runs):
    base, truth = runs
    run = load(base / "finished")
    last = truth["finished"]["rows"][-1]
    assert run.summary["train/loss"] == last["train/loss"]
    assert run.metrics["train/loss"].final == last["train/loss"]
    assert run.summary["grad.max"] == 199.0


def test_failed_run_has_exit_code_and_traceback_in_console(runs):
    base, truth = runs
    run = load(base / "failed")
    assert truth["failed"]["returncode"] == 1
    assert run.state() is RunState.FAILED
    assert run.exit_code == 1
    assert run.rows == 10
    assert_series_equal(run.metrics["loss"], list(range(10)), [1.0 / (i + 1) for i in range(10)])
    assert run.console_tail[-1] == "RuntimeError: CUDA out of memory (simulated)"


def test_killed_run_is_a_consistent_prefix_and_crashes_once_quiet(runs):
    base, truth = runs
    run = load(base / "killed")
    t = truth["killed"]
    assert t["returncode"] == -9
    assert run.exit_code is None and not run.exited
    assert 0 < run.rows <= len(t["rows"])
    cols = expected_columns(t["rows"][: run.rows])
    for key in ("loss", "acc"):
        assert_series_equal(run.metrics[key], *cols[key])
    quiet = run.last_activity + 301
    assert run.state(now=run.last_activity + 1) is RunState.RUNNING
    assert run.state(now=quiet) is RunState.CRASHED


def test_resumed_run_is_one_run_with_continuous_steps(runs):
    base, truth = runs
    cat = Catalog([base / "resumed"])
    refs = cat.refs()
    assert len(refs) == 1 and len(refs[0].paths) == 2
    run = cat.load(refs[0])
    assert run.id == "resume42" and run.segments == 2 and run.rows == 100
    loss = run.metrics["loss"]
    assert loss.steps.tolist() == list(range(100))
    assert loss.values.tolist() == [10.0 - i * 0.01 for i in range(100)]
    assert any("restarted at 0" in n for n in run.read_notes)


def test_three_hundred_keys(runs):
    base, _ = runs
    run = load(base / "wide")
    assert len(run.metrics) == 300
    assert run.metrics["layer_299/act"].values.tolist() == [299 + i / 10 for i in range(5)]
    assert run.metric_keys()[:2] == ["layer_000/act", "layer_001/act"]


def test_console_tail_shows_what_a_terminal_shows(runs):
    base, _ = runs
    run = load(base / "console")
    assert run.console_tail[-1] == "progress 100%"
    assert run.console_tail[-2] == "line 99"
    assert len(run.console_tail) <= 60


def test_selection_by_id_prefix_name_and_latest(runs):
    base, truth = runs
    cat = Catalog([base])
    fid = truth["finished"]["id"]
    assert cat.select(fid).id == fid
    assert cat.select(fid[:5]).id == fid
    assert cat.select("baseline-small").id == fid
    assert cat.select("latest").id == cat.refs()[0].id
    with pytest.raises(RunNotFound) as err:
        cat.select("baseline-smal")
    assert "baseline-small" in str(err.value)
    assert "runwise list" in str(err.value)


def test_dir_may_be_project_wandb_folder_or_one_run_folder(runs):
    base, truth = runs
    project = base / "finished"
    wandb_dir = project / "wandb"
    run_dir = next(p for p in wandb_dir.iterdir() if p.name.startswith("offline-run-"))
    for where in (project, wandb_dir, run_dir):
        refs = Catalog([where]).refs()
        assert [r.id for r in refs] == [truth["finished"]["id"]], where


def test_a_run_folder_is_never_written_to(runs, tmp_path):
    base, _ = runs
    copy = tmp_path / "copy"
    shutil.copytree(base / "finished", copy)
    before = {p: p.stat().st_mtime_ns for p in copy.rglob("*")}
    load(copy)
    after = {p: p.stat().st_mtime_ns for p in copy.rglob("*")}
    assert before == after
