"""A big wandb-history.jsonl read on several processes gives exactly what a one-process read gives.

Lowering ``parallel.MIN_BYTES`` makes the reader split small files into parts that worker
processes decode. The files hold every kind of line the reader treats apart (blank, bad,
partial, not an object, no ``_step``, text and nested values, huge ints, NaN and Infinity,
non-ASCII keys, CRLF), and the reads compare on every point, note, stamp and count. A part
is cut at a newline, whatever its byte range; the in-process tests cut a small file at
every byte to show the parts tile it exactly.
"""

from __future__ import annotations

import json
import os
import pickle
import random
from pathlib import Path

import pytest

from runwise_core.cache import RunCache
from runwise_core.catalog import Catalog
from runwise_core.sources import parallel, wandb_history
from runwise_core.sources.wandb_history import History, decode_part, read_history
from runwise_core.sources.wandb_segment import Segment

MIN_BYTES = 16 << 10


def ordinary(i: int, rnd: random.Random, *, step: bool = True) -> bytes:
    row = {"train/loss": rnd.random() * 3, "train/lr": 3e-4 * (1 - i / 1e4), "perf/tokens_per_s": 5e4 + rnd.random()}
    if i % 50 == 0:
        row["val/loss"] = rnd.random()
    row.update({"_runtime": i / 10, "_timestamp": 1.6e9 + i / 10})
    if step:
        row["_step"] = i
    return json.dumps(row).encode()


def odd(i: int) -> list[bytes]:
    """Lines that each take a path of their own in the reader (all with a step)."""
    return [
        b"", b"   ", b"not json", b"[1, 2]", b'{"_step": %d, "note": "text"}' % i,
        b'{"_step": %d, "opt": {"lr": 0.1, "m": {"beta": 0.9}}}' % i, b'{"_step": %d, "big": 1%s}' % (i, b"0" * 400),
        b'{"_step": %d, "train/loss": NaN, "x": Infinity, "y": -Infinity}' % i, b'{"_step": %d, "\xc3\xa9t\xc3\xa9": 1}' % i,
        b'{"_step": %d, "flag": true, "none": null}' % i, b'{"_step": %d, "img": {"_type": "image-file"}}' % i,
    ]


def history_lines(kind: str, n: int = 3000, seed: int = 0) -> list[bytes]:
    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        lines.append(ordinary(i, rnd, step=not (kind == "stepless" and i % 97 == 13)))
        if kind in ("odd", "stepless", "crlf") and i % 211 == 5:
            lines.extend(odd(i))
        if kind == "stepless" and i % 389 == 7:
            lines.append(b'{"_step": 1e30, "train/loss": 1}')  # no step that fits: the row number too
    return lines


