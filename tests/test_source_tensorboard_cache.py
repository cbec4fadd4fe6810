"""TensorBoard reads through the on-disk cache: same answer, no second decode of an unchanged
file, a grown file decoded from where it ended, a rewritten one afresh, tail notes kept."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

tbx = pytest.importorskip("tensorboardX")
from tensorboardX.record_writer import masked_crc32c  # noqa: E402
from tensorboardX.proto import event_pb2, summary_pb2  # noqa: E402

from runwise_core.cache import RunCache  # noqa: E402
from runwise_core.catalog import Catalog  # noqa: E402
from runwise_core.model import Run  # noqa: E402
from runwise_core.sources import tensorboard  # noqa: E402


def read(folder: Path, cache: RunCache | None) -> Run:
    (run,) = Catalog([folder], cache=cache).runs()
    return run


def record(step: int, value: float, tag: str = "loss") -> bytes:
    data = event_pb2.Event(wall_time=1_700_000_000.0 + step, step=step, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])).SerializeToString()
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def assert_same(a: Run, b: Run) -> None:
    assert list(a.metrics) == list(b.metrics)
    for key in a.metrics:
        assert a.metrics[key].steps.tolist() == b.metrics[key].steps.tolist()
        va, vb = a.metrics[key].values, b.metrics[key].values
        assert va.dtype == vb.dtype and np.array_equal(va, vb, equal_nan=True)
    assert (a.non_scalar, a.read_notes, a.rows, a.last_step) == (b.non_scalar, b.read_notes, b.rows, b.last_step)
    assert (a.start_time, a.last_activity, a.runtime_s) == (b.start_time, b.last_activity, b.runtime_s)
    assert a.timestamps.steps.tolist() == b.timestamps.steps.tolist()


@pytest.fixture()
def tb_run(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "exp"
    w = tbx.SummaryWriter(str(folder))
    for s in range(50):
        w.add_scalar("train/loss", 1.0 / (s + 1), s)
        w.add_scalar("weird", math.nan if s == 3 else float(s), s)
        if s % 10 == 0:
            w.add_histogram("w", np.arange(5.0), s)
    w.close()
    return folder


def counting(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = tensorboard.read_records

    def spy(path, notes, start=0):
        calls.append(start)
        return real(path, notes, start)

    monkeypatch.setattr(tensorboard, "read_records", spy)
    return calls


def test_cached_read_equals_uncached_read(tb_run: Path, tmp_path: Path) -> None:
    cache = RunCache(tmp_path / "cache")
    fresh = read(tb_run, None)
    first, second = read(tb_run, cache), read(tb_run, cache)
    assert_same(first, fresh)
    assert_same(second, fresh)
    assert fresh.non_scalar == {"w": "histogram"} and len(fresh.metrics["train/loss"]) == 50


def test_an_unchanged_file_is_not_decoded_again(tb_run: Path, tmp_path: Path, monkeypatch) -> None:
    cache = RunCache(tmp_path / "cache")
    read(tb_run, cache)
    calls = counting(monkeypatch)
    read(tb_run, cache)
    (path,) = tb_run.glob("events.out.tfevents.*")
    assert calls == [path.stat().st_size]  # only the (empty) tail after the cached end is looked at


def test_a_grown_file_is_decoded_from_where_it_ended(tb_run: Path, tmp_path: Path, monkeypatch) -> None:
    cache = RunCache(tmp_path / "cache")
    read(tb_run, cache)
    (path,) = tb_run.glob("events.out.tfevents.*")
    end = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(record(50, 0.5, "train/loss") + record(51, 0.25, "train/loss"))
    calls = counting(monkeypatch)
    grown = read(tb_run, cache)
    assert calls == [end]
    assert grown.metrics["train/loss"].steps.tolist()[-3:] == [49, 50, 51]
    assert_same(grown, read(tb_run, None))


def test_a_rewritten_file_is_decoded_afresh(tb_run: Path, tmp_path: Path, monkeypatch) -> None:
    cache = RunCache(tmp_path / "cache")
    read(tb_run, cache)
    (path,) = tb_run.glob("events.out.tfevents.*")
    path.write_bytes(record(0, 9.0) + record(1, 8.0))  # shorter, other content
    calls = counting(monkeypatch)
    run = read(tb_run, cache)
    assert calls == [0]
    assert list(run.metrics) == ["loss"] and run.metrics["loss"].values.tolist() == [9.0, 8.0]


def test_a_torn_tail_is_noted_on_every_read_and_completed_later(tb_run: Path, tmp_path: Path) -> None:
    cache = RunCache(tmp_path / "cache")
    (path,) = tb_run.glob("events.out.tfevents.*")
    tail = record(50, 0.5, "train/loss")
    with open(path, "ab") as fh:
        fh.write(tail[:10])
    for _ in range(2):
        run = read(tb_run, cache)
        assert any("torn last record" in n for n in run.read_notes)
        assert run.metrics["train/loss"].last_step == 49
    with open(path, "ab") as fh:
        fh.write(tail[10:])
    run = read(tb_run, cache)
    assert run.metrics["train/loss"].last_step == 50 and not any("torn" in n for n in run.read_notes)
    assert_same(run, read(tb_run, None))
