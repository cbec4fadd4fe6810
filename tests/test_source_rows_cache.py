"""JSONL, CSV and Lightning reads through the on-disk cache: the same answer as an uncached
read, no second parse of an unchanged file, a grown file parsed from its last complete line,
a rewritten one (Lightning's new-key rewrite) afresh, and a torn tail never cached."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from runwise_core.model import Run
from runwise_core.sources import line_records, metric_log


def read(folder: Path, cache: RunCache | None) -> list[Run]:
    """The runs below ``folder``, each read as a new process would (no in-process memo)."""
    metric_log.SOURCE._last = None
    return Catalog([folder], cache=cache).runs()


def assert_same(a: list[Run], b: list[Run]) -> None:
    assert [r.id for r in a] == [r.id for r in b]
    for x, y in zip(a, b):
        assert list(x.metrics) == list(y.metrics)
        for key in x.metrics:
            assert x.metrics[key].steps.tolist() == y.metrics[key].steps.tolist()
            assert np.array_equal(x.metrics[key].values, y.metrics[key].values, equal_nan=True)
        assert (x.non_scalar, x.read_notes, x.rows, x.last_step, x.config) == \
               (y.non_scalar, y.read_notes, y.rows, y.last_step, y.config)


def spy(monkeypatch) -> list[int]:
    """Starting offsets of every line read."""
    starts: list[int] = []
    real = line_records._complete_lines

    def wrapped(path, cursor, tail):
        starts.append(cursor.offset)
        return real(path, cursor, tail)

    monkeypatch.setattr(line_records, "_complete_lines", wrapped)
    return starts


JSONL = (b'{"step": 0, "loss": 1.0, "phase": "a"}\n'
         b'not json\n'
         b'{"step": 1, "loss": NaN, "ap": [0.1, 0.2]}\n'
         b'{"step": 2, "loss": 0.25, "bad": "\xff"}\n')


@pytest.fixture()
def jsonl(tmp_path: Path) -> Path:
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "log.jsonl").write_bytes(JSONL)
    return folder


def test_cached_jsonl_read_equals_uncached_and_is_not_parsed_again(jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    cache = RunCache(tmp_path / "cache")
    fresh = read(jsonl, None)
    assert_same(read(jsonl, cache), fresh)
    starts = spy(monkeypatch)
    assert_same(read(jsonl, cache), fresh)
    assert starts == [len(JSONL)]  # only the (empty) rest after the cached end
    assert fresh[0].read_notes == ["log.jsonl line 2: invalid JSON (Expecting value); skipped",
                                   "log.jsonl line 4: not UTF-8 at byte 34; skipped"]


def test_a_grown_jsonl_is_parsed_from_its_last_complete_line(jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    cache = RunCache(tmp_path / "cache")
    read(jsonl, cache)
    with open(jsonl / "log.jsonl", "ab") as fh:
        fh.write(b'{"step": 3, "loss": 0.125}\n')
    starts = spy(monkeypatch)
    (run,) = read(jsonl, cache)
    assert starts == [len(JSONL)]
    assert run.metrics["loss"].steps.tolist() == [0, 1, 3]  # line 4 (step 2) is not UTF-8
    assert_same([run], read(jsonl, None))


def test_a_torn_tail_is_never_cached_and_is_noted_each_time(jsonl: Path, tmp_path: Path) -> None:
    cache = RunCache(tmp_path / "cache")
    with open(jsonl / "log.jsonl", "ab") as fh:
        fh.write(b'{"step": 3, "lo')
    for _ in range(2):
        (run,) = read(jsonl, cache)
        assert run.read_notes[-1] == "log.jsonl line 5: partial last line; skipped"
        assert run.metrics["loss"].last_step == 1
    with open(jsonl / "log.jsonl", "ab") as fh:
        fh.write(b'ss": 0.1}\n')
    (run,) = read(jsonl, cache)
    assert run.metrics["loss"].last_step == 3 and not any("partial" in n for n in run.read_notes)
    assert_same([run], read(jsonl, None))


def test_appended_runs_split_the_same_through_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "detr" / "output"
    folder.mkdir(parents=True)
    rows = [{"epoch": e, "loss": 1.0 / (e + 1)} for e in range(3)] * 2
    (folder / "log.txt").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cache = RunCache(tmp_path / "cache")
    fresh = read(folder, None)
    assert len(fresh) == 2
    assert_same(read(folder, cache), fresh)
    assert_same(read(folder, cache), fresh)


def test_a_lightning_rewrite_with_a_new_key_is_read_afresh(tmp_path: Path) -> None:
    v0 = tmp_path / "lightning_logs" / "version_0"
    v0.mkdir(parents=True)
    csv_path = v0 / "metrics.csv"
    csv_path.write_text("epoch,step,train_loss\n0,9,1.0\n0,19,0.5\n")
    cache = RunCache(tmp_path / "cache")
    read(v0, cache)
    with open(csv_path, "w") as fh:  # same file, rewritten in place with the union header
        fh.write("epoch,step,train_loss,val_loss\n0,9,1.0,\n0,19,0.5,\n0,19,,0.75\n")
    (run,) = read(v0, cache)
    assert run.metrics["val_loss"].steps.tolist() == [19]
    assert_same([run], read(v0, None))
    with open(csv_path, "a") as fh:  # then appended to: resumed with the header from the cache
        fh.write("1,29,0.25,\n")
    (run,) = read(v0, cache)
    assert run.metrics["train_loss"].steps.tolist() == [9, 19, 29]
    assert_same([run], read(v0, None))
