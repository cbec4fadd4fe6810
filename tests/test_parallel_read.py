"""A big log read on several processes gives exactly what a one-process read gives.

The logs here are small real wandb runs; lowering ``parallel.MIN_BYTES`` makes the reader
split them into parts of a few blocks, so every part boundary, worker and join is exercised,
on intact logs and on logs damaged before, at and after the boundaries.
"""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from runwise_core.catalog import Catalog
from runwise_core.sources import parallel, wandb_binary
from runwise_core.sources.wandb_framing import BLOCK
from wandb_runs import make_run, record_ends


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("parallel")
    out = {}
    for scenario in ("finished", "killed"):
        make_run(base / scenario, scenario)
        folder = next((base / scenario / "wandb").glob("offline-run-*"))
        out[scenario] = folder
    return out


def read(folder: Path, workers: int, monkeypatch, min_bytes: int = BLOCK):
    monkeypatch.setenv(parallel.WORKERS_ENV, str(workers))
    monkeypatch.setattr(parallel, "MIN_BYTES", min_bytes)
    return Catalog([folder], cache=None).runs()[0]


def facts(run) -> dict:
    """Everything a reader decides, in comparable form."""
    return {
        "metrics": {k: (s.steps.tolist(), s.values.tobytes()) for k, s in run.metrics.items()},
        "summary": repr(run.summary),
        "rows": run.rows,
        "notes": run.read_notes,
        "console": run.console_tail,
        "last": (run.last_activity, run.last_step, run.name, run.start_time),
        "config": repr(run.config),
        "exit": (run.exited, run.exit_code),
        "runtime": run.runtime_s,
        "non_scalar": run.non_scalar,
        "stamps": None if run.timestamps is None else run.timestamps.values.tobytes(),
        "system": {k: s.values.tobytes() for k, s in run.system.items()},
    }


def copy_with(folder: Path, tmp_path: Path, mutate) -> Path:
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    log = next(copy.glob("*.wandb"))
    log.write_bytes(bytes(mutate(bytearray(log.read_bytes()))))
    return copy


def parts_of(folder: Path, monkeypatch, workers: int, min_bytes: int = BLOCK) -> list[tuple[int, int]]:
    monkeypatch.setenv(parallel.WORKERS_ENV, str(workers))
    log = next(folder.glob("*.wandb"))
    return parallel.split(7, log.stat().st_size, BLOCK, min_bytes)


@pytest.mark.parametrize("scenario", ["finished", "killed"])
@pytest.mark.parametrize("workers", [2, 3])
def test_split_read_equals_one_process(runs, monkeypatch, scenario, workers):
    folder = runs[scenario]
    parts = parts_of(folder, monkeypatch, workers)
    assert len(parts) >= 2  # really split
    one = facts(read(folder, 1, monkeypatch))
    joined = []
    real_join = wandb_binary.Part.report_into
    monkeypatch.setattr(wandb_binary.Part, "report_into", lambda self, r: (joined.append(self), real_join(self, r))[1])
    split = facts(read(folder, workers, monkeypatch))
    assert split == one
    assert len(joined) == len(parts) - 1  # every later part came from a worker, none re-read here
    assert one["rows"] > 0 and one["metrics"]


