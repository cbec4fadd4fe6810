"""One contract every local reader keeps, run against each with the same curve.

Each builder writes ``loss`` = 1.0, 0.5, 0.25 at steps 10, 20, 30 in its format (with the
format's real writer where one is installed) into a folder, with times either now or long
ago; the checks are the same for all.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from runwise_core.errors import UnreadableLog
from runwise_core.model import RunState
from runwise_core.sources import hf_trainer, lightning_csv, metric_log, tensorboard
from runwise_core.sources.registry import SOURCE_MODULES

STEPS, LOSS = [10, 20, 30], [1.0, 0.5, 0.25]
OLD = 1_000_000_000.0


def _age(paths: list[Path], old: bool) -> None:
    if old:
        for p in paths:
            os.utime(p, (OLD, OLD))


def build_tensorboard(folder: Path, old: bool) -> None:
    tbx = pytest.importorskip("tensorboardX")
    from tensorboardX.proto import event_pb2, summary_pb2
    from tensorboardX.record_writer import RecordWriter

    if not old:
        w = tbx.SummaryWriter(str(folder))
        for s, v in zip(STEPS, LOSS):
            w.add_scalar("loss", v, s)
        w.close()
        return
    rw = RecordWriter(str(folder / "events.out.tfevents.1000000000.host.1.0"))
    rw.write(event_pb2.Event(wall_time=OLD, file_version="brain.Event:2").SerializeToString())
    for s, v in zip(STEPS, LOSS):
        rw.write(event_pb2.Event(wall_time=OLD + s, step=s, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="loss", simple_value=v)])).SerializeToString())
    rw.close()


def build_hf(folder: Path, old: bool) -> None:
    history = [{"epoch": s / 30, "loss": v, "step": s} for s, v in zip(STEPS, LOSS)]
    state = {"epoch": 1.0, "global_step": 30, "max_steps": 60, "log_history": history, "logging_steps": 10}
    path = folder / "trainer_state.json"
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    _age([path], old)


def build_lightning(folder: Path, old: bool) -> None:
    folder = folder  # the folder is named version_0 by the fixture
    path = folder / "metrics.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["epoch", "loss", "step"])
        w.writeheader()
        w.writerows({"epoch": 0, "loss": v, "step": s} for s, v in zip(STEPS, LOSS))
    (folder / "hparams.yaml").write_text("lr: 0.1\n")
    _age([path], old)


def build_jsonl(folder: Path, old: bool) -> None:
    path = folder / "log.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": v}) + "\n" for s, v in zip(STEPS, LOSS)))
    _age([path], old)


def build_csv(folder: Path, old: bool) -> None:
    path = folder / "log.csv"
    path.write_text("step,loss\n" + "".join(f"{s},{v}\n" for s, v in zip(STEPS, LOSS)))
    _age([path], old)


READERS: dict[str, tuple[object, Callable[[Path, bool], None], str]] = {
    "tensorboard": (tensorboard.SOURCE, build_tensorboard, "tensorboard"),
    "hf-trainer": (hf_trainer.SOURCE, build_hf, "hf-trainer"),
    "lightning-csv": (lightning_csv.SOURCE, build_lightning, "lightning-csv"),
    "jsonl": (metric_log.SOURCE, build_jsonl, "jsonl"),
    "csv": (metric_log.SOURCE, build_csv, "csv"),
}


def _scan(source, folder: Path):
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    return source.scan(folder, files, [])


@pytest.fixture(params=sorted(READERS))
def reader(request, tmp_path: Path):
    source, build, run_source = READERS[request.param]
    folder = tmp_path / "exp" / "version_0"
    folder.mkdir(parents=True)
    return source, build, run_source, folder


def test_every_local_source_is_registered() -> None:
    assert {"tensorboard", "hf_trainer", "lightning_csv", "metric_log"} <= set(SOURCE_MODULES)


def test_scan_claims_one_run_and_load_reads_the_curve_exactly(reader) -> None:
    source, build, run_source, folder = reader
    build(folder, old=False)
    (ref,) = _scan(source, folder)
    assert ref.source == source.name
    run = source.load(ref)
    assert (run.id, run.source) == (ref.id, run_source)
    loss = run.metrics["loss"]
    assert loss.steps.dtype == np.int64 and loss.values.dtype == np.float64
    assert loss.steps.tolist() == STEPS and loss.values.tolist() == LOSS
    assert run.last_step == 30
    assert run.records_exits is False and run.exited is False and run.exit_code is None
    assert run.state() is RunState.RUNNING


def test_untouched_runs_are_unknown_never_crashed(reader) -> None:
    source, build, _, folder = reader
    build(folder, old=True)
    (ref,) = _scan(source, folder)
    run = source.load(ref)
    assert run.last_activity is not None and run.last_activity <= OLD + 30
    assert run.state() is RunState.UNKNOWN


def test_ids_are_stable_and_loads_are_deterministic(reader) -> None:
    source, build, _, folder = reader
    build(folder, old=True)
    (a,) = _scan(source, folder)
    (b,) = _scan(source, folder)
    assert a.id == b.id and len(a.id) <= len("version_0") + 7
    r1, r2 = source.load(a), source.load(b)
    assert r1.metric_keys() == r2.metric_keys() and r1.read_notes == r2.read_notes
    own = a.paths[0].name if a.paths[0].suffix in (".csv", ".jsonl") else "version_0"  # a log file, or its folder
    assert r1.name == r2.name and r1.name.endswith(own)


def test_a_run_deleted_after_the_scan_raises_unreadable_log_with_the_path(reader) -> None:
    source, build, _, folder = reader
    build(folder, old=True)
    (ref,) = _scan(source, folder)
    shutil.rmtree(folder)
    folder.mkdir()
    with pytest.raises(UnreadableLog, match=str(folder)):
        source.load(ref)


def test_one_folder_with_two_formats_gives_two_runs_with_two_ids(tmp_path: Path) -> None:
    folder = tmp_path / "version_0"
    folder.mkdir()
    build_tensorboard(folder, old=False)
    build_lightning(folder, old=False)
    (tb,) = _scan(tensorboard.SOURCE, folder)
    (pl,) = _scan(lightning_csv.SOURCE, folder)
    assert tb.id != pl.id and tb.id.startswith("version_0-") and pl.id.startswith("version_0-")
    assert _scan(metric_log.SOURCE, folder) == []  # metrics.csv there is Lightning's


def test_ids_of_long_folder_names_stay_short(tmp_path: Path) -> None:
    folder = tmp_path / "whisper_tiny_resumed_streaming_trainer_state"
    folder.mkdir()
    build_hf(folder, old=True)
    (ref,) = _scan(hf_trainer.SOURCE, folder)
    assert ref.id.startswith("whisper_tiny-") and len(ref.id) == 12 + 7
    assert ref.name_hint == "whisper_tiny_resumed_streaming_trainer_state"