def write_history(folder: Path, kind: str, n: int = 3000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wandb-metadata.json").write_text(json.dumps({"state": "finished", "exitcode": 0}))
    end = b"\r\n" if kind == "crlf" else b"\n"
    text = end.join(history_lines(kind, n)) + end
    if kind in ("odd", "stepless"):
        text += b'{"_step": 99999, "train/loss": 0.5'  # the last line, cut mid-write
    path = folder / "wandb-history.jsonl"
    path.write_bytes(text)
    return path


def facts(run) -> dict:
    return {
        "metrics": {k: (s.steps.tolist(), s.values.tobytes()) for k, s in run.metrics.items()},
        "rows": run.rows, "notes": run.read_notes, "non_scalar": run.non_scalar, "runtime": run.runtime_s,
        "last": run.last_activity,
        "stamps": None if run.timestamps is None else (run.timestamps.steps.tolist(), run.timestamps.values.tobytes()),
    }


def read(root: Path, workers: int, monkeypatch, cache=None) -> dict:
    monkeypatch.setenv(parallel.WORKERS_ENV, str(workers))
    monkeypatch.setattr(parallel, "MIN_BYTES", MIN_BYTES)
    return facts(Catalog([root], cache=cache).runs()[0])


def count_joins(monkeypatch) -> list[History]:
    joined: list[History] = []
    real = History.join
    monkeypatch.setattr(History, "join", lambda self, part: (joined.append(part), real(self, part))[1])
    return joined


@pytest.mark.parametrize("kind", ["clean", "odd", "crlf"])
@pytest.mark.parametrize("workers", [2, 3])
def test_split_read_equals_one_process(tmp_path, monkeypatch, kind, workers):
    write_history(tmp_path / "wandb" / "run-20200101_000000-par001", kind)
    one = read(tmp_path, 1, monkeypatch)
    joined = count_joins(monkeypatch)
    split = read(tmp_path, workers, monkeypatch)
    assert split == one
    assert len(joined) == workers - 1  # every later part came from a worker, none re-read here
    assert one["rows"] >= 3000 and len(one["metrics"]) >= 4
    if kind == "odd":
        assert len(one["notes"]) > 20 and one["notes"][-1].endswith("last line is partial; skipped")
        assert {"note", "flag", "none", "big", "img"} <= set(one["non_scalar"]) and "opt.m.beta" in one["metrics"]


def test_rows_without_a_step_in_a_later_part_are_read_here(tmp_path, monkeypatch):
    """Such a row's step is its row number, counted from the file's start: a worker cannot
    know it, so the reader reads that part itself."""
    write_history(tmp_path / "wandb" / "run-20200101_000000-par002", "stepless")
    one = read(tmp_path, 1, monkeypatch)
    joined = count_joins(monkeypatch)
    assert read(tmp_path, 3, monkeypatch) == one
    assert not joined
    assert one["rows"] > 3000


def test_a_failed_worker_is_read_here(tmp_path, monkeypatch):
    write_history(tmp_path / "wandb" / "run-20200101_000000-par003", "odd")
    one = read(tmp_path, 1, monkeypatch)
    monkeypatch.setattr(parallel.sys, "executable", "/nonexistent/python")
    assert read(tmp_path, 3, monkeypatch) == one


def test_a_worker_answering_garbage_is_read_here(tmp_path, monkeypatch):
    path = write_history(tmp_path / "wandb" / "run-20200101_000000-par004", "odd")
    one = read(tmp_path, 1, monkeypatch)
    wrong = wandb_history.HistoryPart(12345, History(path.name), True)
    monkeypatch.setattr(parallel.Job, "result", lambda self: (self.cancel(), wrong)[1])
    assert read(tmp_path, 3, monkeypatch) == one


def test_a_grown_file_resumes_from_the_cache_on_several_processes(tmp_path, monkeypatch):
    """A live run: read (split, cached) while the last line is half written, then again
    after the writer finished it and wrote enough to split the new bytes too."""
    root = tmp_path / "runs"
    path = write_history(root / "wandb" / "run-20200101_000000-par005", "odd")
    cache = RunCache(tmp_path / "cache")
    first = read(root, 2, monkeypatch, cache)
    assert first == read(root, 1, monkeypatch)
    rnd = random.Random(5)
    with open(path, "ab") as f:
        f.write(b', "_runtime": 1}\n' + b"\n".join(ordinary(i, rnd) for i in range(3000, 6000)) + b"\n")
    joined = count_joins(monkeypatch)
    grown = read(root, 3, monkeypatch, cache)
    assert joined  # the grown bytes were split too
    assert grown == read(root, 1, monkeypatch) == read(root, 1, monkeypatch, cache)
    assert grown["rows"] > first["rows"] + 3000


def test_a_worker_decodes_a_part(tmp_path):
    path = write_history(tmp_path / "run", "odd")
    size = path.stat().st_size
    st = os.stat(path)
    with parallel.workers() as pool:
        job = pool.submit(decode_part, str(path), size // 3, 2 * size // 3, (st.st_ino, st.st_dev))
        part = job.result()
    here = decode_part(str(path), size // 3, 2 * size // 3, (st.st_ino, st.st_dev))
    assert part is not None and part.begin == here.begin and part.reached_stop
    assert (part.history.rows, part.history.lineno, part.history.end_offset, part.history.notes) == \
        (here.history.rows, here.history.lineno, here.history.end_offset, here.history.notes)
    assert part.history.rows > 500


def test_a_part_of_another_file_under_the_name_is_refused(tmp_path):
    path = write_history(tmp_path / "run", "clean")
    st = os.stat(path)
    with pytest.raises(FileNotFoundError):
        decode_part(str(path), 100, None, (st.st_ino + 1, st.st_dev))


class InProcessJob:
    """parallel.Job without the process: the part is decoded on result(), passed through
    pickle as a worker's answer is."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def result(self):
        return pickle.loads(pickle.dumps(self.fn(*self.args)))

    def cancel(self):
        pass


def read_cut(path: Path, cuts: list[int], monkeypatch) -> dict:
    """read_history with the unread bytes split at ``cuts``, parts decoded in process."""
    monkeypatch.setattr(parallel, "Job", InProcessJob)
    monkeypatch.setattr(parallel, "split", lambda start, end, align, min_bytes=None: list(zip([start, *cuts], [*cuts, end])))
    seg = Segment(folder=path.parent, run_id="x", source="wandb-legacy")
    read_history(path, seg)
    return facts(seg)


def small_file(tmp_path: Path) -> Path:
    rnd = random.Random(3)
    lines = [ordinary(i, rnd) for i in range(12)]
    lines[3:3] = odd(3)[:4] + [odd(3)[5], odd(3)[8]]  # blank, spaces, bad, not an object, nested, non-ASCII key
    lines.insert(9, b'{"train/loss": 7}')  # no _step: its row number
    path = tmp_path / "wandb-history.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n" + b'{"_step": 40, "train/lo')
    return path


def test_parts_cut_at_every_byte_tile_the_file(tmp_path, monkeypatch):
    path = small_file(tmp_path)
    size = path.stat().st_size
    monkeypatch.setenv("RUNWISE_NO_CACHE", "1")
    with monkeypatch.context() as m:
        m.setattr(parallel, "split", lambda start, end, align, min_bytes=None: [(start, end)])
        one = read_cut(path, [], m)
    for cut in range(1, size):
        assert read_cut(path, [cut], monkeypatch) == one, cut
    rnd = random.Random(0)
    for _ in range(300):
        cuts = sorted(rnd.sample(range(1, size), rnd.randint(2, 6)))
        assert read_cut(path, cuts, monkeypatch) == one, cuts
    assert one["rows"] == 15 and len(one["notes"]) == 3


def test_a_part_inside_one_long_line(tmp_path, monkeypatch):
    """A part with no line beginning in it (one line longer than the part) joins as empty;
    a last part with no newline at all leaves the tail to the reader."""
    rnd = random.Random(4)
    long = b'{"_step": 5, "s": "' + b"x" * 5000 + b'", "train/loss": 1}'
    path = tmp_path / "wandb-history.jsonl"
    path.write_bytes(b"\n".join([ordinary(0, rnd), long, ordinary(6, rnd)]) + b"\n" + b'{"_step": 7, "train/loss": 2}')
    monkeypatch.setenv("RUNWISE_NO_CACHE", "1")
    with monkeypatch.context() as m:
        m.setattr(parallel, "split", lambda start, end, align, min_bytes=None: [(start, end)])
        one = read_cut(path, [], m)
    size = path.stat().st_size
    for cuts in ([300, 2000, 4000], [1000, size - 3], [size - 20], [size - 1]):
        assert read_cut(path, cuts, monkeypatch) == one, cuts
