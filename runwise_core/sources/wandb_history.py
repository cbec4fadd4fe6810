"""The rows of a legacy W&B ``wandb-history.jsonl``, decoded into columns.

One row per ``wandb.log`` call, one JSON object a line (NaN is the bare token ``NaN``). A row's
``_step`` is its step (the row number when it has none that fits an int64), ``_timestamp``
and ``_runtime`` are wall-clock facts, and every other number is a point of its key (nested
dicts flattened to dotted keys). :meth:`History.line` is the definition; the faster paths
must give exactly what it gives, line by line.
"""

from __future__ import annotations

import json
import os
from array import array
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from ..cache import lookup as cache_lookup
from ..errors import UnreadableLog
from ..model import Series
from . import parallel
from .columns import (ColumnBuilder, columns_to_cache, flatten, kind_of, raw_bytes, seed_from_cache, stamps_from_cache,
                      stamps_to_cache)
from .history_rows import array_of_block, array_of_lines, decode_array, finite_number, int64
from .wandb_files import regular_file
from .wandb_segment import Segment

_INTERNAL = frozenset({"_step", "_timestamp", "_runtime", "_wandb"})
#: The cache entry kind of a decoded ``wandb-history.jsonl`` (bump when the reading changes).
CACHE_KIND = "wandb-history-jsonl-3"
READ_CHUNK = 4 << 20


def read_history(path: Path, seg: Segment) -> float | None:
    """Stream the history rows into the segment; returns the newest ``_timestamp``.

    With a cache in effect, the rows of an unchanged file come from the cache and a grown
    file is read from the end of the last complete line read before. The cache holds
    complete lines only: a last line without its newline (a writer mid-line) is read afresh
    each time, as an uncached read would.
    """
    if not regular_file(path, seg.read_notes):  # missing; or a pipe (blocks) or a device (never ends)
        return None
    cache, facts, entry, plan = cache_lookup(CACHE_KIND, path)
    history = History.restore(path.name, entry.meta, entry.arrays) if entry is not None and plan != "stale" else History(path.name)
    tail = b""
    if plan != "same":
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise UnreadableLog(f"{path}: cannot open ({e.strerror or e})") from e
        with f:
            tail = _read_lines(f, path, history)
        if cache is not None and facts is not None:
            meta, arrays = history.state()
            cache.put(CACHE_KIND, path, facts, history.end_offset, meta, arrays)
            del meta, arrays  # numpy views of the history's buffers: while they live, the tail cannot append
    elif entry is not None and entry.facts.size > history.end_offset:
        tail = _tail_after(path, history.end_offset)
    if tail:
        history.line(tail)
    return history.apply(seg)


def _read_lines(f: BinaryIO, path: Path, history: History) -> bytes:
    """Read the complete lines after ``history.end_offset`` into ``history``; returns the
    bytes after the last newline (a line still being written).

    A big file is read on several cores (:mod:`.parallel`): workers decode the later parts
    while this process reads the first, and each part is joined only where it begins at
    the end of the lines read so far and its steps need no row count from before it
    (:meth:`HistoryPart.follows`); from the first part that does not, this process reads
    on itself, as a one-process read would.
    """
    try:
        stat = os.fstat(f.fileno())
    except OSError:
        stat = None
    # A JSON line decodes ~3x faster per byte than a .wandb record: splitting pays from ~2x the size.
    parts = parallel.split(history.end_offset, stat.st_size if stat else 0, 1, min_bytes=2 * parallel.MIN_BYTES)
    if len(parts) > 1 and stat is not None:
        identity = (stat.st_ino, stat.st_dev)

        def read_first(stop: int) -> bool:
            f.seek(history.end_offset)
            return _feed(f, history, stop)[0]

        def join(part: HistoryPart) -> bool | None:
            if not part.follows(history):
                return None
            history.join(part.history)
            return part.reached_stop

        # Complete or not, the lines after the joined parts (and a last line without its
        # newline) are read below.
        parallel.read_in_parts(parts, lambda a, b: (decode_part, (str(path), a, b, identity)), read_first, join)
    f.seek(history.end_offset)
    _, tail = _feed(f, history, None)
    return tail


def _feed(f: BinaryIO, history: History, stop: int | None) -> tuple[bool, bytes]:
    """Feed ``history`` the complete lines from the file position (``history.end_offset``,
    a line start) on: those that begin before ``stop``, or all (``stop`` None). Returns
    whether ``stop`` was reached and, without one, the bytes after the last newline."""
    rest = b""
    if stop is not None and history.end_offset >= stop:
        return True, rest
    while True:
        chunk = f.read(READ_CHUNK)
        if not chunk:
            return False, rest
        buf = rest + chunk  # buf begins at history.end_offset
        if stop is not None:
            end = buf.find(b"\n", stop - 1 - history.end_offset)  # ends the line holding byte stop - 1
            if end >= 0:
                history.block(buf[:end + 1])
                return True, b""
        cut = buf.rfind(b"\n") + 1
        history.block(buf[:cut])
        rest = buf[cut:]  # the part after the last newline: not a complete line yet


