"""The rows of a legacy W&B ``wandb-history.jsonl``, decoded into columns.

One row per ``wandb.log`` call, one JSON object a line (NaN is the bare token ``NaN``). A row's
``_step`` is its step (the row number when it has none that fits an int64), ``_timestamp``
and ``_runtime`` are wall-clock facts, and every other number is a point of its key (nested
dicts flattened to dotted keys). :meth:`History.line` is the definition; the faster paths
must give exactly what it gives, line by line.
"""

from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import lookup as cache_lookup
from ..errors import UnreadableLog
from ..model import Series
from .columns import ColumnBuilder, flatten, kind_of, raw_bytes
from .history_rows import array_of_block, array_of_lines, decode_array, finite_number, int64
from .wandb_files import regular_file
from .wandb_segment import Segment

_INTERNAL = frozenset({"_step", "_timestamp", "_runtime", "_wandb"})
#: The cache entry kind of a decoded ``wandb-history.jsonl`` (bump when the reading changes).
CACHE_KIND = "wandb-history-jsonl-1"
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
            f.seek(history.end_offset)
            rest = b""
            while True:
                chunk = f.read(READ_CHUNK)
                if not chunk:
                    break
                buf = rest + chunk
                cut = buf.rfind(b"\n") + 1
                history.block(buf[:cut])
                rest = buf[cut:]  # the part after the last newline: not a complete line yet
            tail = rest
        if cache is not None and facts is not None:
            meta, arrays = history.state()
            cache.put(CACHE_KIND, path, facts, history.end_offset, meta, arrays)
            del meta, arrays  # numpy views of the history's buffers: while they live, the tail cannot append
    elif entry is not None and entry.facts.size > history.end_offset:
        tail = _tail_after(path, history.end_offset)
    if tail:
        history.line(tail)
    return history.apply(seg)


def _tail_after(path: Path, offset: int) -> bytes:
    """The bytes after ``offset`` of an unchanged file (a last line without its newline)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return b""


class History:
    """The rows of a ``wandb-history.jsonl``, read line by line, resumable from a cache."""

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
        self.notes: list[str] = []
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
            self.notes.append(f"{self.name} line {self.lineno:,}: {where}; skipped")
            return
        if not isinstance(row, dict):
            self.notes.append(f"{self.name} line {self.lineno:,}: not a JSON object; skipped")
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
                                "notes": self.notes, "keys": list(metrics)}
        arrays = {"stamp_steps": np.frombuffer(self.stamp_steps, dtype=np.int64),
                  "stamps": np.frombuffer(self.stamps, dtype=np.float64)}
        for i, series in enumerate(metrics.values()):
            arrays[f"m{i}s"], arrays[f"m{i}v"] = series.steps, series.values
        return meta, arrays

    @classmethod
    def restore(cls, name: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> "History":
        self = cls(name)
        self.rows, self.lineno, self.end_offset = meta["rows"], meta["lineno"], meta["end_offset"]
        self.last_runtime = meta["last_runtime"]
        self.non_scalar = dict(meta["non_scalar"])
        self.notes = list(meta["notes"])
        self.stamp_steps.frombytes(arrays["stamp_steps"].tobytes())
        self.stamps.frombytes(arrays["stamps"].tobytes())
        for i, key in enumerate(meta["keys"]):
            self.cols.seed(key, arrays[f"m{i}s"], arrays[f"m{i}v"])
        return self

    def apply(self, seg: Segment) -> float | None:
        """Put the rows into ``seg``; returns the newest ``_timestamp``."""
        seg.rows = self.rows
        seg.read_notes.extend(self.notes)
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
