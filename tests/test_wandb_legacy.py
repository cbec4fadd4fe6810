"""Legacy W&B folders (wandb 0.9 and before), written from the documented layout."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from runwise_core.catalog import Catalog
from runwise_core.model import RunState


def write_legacy(folder: Path, rows: list[str], meta: dict, *, nested: bool = False, summary: dict | None = None,
                 config: str | None = None, events: list[dict] | None = None) -> Path:
    files = folder / "files" if nested else folder
    files.mkdir(parents=True, exist_ok=True)
    (files / "wandb-history.jsonl").write_text("".join(rows))
    (files / "wandb-metadata.json").write_text(json.dumps(meta))
    if summary is not None:
        (files / "wandb-summary.json").write_text(json.dumps(summary))
    if config is not None:
        (files / "config.yaml").write_text(config)
    if events is not None:
        (files / "wandb-events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


CONFIG = """wandb_version: 1

_wandb:
  desc: null
  value:
    cli_version: 0.8.19
lr:
  desc: null
  value: 0.01
net:
  desc: null
  value:
    depth: 3
"""


def rows_with_nan(start_ts: float) -> list[str]:
    out = []
    for i in range(10):
        loss = "NaN" if i == 4 else repr(1.0 / (i + 1))
        out.append(f'{{"loss": {loss}, "acc": {i / 10}, "opt": {{"lr": 0.01}}, "_runtime": {i}, '
                   f'"_timestamp": {start_ts + i}, "_step": {i}}}\n')
    return out


def test_finished_legacy_run_reads_nan_token_nested_dicts_and_config(tmp_path):
    start = 1577712671.0
    folder = write_legacy(tmp_path / "wandb" / "run-20191230_133106-abc123", rows_with_nan(start),
                          {"state": "finished", "exitcode": 0, "startedAt": "2019-12-30T13:31:06.786978",
                           "project": "old", "name": "legacy-one"},
                          summary={"loss": 0.1, "_wandb": {"runtime": 9}}, config=CONFIG,
                          events=[{"system.cpu": 50.0, "_runtime": 30, "_timestamp": start + 30, "_wandb": True}])
    run = Catalog([tmp_path]).runs()[0]
    assert (run.id, run.name, run.source, run.project) == ("abc123", "legacy-one", "wandb-legacy", "old")
    assert run.state() is RunState.FINISHED and run.exit_code == 0
    assert run.rows == 10 and run.last_step == 9
    loss = run.metrics["loss"].values
    assert math.isnan(loss[4]) and loss[0] == 1.0 and loss[9] == 0.1
    assert run.metrics["opt.lr"].values.tolist() == [0.01] * 10
    assert run.config == {"lr": 0.01, "net.depth": 3}
    assert run.summary == {"loss": 0.1}
    assert run.system["system.cpu"].values.tolist() == [50.0]
    assert run.start_time == pytest.approx(1577712666.786978)
    assert folder.exists()


def test_legacy_running_untouched_for_hours_is_crashed_and_fresh_one_is_running(tmp_path):
    old = time.time() - 6 * 3600
    write_legacy(tmp_path / "a" / "wandb" / "run-20191230_130813-old111", rows_with_nan(old), {"state": "running"})
    fresh = time.time() - 20
    write_legacy(tmp_path / "b" / "wandb" / "run-20191230_130813-new222", rows_with_nan(fresh - 9), {"state": "running"})
    states = {r.id: r.state() for r in Catalog([tmp_path]).runs()}
    assert states == {"old111": RunState.CRASHED, "new222": RunState.RUNNING}


def test_legacy_files_subfolder_and_partial_last_line(tmp_path):
    rows = rows_with_nan(1000.0)
    rows[-1] = rows[-1][:25]  # the writer was stopped mid-line
    write_legacy(tmp_path / "wandb" / "run-20200101_000000-part01", rows,
                 {"state": "failed", "exitcode": 1}, nested=True)
    run = Catalog([tmp_path]).runs()[0]
    assert run.state() is RunState.FAILED and run.exit_code == 1
    assert run.rows == 9 and run.last_step == 8
    assert run.read_notes == ["wandb-history.jsonl line 10: last line is partial; skipped"]


def test_legacy_run_with_metadata_only_has_no_history(tmp_path):
    folder = tmp_path / "wandb" / "run-20200101_000000-empty1"
    folder.mkdir(parents=True)
    (folder / "wandb-metadata.json").write_text(json.dumps({"state": "failed", "exitcode": 1}))
    run = Catalog([tmp_path]).runs()[0]
    assert run.rows == 0 and run.metrics == {} and run.state() is RunState.FAILED


def test_side_files_linked_out_of_the_run_folder_are_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.yaml").write_text(CONFIG)
    (outside / "output.log").write_text("secret line\n")
    folder = write_legacy(tmp_path / "p" / "wandb" / "run-20200101_000000-link01", rows_with_nan(1000.0),
                          {"state": "finished", "exitcode": 0})
    (folder / "config.yaml").symlink_to(outside / "config.yaml")
    (folder / "output.log").symlink_to(outside / "output.log")
    run = Catalog([tmp_path / "p"], cache=None).runs()[0]
    assert run.config == {} and run.console_tail == []
    assert run.read_notes == ["config.yaml links outside the run folder; not read"]
    assert run.rows == 10  # the history inside the folder is read as ever


def test_a_line_nested_beyond_what_json_reads_is_skipped_with_a_note(tmp_path):
    """json.loads raises RecursionError, not ValueError, on ~1,000 levels: a note, never a traceback."""
    rows = rows_with_nan(1000.0)
    deep = '{"_step": 99, "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    deep += "\n"
    rows.insert(3, deep)
    folder = tmp_path / "wandb" / "run-20200101_000000-deep01"
    write_legacy(folder, rows, {"state": "finished", "exitcode": 0}, summary={"deep": json.loads("[" * 50 + "]" * 50)})
    (folder / "wandb-summary.json").write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    run = Catalog([tmp_path], cache=None).runs()[0]
    assert run.rows == len(rows) - 1
    assert "wandb-history.jsonl line 4: JSON nested too deeply to read; skipped" in run.read_notes
    assert "wandb-summary.json is nested too deeply to read; ignored" in run.read_notes
    assert run.metrics  # the other rows are all there