class HistoryPart(NamedTuple):
    """The lines of one part of a file, decoded by a worker as if they were a whole file."""

    #: where its first line begins (None: no newline at or after its start)
    begin: int | None
    history: History
    reached_stop: bool

    def follows(self, history: History) -> bool:
        """Whether this part continues ``history`` exactly: it begins where the lines read
        there end, and none of its rows took its row number as step unless no rows came
        before (the row number counts from the file's start)."""
        return self.begin == history.end_offset and (self.history.stepless == 0 or history.rows == 0)


def decode_part(path: str, start: int, stop: int | None, identity: tuple[int, int]) -> HistoryPart:
    """Decode the lines of ``path`` that begin in ``[start, stop)`` (``stop`` None: all
    complete lines from ``start`` on), rows and lines counted from 0; runs in a worker
    process. ``identity`` is (inode, device) of the file the reader has open: a worker
    that finds another file under the name (replaced since) fails, and the reader reads
    that part itself."""
    history = History(Path(path).name)
    with open(path, "rb") as f:
        stat = os.fstat(f.fileno())
        if (stat.st_ino, stat.st_dev) != tuple(identity):
            raise FileNotFoundError(f"{path} was replaced during the read")
        begin = _line_start(f, start)
        if begin is None:
            return HistoryPart(None, history, False)
        history.end_offset = begin
        f.seek(begin)
        reached, _ = _feed(f, history, stop)
    return HistoryPart(begin, history, reached)


def _line_start(f: BinaryIO, start: int) -> int | None:
    """Where the first line that begins at or after ``start`` begins: ``start`` itself
    when a newline ends the byte before it; None when no newline follows."""
    if start == 0:
        return 0
    pos = start - 1
    f.seek(pos)
    while True:
        chunk = f.read(1 << 16)
        if not chunk:
            return None
        at = chunk.find(b"\n")
        if at >= 0:
            return pos + at + 1
        pos += len(chunk)


