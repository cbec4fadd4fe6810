"""The JSON-lines / CSV metric-log reader: discovery, step column, split runs, damage."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from runwise_core.errors import RunNotFound, UnreadableLog
from runwise_core.model import RunState
from runwise_core.sources import metric_log
from runwise_core.sources.base import RunRef
from runwise_core.sources.metric_log import SOURCE, load_file

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
DETR = REAL / "detr_jsonl_two_runs_appended" / "output" / "log.txt"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with open(path, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def scan(folder: Path):
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    return SOURCE.scan(folder, files, [])


def test_jsonl_step_column_is_the_axis_and_values_are_exact(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "train.jsonl", [{"step": s, "loss": 1.0 / (s + 1), "lr": 0.1} for s in range(0, 50, 10)])
    (run,) = load_file(p)
    assert run.source == "jsonl"
    assert sorted(run.metrics) == ["loss", "lr"]
    assert run.metrics["loss"].steps.tolist() == [0, 10, 20, 30, 40]
    assert run.metrics["loss"].values.tolist() == [1.0, 1 / 11, 1 / 21, 1 / 31, 1 / 41]
    assert run.metrics["loss"].steps.dtype == np.int64 and run.metrics["loss"].values.dtype == np.float64
    assert run.rows == 5 and run.last_step == 40
    assert run.read_notes == []
    assert run.records_exits is False


@pytest.mark.parametrize("key", ["step", "_step", "global_step", "iteration", "iter", "epoch"])
def test_every_step_column_name_is_found(tmp_path: Path, key: str) -> None:
    p = write_jsonl(tmp_path / "m.jsonl", [{key: 5 * i, "loss": float(i)} for i in range(3)])
    (run,) = load_file(p)
    assert run.metrics["loss"].steps.tolist() == [0, 5, 10]
    assert key not in run.metrics


def test_step_preferred_over_epoch_and_fractional_epoch_is_not_a_step(tmp_path: Path) -> None:
    rows = [{"epoch": 0.5 * i, "global_step": 100 * i, "loss": 2.0 - i} for i in range(4)]
    (run,) = load_file(write_jsonl(tmp_path / "m.jsonl", rows))
    assert run.metrics["loss"].steps.tolist() == [0, 100, 200, 300]
    assert run.metrics["epoch"].values.tolist() == [0.0, 0.5, 1.0, 1.5]


def test_no_step_column_uses_row_numbers_and_says_so(tmp_path: Path) -> None:
    (run,) = load_file(write_jsonl(tmp_path / "m.jsonl", [{"loss": 3.0}, {"loss": 2.0}, {"loss": 1.0}]))
    assert run.metrics["loss"].steps.tolist() == [0, 1, 2]
    assert any("row numbers" in n for n in run.read_notes)


def test_non_numeric_keys_are_listed_not_metrics_and_nan_inf_kept(tmp_path: Path) -> None:
    rows = [
        {"step": 1, "loss": float("nan"), "name": "a", "tags": ["x"], "flag": True, "gone": None},
        {"step": 2, "loss": float("inf"), "name": "b", "tags": [], "flag": False, "gone": None},
        {"step": 3, "loss": -float("inf"), "name": "c", "tags": ["y"], "flag": True, "gone": None},
    ]
    (run,) = load_file(write_jsonl(tmp_path / "m.jsonl", rows))
    assert sorted(run.metrics) == ["loss"]
    v = run.metrics["loss"].values
    assert math.isnan(v[0]) and v[1] == math.inf and v[2] == -math.inf
    assert run.non_scalar == {"name": "string", "tags": "list", "flag": "bool", "gone": "null"}  # as W&B names them


def test_a_short_list_of_numbers_is_one_metric_per_element(tmp_path: Path) -> None:
    rows = [{"step": 1, "ap": [0.1, 0.2]}, {"step": 2, "ap": [0.3, 0.4]}, {"step": 3, "ap": list(range(33))}]
    (run,) = load_file(write_jsonl(tmp_path / "m.jsonl", rows))
    assert run.metrics["ap[0]"].values.tolist() == [0.1, 0.3]
    assert run.metrics["ap[1]"].steps.tolist() == [1, 2]
    assert run.non_scalar == {"ap": "list"}  # the 33-long list stays one non-scalar value



def test_sparse_rows_take_the_last_logged_step(tmp_path: Path) -> None:
    rows = [{"step": 10, "loss": 1.0}, {"val_loss": 0.9}, {"step": 20, "loss": 0.8}]
    (run,) = load_file(write_jsonl(tmp_path / "m.jsonl", rows))
    assert run.metrics["val_loss"].steps.tolist() == [10]
    assert run.metrics["loss"].steps.tolist() == [10, 20]


def test_two_runs_appended_are_split_with_a_note(tmp_path: Path) -> None:
    rows = [{"epoch": e, "loss": 10.0 - e} for e in range(3)] + [{"epoch": e, "loss": 5.0 - e} for e in range(5)]
    p = write_jsonl(tmp_path / "log.txt", rows)
    one, two = load_file(p)
    assert one.id.endswith("#1") and two.id.endswith("#2")
    assert one.id.split("#")[0] == two.id.split("#")[0]
    assert one.name == f"{tmp_path.name}/log.txt#1"
    assert one.metrics["loss"].values.tolist() == [10.0, 9.0, 8.0]
    assert two.metrics["loss"].steps.tolist() == [0, 1, 2, 3, 4]
    assert two.metrics["loss"].values.tolist() == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert "part 1 of 2, lines 1-3" in one.read_notes[-1]
    assert "part 2 of 2, lines 4-8" in two.read_notes[-1]
    # only the last part can still be running; the first ended when the second began
    assert one.last_activity is None and one.state() is RunState.UNKNOWN
    assert two.state() is RunState.RUNNING


def test_a_step_back_that_is_not_a_restart_stays_one_run(tmp_path: Path) -> None:
    steps = [0, 100, 200, 300, 200, 300, 400]
    (run,) = load_file(write_jsonl(tmp_path / "m.jsonl", [{"step": s, "loss": float(i)} for i, s in enumerate(steps)]))
    assert run.metrics["loss"].steps.tolist() == [0, 100, 200, 200, 300, 300, 400]
    assert any("goes back from 300 to 200 at line 5" in n for n in run.read_notes)


def test_damaged_lines_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_bytes(
        b'{"step": 0, "loss": 1.0}\n'
        b'{"step": 1, "loss": \n'  # invalid JSON
        b'{"step": 2, "loss": 0.5, "note": "\xff\xfe"}\n'  # not UTF-8
        b'[1, 2]\n'  # not an object
        b'\n'
        b'{"step": 4, "loss": 0.25}\n'
        b'{"step": 5, "lo'  # torn tail: a writer still appending
    )
    (run,) = load_file(p)
    assert run.metrics["loss"].steps.tolist() == [0, 4]
    assert run.metrics["loss"].values.tolist() == [1.0, 0.25]
    notes = "\n".join(run.read_notes)
    assert "m.jsonl line 2: invalid JSON" in notes
    assert "m.jsonl line 3: not UTF-8 at byte" in notes
    assert "m.jsonl line 4: a JSON list, not an object" in notes
    assert "m.jsonl line 7: partial last line" in notes


def test_many_damaged_lines_give_a_bounded_number_of_notes(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text('{"step": 0, "loss": 1.0}\n' + "garbage\n" * 100)
    (run,) = load_file(p)
    assert len(run.read_notes) == 6
    assert run.read_notes[-1] == "m.jsonl: 95 more damaged lines skipped"


def test_unreadable_files_raise_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(UnreadableLog, match="missing.jsonl"):
        load_file(tmp_path / "missing.jsonl")
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\nworld\n")
    with pytest.raises(UnreadableLog, match="notes.txt"):
        load_file(bad)


def test_empty_file_is_a_run_without_points(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text("")
    (run,) = load_file(p)
    assert run.metrics == {} and run.rows == 0


def test_csv_written_by_csv_writer(tmp_path: Path) -> None:
    p = tmp_path / "log.csv"
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["iteration", "loss", "phase", "val_acc"])
        w.writeheader()
        w.writerow({"iteration": 1, "loss": 0.5, "phase": "train", "val_acc": ""})
        w.writerow({"iteration": 2, "loss": "nan", "phase": "train", "val_acc": ""})
        w.writerow({"iteration": 3, "loss": 0.25, "phase": "eval", "val_acc": 0.75})
    (run,) = load_file(p)
    assert run.source == "csv"
    assert sorted(run.metrics) == ["loss", "val_acc"]
    assert run.metrics["loss"].steps.tolist() == [1, 2, 3]
    assert math.isnan(run.metrics["loss"].values[1])
    assert run.metrics["val_acc"].steps.tolist() == [3] and run.metrics["val_acc"].values.tolist() == [0.75]
    assert run.non_scalar == {"phase": "string"}


def test_csv_torn_last_row_and_overlong_row_are_skipped(tmp_path: Path) -> None:
    p = tmp_path / "log.csv"
    p.write_text("step,loss,acc\n1,0.5,0.1\n2,0.4,0.2,9\n3,0.3,0.3\n4,0.")
    (run,) = load_file(p)
    assert run.metrics["loss"].steps.tolist() == [1, 3]
    notes = "\n".join(run.read_notes)
    assert "log.csv line 3: 4 cells under a 3-column header" in notes
    assert "log.csv line 5: partial last line" in notes


def test_scan_claims_metric_logs_and_leaves_other_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "metrics.jsonl", [{"step": 1, "loss": 1.0}])
    write_jsonl(tmp_path / "log.txt", [{"epoch": 0, "train_loss": 1.0}])
    write_jsonl(tmp_path / "data.jsonl", [{"text": "hello", "label": "x"}])
    write_jsonl(tmp_path / "app.log", [{"time": "t", "level": "INFO", "msg": "m", "pid": 3}])
    (tmp_path / "readme.txt").write_text("plain words\n")
    (tmp_path / "results.csv").write_text("step,loss\n1,0.5\n")
    (tmp_path / "table.csv").write_text("name,city\na,b\n")
    refs = scan(tmp_path)
    assert sorted(r.paths[0].name for r in refs) == ["log.txt", "metrics.jsonl", "results.csv"]
    assert all(r.source == "metric-log" for r in refs)
    ref = next(r for r in refs if r.paths[0].name == "metrics.jsonl")
    assert ref.id == metric_log.path_id("metrics", tmp_path / "metrics.jsonl", "metric-log")
    assert ref.id.startswith("metrics-") and len(ref.id) == len("metrics-") + 6


def test_scan_leaves_wandb_and_lightning_files_to_their_readers(tmp_path: Path) -> None:
    legacy = tmp_path / "run-20191230_133106-ohb7bv9d"
    legacy.mkdir()
    write_jsonl(legacy / "wandb-history.jsonl", [{"_step": 0, "loss": 1.0}])
    write_jsonl(legacy / "extra.jsonl", [{"_step": 0, "loss": 1.0}])
    (legacy / "wandb-metadata.json").write_text("{}")
    assert scan(legacy) == []
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "debug-core.log", [{"time": "t", "level": "INFO", "msg": "m", "step": 1}])
    assert scan(logs) == []
    version = tmp_path / "version_0"
    version.mkdir()
    (version / "metrics.csv").write_text("epoch,step,loss\n0,1,0.5\n")
    assert scan(version) == []


def test_scan_names_each_appended_run_and_load_returns_that_part(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "m.jsonl", [{"step": s, "loss": float(s)} for s in (0, 1, 0, 1, 2)])
    one, two = sorted(scan(tmp_path), key=lambda r: r.id)
    base = metric_log.path_id("m", tmp_path / "m.jsonl", "metric-log")
    assert (one.id, two.id) == (base + "#1", base + "#2")
    assert (one.name_hint, two.name_hint) == (f"{tmp_path.name}/m.jsonl#1", f"{tmp_path.name}/m.jsonl#2")
    assert two.sort_time > one.sort_time  # the later run is the newer one
    assert SOURCE.load(one).rows == 2 and SOURCE.load(one).id == one.id
    assert SOURCE.load(two).metrics["loss"].values.tolist() == [0.0, 1.0, 2.0]
    assert SOURCE.load(two).name == f"{tmp_path.name}/m.jsonl#2"
    with pytest.raises(RunNotFound, match="#3"):
        SOURCE.load(RunRef(one.source, base + "#3", one.paths, one.sort_time, None))
    assert [r.id for r in SOURCE.load_all(one)] == [one.id, two.id]


def test_a_ref_without_part_returns_the_newest_part_when_the_file_grew(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "m.jsonl", [{"step": s, "loss": 1.0} for s in (0, 1)])
    (ref,) = scan(tmp_path)
    assert "#" not in ref.id
    with open(p, "a") as fh:
        fh.write(json.dumps({"step": 0, "loss": 2.0}) + "\n")
    run = SOURCE.load(ref)
    assert run.id == ref.id + "#2" and run.metrics["loss"].values.tolist() == [2.0]
    assert run.read_notes[-1] == f"earlier runs in this file: {ref.id}#1"


def test_csv_appended_runs_are_split_in_scan_and_load(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("step,loss\n0,1\n5,2\n0,3\n5,4\n0,5\n")
    refs = scan(tmp_path)
    assert [r.id[-2:] for r in sorted(refs, key=lambda r: r.id)] == ["#1", "#2", "#3"]
    runs = load_file(tmp_path / "log.csv")
    assert [r.metrics["loss"].values.tolist() for r in runs] == [[1.0, 2.0], [3.0, 4.0], [5.0]]


def test_state_is_unknown_when_untouched_and_running_when_fresh(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "m.jsonl", [{"step": 1, "loss": 1.0}])
    (run,) = load_file(p)
    assert run.state() is RunState.RUNNING
    os.utime(p, (1_000_000_000, 1_000_000_000))
    (run,) = load_file(p)
    assert run.last_activity == 1_000_000_000
    assert run.state() is RunState.UNKNOWN


@pytest.mark.skipif(not DETR.exists(), reason="shared realdata not present")
def test_real_detr_log_txt_holds_two_runs_appended() -> None:
    assert metric_log.sniff(DETR) == "jsonl"
    one, two = load_file(DETR)
    assert (one.rows, two.rows) == (10, 51)
    # 94 keys per line: 92 scalar metrics, the step column (epoch), and the list of the 12
    # COCO bbox numbers, read as test_coco_eval_bbox[0..11] (AP is [0])
    assert len(one.metrics) == 92 + 12 and len(two.metrics) == 92 + 12
    assert one.non_scalar == {}
    assert one.metrics["test_coco_eval_bbox[0]"].values[0] == 0.0
    assert two.metrics["test_coco_eval_bbox[0]"].final == 0.2566035528316247
    assert "epoch" not in one.metrics
    assert one.metrics["train_loss"].steps.tolist() == list(range(10))
    assert two.metrics["train_loss"].steps.tolist() == list(range(51))
    assert one.metrics["n_parameters"].values.tolist() == [41_302_368.0] * 10
    assert two.metrics["n_parameters"].values.tolist() == [43_071_840.0] * 51
    assert one.metrics["train_loss"].values[0] == 43.395170375704765
    assert two.metrics["train_loss"].final == 10.365347698137358
    assert "part 1 of 2, lines 1-10" in one.read_notes[-1]
    assert "part 2 of 2, lines 11-61" in two.read_notes[-1]
    assert one.state() is RunState.UNKNOWN


@pytest.mark.skipif(not REAL.exists(), reason="shared realdata not present")
def test_real_corpus_metric_logs_found_are_detr_parts_only() -> None:
    found = []
    for folder, subdirs, files in os.walk(REAL):
        found += SOURCE.scan(Path(folder), sorted(files), subdirs)
    assert sorted(r.name_hint for r in found) == ["detr_jsonl_two_runs_appended/log.txt#1",
                                                  "detr_jsonl_two_runs_appended/log.txt#2"]
    assert {r.paths[0] for r in found} == {DETR}


def test_display_names_climb_past_generic_folders(tmp_path: Path) -> None:
    from runwise_core.sources.local_run import display_name

    assert display_name(Path("/x/slm/lightning_logs/version_0")) == "slm/version_0"
    assert display_name(Path("/x/detr/output/log.txt"), is_file=True) == "detr/log.txt"
    assert display_name(Path("/x/exp/log.csv"), is_file=True) == "exp/log.csv"
    assert display_name(Path("/x/cpt_run")) == "cpt_run"
    assert display_name(Path("/a.jsonl"), is_file=True) == "a.jsonl"


def test_a_byte_order_mark_is_not_part_of_the_first_key(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes("\ufeffstep,loss\n1,0.5\n2,0.25\n".encode())
    (tmp_path / "b.jsonl").write_bytes('\ufeff{"step": 1, "loss": 0.5}\n'.encode())
    assert len(scan(tmp_path)) == 2
    (a,) = load_file(tmp_path / "a.csv")
    (b,) = load_file(tmp_path / "b.jsonl")
    assert a.metrics["loss"].steps.tolist() == [1, 2] and b.metrics["loss"].steps.tolist() == [1]
    assert a.read_notes == [] and b.read_notes == []


def test_structured_debug_logs_with_a_step_are_not_metric_logs(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "server.log", [{"time": "t", "level": "INFO", "msg": "saved", "step": 5}])
    assert scan(tmp_path) == []


def test_parts_of_one_file_are_parsed_once_and_returned_fresh(tmp_path: Path, monkeypatch) -> None:
    write_jsonl(tmp_path / "m.jsonl", [{"step": s, "loss": 1.0} for s in (0, 1, 0, 1)])
    one, two = sorted(scan(tmp_path), key=lambda r: r.id)
    source = metric_log.MetricLogSource()
    calls = []
    real = metric_log._runs
    monkeypatch.setattr(metric_log, "_runs", lambda *a: calls.append(a) or real(*a))
    a, b = source.load(one), source.load(two)
    assert len(calls) == 1 and (a.id, b.id) == (one.id, two.id)
    a.read_notes.append("changed by a caller")
    assert "changed by a caller" not in source.load(one).read_notes
    with open(tmp_path / "m.jsonl", "a") as fh:  # a changed file is read again
        fh.write(json.dumps({"step": 2, "loss": 0.5}) + "\n")
    assert source.load(two).metrics["loss"].steps.tolist() == [0, 1, 2]
    assert len(calls) == 2


def test_a_keras_csv_logger_training_log_is_a_csv_run(tmp_path: Path) -> None:
    # Keras' CSVLogger('training.log'): epoch first, then the sorted metric names
    (tmp_path / "training.log").write_text(
        "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.2,0.55,1.1\n1,0.7,0.8,0.6,0.9\n")
    (tmp_path / "notes.log").write_text("epoch,comment\nfirst try,ok\n")  # no number in the step column
    (tmp_path / "app.log").write_text("2024-01-01 INFO step=3 loss=0.5\n")
    (ref,) = scan(tmp_path)
    assert ref.paths[0].name == "training.log"
    (run,) = load_file(tmp_path / "training.log")
    assert run.source == "csv"
    assert run.metrics["val_loss"].steps.tolist() == [0, 1] and run.metrics["val_loss"].values.tolist() == [1.1, 0.9]


def test_a_log_opening_with_a_config_object_is_found(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "run.jsonl", [{"config": {"lr": 0.1}, "name": "exp"},
                                         {"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25}])
    (ref,) = scan(tmp_path)
    run = SOURCE.load(ref)
    assert run.metrics["loss"].steps.tolist() == [1, 2]
    assert run.non_scalar == {"config": "dict", "name": "string"}


def test_appended_runs_after_a_config_object_are_still_split(tmp_path: Path) -> None:
    rows = [{"config": {"lr": 0.1}}] + [{"step": s, "loss": 1.0} for s in (0, 1, 0, 1, 2)]
    write_jsonl(tmp_path / "run.jsonl", rows)
    assert len(scan(tmp_path)) == 2
    one, two = load_file(tmp_path / "run.jsonl")
    assert (one.rows, two.rows) == (3, 3)  # the config row belongs to the first run