def test_a_part_starting_inside_a_record_skips_its_tail(runs):
    """Most block starts fall inside a record (records do not end on block ends): a part
    read from there begins at the next record, and the parts read block by block tile the
    log's records exactly."""
    log = next(runs["killed"].glob("*.wandb"))
    size = log.stat().st_size
    whole = wandb_binary.decode_part(str(log), 0, None)
    inside = records = 0
    for start in range(BLOCK, size, BLOCK):
        part = wandb_binary.decode_part(str(log), start, start + BLOCK)
        first = part.report.first_record
        assert first is not None and start <= first < start + BLOCK
        inside += first > start
        records += part.report.records
    first_block = wandb_binary.decode_part(str(log), 0, BLOCK).report.records
    assert first_block + records == whole.report.records
    assert inside > (size // BLOCK) // 2


def _flip(at):
    def mutate(d):
        d[at] ^= 0xFF
        return d
    return mutate


def _cut(at):
    return lambda d: d[:at]


def _zero_tail(at):
    def mutate(d):
        d[at:] = bytes(len(d) - at)
        return d
    return mutate


@pytest.mark.parametrize("where", ["before", "at", "after", "in-last"])
@pytest.mark.parametrize("damage", ["flip", "cut", "zeros"])
def test_damage_around_part_boundaries_reads_as_one_process(runs, monkeypatch, tmp_path, where, damage):
    folder = runs["killed"]
    parts = parts_of(folder, monkeypatch, 3)
    boundary = parts[1][0]
    at = {"before": boundary - 40, "at": boundary + 3, "after": boundary + 200,
          "in-last": parts[2][0] + BLOCK + 77}[where]
    mutate = {"flip": _flip, "cut": _cut, "zeros": _zero_tail}[damage](at)
    copy = copy_with(folder, tmp_path, mutate)
    one = facts(read(copy, 1, monkeypatch))
    split = facts(read(copy, 3, monkeypatch))
    assert split == one
    if damage != "cut" or at not in record_ends(next(folder.glob("*.wandb")).read_bytes()):
        assert one["notes"], "the damage is reported"


def test_a_worker_process_decodes_a_part(runs):
    log = next(runs["killed"].glob("*.wandb"))
    with parallel.workers() as pool:
        job = pool.submit(wandb_binary.decode_part, str(log), 4 * BLOCK, 8 * BLOCK)
        part = job.result()
    here = wandb_binary.decode_part(str(log), 4 * BLOCK, 8 * BLOCK)
    assert part is not None and part.report == here.report and part.report.records > 0
    assert part.report.reached_stop and not part.report.notes
    rows = [op.count for op in part.ops if isinstance(op, wandb_binary.Rows)]
    assert sum(rows) == sum(op.count for op in here.ops if isinstance(op, wandb_binary.Rows)) > 0


def test_a_failed_worker_is_read_here(runs, monkeypatch):
    """A worker that cannot start (here: no interpreter) costs time, never data."""
    folder = runs["killed"]
    one = facts(read(folder, 1, monkeypatch))
    monkeypatch.setattr(parallel.sys, "executable", "/nonexistent/python")
    assert facts(read(folder, 3, monkeypatch)) == one


def test_a_worker_answering_garbage_is_read_here(runs, monkeypatch):
    folder = runs["finished"]
    one = facts(read(folder, 1, monkeypatch))
    monkeypatch.setattr(parallel.Job, "result", lambda self: (self.cancel(), wandb_binary.Part(
        wandb_binary.ReadReport(Path("x"), first_record=12345), []))[1])
    assert facts(read(folder, 3, monkeypatch)) == one


def test_split_covers_the_range_on_aligned_boundaries(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_ENV, "4")
    parts = parallel.split(7, 10 * 2**20 + 5, BLOCK, min_bytes=2**20)
    assert len(parts) == 4
    assert parts[0][0] == 7 and parts[-1][1] == 10 * 2**20 + 5
    assert all(a < b for a, b in parts)
    assert all(parts[i][1] == parts[i + 1][0] for i in range(3))
    assert all(a % BLOCK == 0 for a, _ in parts[1:])
    assert parallel.split(7, 2**20 - 1, BLOCK, min_bytes=2**20) == [(7, 2**20 - 1)]
    monkeypatch.setenv(parallel.WORKERS_ENV, "1")
    assert parallel.split(7, 10 * 2**20, BLOCK, min_bytes=2**20) == [(7, 10 * 2**20)]


@pytest.mark.parametrize("value,expected", [("3", 3), ("1", 1), ("0", 1), ("-2", 1), ("lots", None)])
def test_workers_env(monkeypatch, value, expected):
    monkeypatch.setenv(parallel.WORKERS_ENV, value)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    got = parallel.worker_count()
    assert got == expected if expected is not None else 1 <= got <= parallel.MAX_WORKERS


def test_worker_runs_only_runwise_functions():
    out = io.BytesIO()
    parallel.serve(io.BytesIO(pickle.dumps(("os", "system", ("echo hi",)))), out)
    ok, message = pickle.loads(out.getvalue())
    assert not ok and "not a runwise function" in message


def test_worker_reports_its_errors_instead_of_dying(tmp_path):
    out = io.BytesIO()
    missing = str(tmp_path / "gone.wandb")
    parallel.serve(io.BytesIO(pickle.dumps(("runwise_core.sources.wandb_binary", "decode_part", (missing, BLOCK, None)))), out)
    ok, message = pickle.loads(out.getvalue())
    assert not ok and "gone.wandb" in message


def test_split_results_are_cached_like_one_process_results(runs, monkeypatch, tmp_path):
    """The cache entry a split read writes serves the next read the same answer."""
    from runwise_core.cache import RunCache

    folder = runs["finished"]
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    monkeypatch.setattr(parallel, "MIN_BYTES", BLOCK)
    cache = RunCache(tmp_path / "cache")
    first = facts(Catalog([folder], cache=cache).runs()[0])
    again = facts(Catalog([folder], cache=cache).runs()[0])
    assert first == again == facts(read(folder, 1, monkeypatch))