def _tail_after(path: Path, offset: int) -> bytes:
    """The bytes after ``offset`` of an unchanged file (a last line without its newline)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return b""


class History:
    """The rows of a ``wandb-history.jsonl`` read so far: fed lines (a batch at a time when
    :mod:`.history_rows` covers them), joined with parts decoded elsewhere, resumable from a
    cache."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cols = ColumnBuilder()
        self.stamp_steps = array("q")
        self.stamps = array("d")
        self.last_runtime: float | None = None
        self.rows = 0
        self.stepless = 0  # rows that took their row number as step (no int64 _step)
        self.lineno = 0
        self.end_offset = 0  # just past the last complete line read
        self.non_scalar: dict[str, str] = {}
        self.notes: list[tuple[int, str]] = []  # (line number, what): a part read elsewhere renumbers its lines
        self._built: dict[str, Series] | None = None

    def line(self, raw: bytes) -> None:
        """One line of the file (with its newline, or the unterminated last one)."""
        self._built = None
        self.lineno += 1
        if not raw.strip():
            return
        try:
            row = json.loads(raw)
        except ValueError:
            where = "last line is partial" if not raw.endswith(b"\n") else "invalid JSON"
            self.notes.append((self.lineno, f"{where}; skipped"))
            return
        except RecursionError:
            self.notes.append((self.lineno, "JSON nested too deeply to read; skipped"))
            return
        if not isinstance(row, dict):
            self.notes.append((self.lineno, "not a JSON object; skipped"))
            return
        step = row.get("_step")
        if int64(step):
            step = int(step)
        else:
            step = self.rows
            self.stepless += 1
        self.rows += 1
        stamp = row.get("_timestamp")
        if finite_number(stamp):
            self.stamp_steps.append(step)
            self.stamps.append(float(stamp))
        runtime = row.get("_runtime")
        if finite_number(runtime):
            self.last_runtime = float(runtime)
        for key, value in row.items():
            if key in _INTERNAL:
                continue
            if isinstance(value, dict) and "_type" not in value:
                for sub, leaf in flatten(value, key).items():
                    self._add(sub, step, leaf)
            else:
                self._add(key, step, value)

    def lines(self, lines: list[bytes]) -> None:
        """Complete lines (newlines stripped), as :meth:`line` would take them one by one:
        in one batch (:mod:`.history_rows`) when it covers them, else line by line."""
        ready = array_of_lines(lines) if lines else None
        nbytes = sum(map(len, lines)) + len(lines)
        if ready is None or not self._batch(*ready, len(lines), nbytes):
            self._one_by_one(lines)

    def block(self, body: bytes) -> None:
        """Complete lines as read, each with its newline (so ``body`` ends with one)."""
        if not body:
            return
        ready = array_of_block(body)
        if ready is None:
            self.lines(body.split(b"\n")[:-1])  # blank lines, CRLF, spaces: the slower batch
        elif not self._batch(*ready, ready[1], len(body)):
            self._one_by_one(body.split(b"\n")[:-1])

    def _batch(self, blob: bytes | bytearray, count: int, lines: int, nbytes: int) -> bool:
        batch = decode_array(blob, count, self.rows)
        if batch is None:
            return False
        self.rows += batch.rows
        self.stepless += batch.stepless
        self.lineno += lines
        self.end_offset += nbytes
        self._built = None
        if batch.runtime is not None:
            self.last_runtime = batch.runtime
        self.stamp_steps.frombytes(raw_bytes(batch.stamp_steps, np.int64))
        self.stamps.frombytes(raw_bytes(batch.stamps, np.float64))
        for key, steps, values in batch.columns:
            self.cols.extend(key, steps, values)
        return True

    def _one_by_one(self, lines: list[bytes]) -> None:
        for raw in lines:
            self.line(raw + b"\n")
            self.end_offset += len(raw) + 1

    def join(self, part: "History") -> None:
        """Append the rows of a part of the file decoded on its own (by a worker: its rows
        and lines counted from 0), which begins where the lines read here end.

        Its steps, line numbers (in :attr:`notes`) and offsets hold as they are, or are
        renumbered here; a row that took its row number as step would need the rows before
        it, so a part with such rows may only follow none (see :meth:`HistoryPart.follows`).
        """
        self._built = None
        self.cols.append(part.cols)
        self.stamp_steps.extend(part.stamp_steps)
        self.stamps.extend(part.stamps)
        if part.last_runtime is not None:
            self.last_runtime = part.last_runtime
        for key, kind in part.non_scalar.items():
            self.non_scalar.setdefault(key, kind)
        self.notes.extend((self.lineno + lineno, what) for lineno, what in part.notes)
        self.rows += part.rows
        self.stepless += part.stepless
        self.lineno += part.lineno
        self.end_offset = part.end_offset

    def _add(self, key: str, step: int, value: Any) -> None:
        if isinstance(value, float) or (isinstance(value, int) and finite_number(value)):
            self.cols.add(key, step, float(value))
        else:
            self.non_scalar.setdefault(key, kind_of(value))

    def built(self) -> dict[str, Series]:
        if self._built is None:
            self._built = self.cols.build()
        return self._built

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The rows read so far as JSON and arrays (for :mod:`..cache`)."""
        metrics = self.built()
        meta: dict[str, Any] = {"rows": self.rows, "lineno": self.lineno, "end_offset": self.end_offset,
                                "last_runtime": self.last_runtime, "non_scalar": self.non_scalar,
                                "notes": self.notes}
        arrays: dict[str, np.ndarray] = {}
        stamps_to_cache(self.stamp_steps, self.stamps, arrays)
        columns_to_cache(metrics, "m", meta, arrays)
        return meta, arrays

    @classmethod
    def restore(cls, name: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> "History":
        self = cls(name)
        self.rows, self.lineno, self.end_offset = meta["rows"], meta["lineno"], meta["end_offset"]
        self.last_runtime = meta["last_runtime"]
        self.non_scalar = dict(meta["non_scalar"])
        self.notes = [(int(lineno), str(what)) for lineno, what in meta["notes"]]
        stamps_from_cache(arrays, self.stamp_steps, self.stamps)
        seed_from_cache(self.cols, "m", meta, arrays)
        return self

    def apply(self, seg: Segment) -> float | None:
        """Put the rows into ``seg``; returns the newest ``_timestamp``."""
        seg.rows = self.rows
        seg.read_notes.extend(f"{self.name} line {lineno:,}: {what}" for lineno, what in self.notes)
        seg.non_scalar.update(self.non_scalar)
        seg.metrics = self.built()
        for key in list(seg.non_scalar):
            if key in self.cols:
                del seg.non_scalar[key]
        seg.runtime_s = self.last_runtime
        if self.stamps:
            stamps = np.frombuffer(self.stamps, dtype=np.float64).copy()
            seg.timestamps = Series.from_lists(np.frombuffer(self.stamp_steps, dtype=np.int64).copy(), stamps)
            return float(stamps.max())
        return None
