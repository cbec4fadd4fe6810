"""The on-disk cache of decoded logs never changes an answer.

Every test compares a cached read with an uncached read of the same files, value for value
(NaN equal to NaN): a first read that fills the cache, a second that uses it, a read after
the file grew (which resumes), after it shrank or was rewritten (which starts over), with a
corrupt cache file (ignored and replaced), and with readers and a writer running at once in
separate processes.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from runwise_core import cache as cache_mod
from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from runwise_core.model import Run
from runwise_core.sources import wandb_binary
from runwise_core.sources.wandb_framing import HEADER, ReadReport, iter_payloads
from wandb_runs import make_run


# -- helpers ------------------------------------------------------------------------------
def read(folder: Path, cache: RunCache | None) -> Run:
    runs = Catalog([folder], cache=cache).runs()
    assert len(runs) == 1
    return runs[0]


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def assert_same_run(cached: Run, fresh: Run) -> None:
    """Every field equal; every series equal in steps, values and dtypes (NaN == NaN)."""
    for name in Run.__dataclass_fields__:
        a, b = getattr(cached, name), getattr(fresh, name)
        if name in ("metrics", "system"):
            assert list(a) == list(b), name
            for key in a:
                assert_same_series(a[key], b[key], f"{name}[{key}]")
        elif name == "timestamps":
            assert (a is None) == (b is None)
            if a is not None:
                assert_same_series(a, b, name)
        else:
            assert same(a, b), f"{name}: {a!r} != {b!r}"


def assert_same_series(a, b, what: str) -> None:
    assert a.steps.dtype == b.steps.dtype == np.int64, what
    assert a.values.dtype == b.values.dtype == np.float64, what
    assert np.array_equal(a.steps, b.steps), what
    assert np.array_equal(a.values, b.values, equal_nan=True), what


def record_ends(log: Path) -> list[int]:
    """The byte offset just past each record of a ``.wandb`` log."""
    report = ReadReport(log)
    ends = []
    for _ in iter_payloads(log, report, HEADER):
        ends.append(report.end_offset)
    return ends


def entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.rwc"))


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("cache-src")
    make_run(base, "finished")
    return next((base / "wandb").glob("offline-run-*"))


def copy_run(src: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "wandb" / src.name
    shutil.copytree(src, folder)
    return folder, next(folder.glob("*.wandb"))


def legacy_rows(n: int, start: int = 0) -> list[str]:
    rows = []
    for i in range(start, start + n):
        row = {"_step": i, "_runtime": i * 0.5, "_timestamp": 1.6e9 + i, "loss": 1.0 / (i + 1), "acc": i / 100}
        if i % 7 == 3:
            row["loss"] = float("nan")
        if i % 11 == 5:
            row["acc"] = float("inf")
        if i % 10 == 0:
            row["val"] = {"loss": 2.0 / (i + 1)}
        if i == 4:
            row["text"] = "hello"
        rows.append(json.dumps(row) + "\n")
    return rows


def write_legacy(tmp_path: Path, lines: list[str]) -> tuple[Path, Path]:
    folder = tmp_path / "wandb" / "run-20200101_000000-legacy1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wandb-metadata.json").write_text(json.dumps({"name": "old", "state": "finished", "exitcode": 0}))
    history = folder / "wandb-history.jsonl"
    history.write_text("".join(lines))
    return folder, history


def bump_mtime(path: Path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


# -- binary .wandb --------------------------------------------------------------------------
def test_cached_wandb_read_equals_uncached_read(wandb_run, tmp_path):
    folder, _ = copy_run(wandb_run, tmp_path)
    cache = RunCache(tmp_path / "cache")
    fresh = read(folder, None)
    first = read(folder, cache)  # fills the cache
    assert len(entries(cache.root)) == 1
    second = read(folder, cache)  # from the cache
    assert fresh.rows == 200 and fresh.metrics
    assert_same_run(first, fresh)
    assert_same_run(second, fresh)


def test_an_unchanged_wandb_log_is_not_read_again(wandb_run, tmp_path, monkeypatch):
    folder, _ = copy_run(wandb_run, tmp_path)
    cache = RunCache(tmp_path / "cache")
    read(folder, cache)
    starts: list[int] = []
    real = wandb_binary.iter_batches
    monkeypatch.setattr(wandb_binary, "iter_batches", lambda p, r, s, **kw: (starts.append(s), real(p, r, s, **kw))[1])
    read(folder, cache)
    assert starts == []


def test_a_grown_wandb_log_resumes_where_the_cached_read_stopped(wandb_run, tmp_path, monkeypatch):
    folder, log = copy_run(wandb_run, tmp_path)
    data = log.read_bytes()
    ends = record_ends(log)
    cut = ends[len(ends) // 2] + 5  # mid-record: the cached read ends on a torn record
    log.write_bytes(data[:cut])
    cache = RunCache(tmp_path / "cache")
    partial = read(folder, cache)
    assert partial.read_notes and 0 < partial.rows < 200
    assert_same_run(partial, read(folder, None))
    with open(log, "ab") as f:  # the writer goes on
        f.write(data[cut:])
    starts: list[int] = []
    real = wandb_binary.iter_batches
    monkeypatch.setattr(wandb_binary, "iter_batches", lambda p, r, s, **kw: (starts.append(s), real(p, r, s, **kw))[1])
    grown = read(folder, cache)
    assert starts == [ends[len(ends) // 2]]  # the last record boundary, not the header
    assert grown.rows == 200 and not grown.read_notes
    assert_same_run(grown, read(folder, None))


def test_a_shrunk_or_rewritten_wandb_log_is_decoded_afresh(wandb_run, tmp_path):
    folder, log = copy_run(wandb_run, tmp_path)
    data = log.read_bytes()
    cache = RunCache(tmp_path / "cache")
    read(folder, cache)
    ends = record_ends(log)
    log.write_bytes(data[:ends[100]])  # shrink
    shrunk = read(folder, cache)
    assert shrunk.rows < 200
    assert_same_run(shrunk, read(folder, None))
    # Same size, other bytes (a flipped value byte keeps the crc from matching): rewritten.
    damaged = bytearray(data)
    damaged[ends[300] - 3] ^= 0x01
    log.write_bytes(bytes(damaged))
    log.write_bytes(data)  # back to the full log, then rewrite in place with the damage
    read(folder, cache)
    log.write_bytes(bytes(damaged))
    bump_mtime(log)
    rewritten = read(folder, cache)
    assert_same_run(rewritten, read(folder, None))
    assert rewritten.read_notes  # the damage is seen, not hidden by the cache


def test_a_same_size_rewrite_with_its_mtime_put_back_is_decoded_afresh(wandb_run, tmp_path):
    """``cp -p`` or ``touch -d`` can restore an mtime; nothing restores a ctime."""
    folder, log = copy_run(wandb_run, tmp_path)
    data = log.read_bytes()
    cache = RunCache(tmp_path / "cache")
    first = read(folder, cache)
    st = os.stat(log)
    damaged = bytearray(data)
    damaged[record_ends(log)[300] - 3] ^= 0x01
    log.write_bytes(bytes(damaged))
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(log).st_size, os.stat(log).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    again = read(folder, cache)
    assert again.read_notes and not first.read_notes  # the damage is seen, not hidden by the cache
    assert_same_run(again, read(folder, None))


def test_a_replaced_wandb_log_with_a_new_inode_is_decoded_afresh(wandb_run, tmp_path):
    folder, log = copy_run(wandb_run, tmp_path)
    data = log.read_bytes()
    ends = record_ends(log)
    cache = RunCache(tmp_path / "cache")
    log.write_bytes(data[:ends[50]])
    read(folder, cache)
    tmp = log.with_suffix(".new")
    tmp.write_bytes(data)  # longer, but a different file: no resume from the old offset
    os.replace(tmp, log)
    assert_same_run(read(folder, cache), read(folder, None))


@pytest.mark.parametrize("damage", ["truncate", "flip_header", "flip_data", "garbage", "empty", "wrong_version"])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(wandb_run, tmp_path, damage):
    folder, _ = copy_run(wandb_run, tmp_path)
    cache = RunCache(tmp_path / "cache")
    fresh = read(folder, None)
    read(folder, cache)
    (entry,) = entries(cache.root)
    blob = bytearray(entry.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip_header":
        blob[20] ^= 0xFF
    elif damage == "flip_data":
        blob[-9] ^= 0x40
    elif damage == "garbage":
        blob = bytearray(os.urandom(len(blob)))
    elif damage == "empty":
        blob = bytearray()
    elif damage == "wrong_version":
        blob[7] = 99
    entry.write_bytes(bytes(blob))
    assert cache.get(wandb_binary.CACHE_KIND, next(folder.glob("*.wandb"))) is None
    assert_same_run(read(folder, cache), fresh)
    assert cache.get(wandb_binary.CACHE_KIND, next(folder.glob("*.wandb"))) is not None  # rewritten


def test_a_cache_file_of_another_log_is_not_used(wandb_run, tmp_path):
    a, _ = copy_run(wandb_run, tmp_path / "a")
    b, log_b = copy_run(wandb_run, tmp_path / "b")
    cache = RunCache(tmp_path / "cache")
    read(a, cache)
    (entry,) = entries(cache.root)
    target = cache.entry_path(wandb_binary.CACHE_KIND, log_b)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(entry, target)  # a's entry under b's name: its recorded path is a's
    assert cache.get(wandb_binary.CACHE_KIND, log_b) is None


# -- legacy JSONL ----------------------------------------------------------------------------
def test_cached_legacy_read_equals_uncached_read_and_grows_by_appending(tmp_path):
    folder, history = write_legacy(tmp_path, legacy_rows(300))
    cache = RunCache(tmp_path / "cache")
    assert_same_run(read(folder, cache), read(folder, None))
    assert_same_run(read(folder, cache), read(folder, None))
    with open(history, "a") as f:
        f.writelines(legacy_rows(50, start=300))
        f.write('{"_step": 350, "loss": 0.')  # a writer mid-line
    grown = read(folder, cache)
    assert grown.rows == 350 and grown.read_notes == ["wandb-history.jsonl line 351: last line is partial; skipped"]
    assert_same_run(grown, read(folder, None))
    assert_same_run(read(folder, cache), read(folder, None))  # unchanged: from the cache
    with open(history, "a") as f:
        f.write('1}\n{"_step": 351, "loss": 5}\n')
    finished = read(folder, cache)
    assert finished.rows == 352 and not finished.read_notes
    assert_same_run(finished, read(folder, None))


def test_legacy_cache_sees_bad_lines_and_shrinking(tmp_path):
    lines = legacy_rows(40)
    lines[10] = "{not json\n"
    lines[20] = "[1, 2]\n"
    folder, history = write_legacy(tmp_path, lines)
    cache = RunCache(tmp_path / "cache")
    first = read(folder, cache)
    assert len(first.read_notes) == 2
    assert_same_run(read(folder, cache), read(folder, None))
    history.write_text("".join(lines[:15]))
    assert_same_run(read(folder, cache), read(folder, None))


# -- where, and when not ---------------------------------------------------------------------
def test_cache_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNWISE_CACHE_DIR", str(tmp_path / "rc"))
    assert cache_mod.default_dir() == tmp_path / "rc"
    monkeypatch.delenv("RUNWISE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_mod.default_dir() == tmp_path / "xdg" / "runwise"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_mod.default_dir() == Path.home() / ".cache" / "runwise"
    monkeypatch.setenv("RUNWISE_NO_CACHE", "1")
    assert Catalog([tmp_path]).cache is None
    monkeypatch.setenv("RUNWISE_NO_CACHE", "0")
    assert Catalog([tmp_path]).cache is not None


def test_nothing_is_written_inside_the_run_folder(wandb_run, tmp_path):
    folder, _ = copy_run(wandb_run, tmp_path)
    before = sorted((p.relative_to(folder), p.stat().st_size) for p in folder.rglob("*"))
    cache = RunCache(tmp_path / "cache")
    read(folder, cache)
    read(folder, cache)
    assert sorted((p.relative_to(folder), p.stat().st_size) for p in folder.rglob("*")) == before
    assert entries(cache.root) and all(folder not in e.parents for e in entries(cache.root))


def test_an_unwritable_cache_costs_time_not_answers(wandb_run, tmp_path):
    folder, _ = copy_run(wandb_run, tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    cache = RunCache(blocker / "cache")
    assert_same_run(read(folder, cache), read(folder, None))
    assert cache.notes


# -- concurrency -------------------------------------------------------------------------------
def _writer(history: str, rows: int, done: str) -> None:
    with open(history, "a") as f:
        for i in range(100, rows):
            f.write(legacy_rows(1, start=i)[0])
            f.flush()
            if i % 25 == 0:
                time.sleep(0.01)
    Path(done).write_text("done")


def _reader(folder: str, cache_dir: str, done: str, out: str) -> None:
    """Read over and over while the writer writes; record (rows, ok) for each read."""
    seen = []
    while True:
        finished = os.path.exists(done)
        run = Catalog([Path(folder)], cache=RunCache(Path(cache_dir))).runs()[0]
        loss = run.metrics["loss"]
        # Every read is a prefix of what the writer writes: steps 0..rows-1, values by formula.
        expect = [float("nan") if i % 7 == 3 else 1.0 / (i + 1) for i in range(run.rows)]
        ok = (np.array_equal(loss.steps, np.arange(run.rows))
              and np.array_equal(loss.values, np.array(expect), equal_nan=True))
        seen.append([run.rows, bool(ok)])
        if finished:
            break
    Path(out).write_text(json.dumps(seen))


def test_readers_and_a_writer_in_separate_processes(tmp_path):
    folder, history = write_legacy(tmp_path, legacy_rows(100))
    cache_dir, done = tmp_path / "cache", tmp_path / "done"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(history), 1500, str(done)))]
    outs = [tmp_path / f"reader{i}.json" for i in range(2)]
    procs += [ctx.Process(target=_reader, args=(str(folder), str(cache_dir), str(done), str(o))) for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    for out in outs:
        seen = json.loads(out.read_text())
        assert seen and all(ok for _, ok in seen)
        rows = [r for r, _ in seen]
        assert rows == sorted(rows) and rows[-1] == 1500
    assert_same_run(read(folder, RunCache(cache_dir)), read(folder, None))


def test_prune_removes_entries_of_logs_that_are_gone(wandb_run, tmp_path):
    kept, _ = copy_run(wandb_run, tmp_path / "kept")
    gone, _ = copy_run(wandb_run, tmp_path / "gone")
    cache = RunCache(tmp_path / "cache")
    read(kept, cache)
    read(gone, cache)
    assert len(entries(cache.root)) == 2
    shutil.rmtree(gone)
    assert cache.prune() == 1
    (left,) = entries(cache.root)
    assert cache.get(wandb_binary.CACHE_KIND, next(kept.glob("*.wandb"))) is not None
    assert_same_run(read(kept, cache), read(kept, None))
