"""The rows of a legacy W&B ``wandb-history.jsonl``, decoded into columns.

One row per ``wandb.log`` call, one JSON object a line (NaN is the bare token ``NaN``). A row's
``_step`` is its step (the row number when it has none that fits an int64), ``_timestamp``
and ``_runtime`` are wall-clock facts, and every other number is a point of its key (nested
dicts flattened to dotted keys). :meth:`History.line` is the definition; the faster paths
must give exactly what it gives, line by line.
"""

from __future__ import annotations

import json
import math
from array import array
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import lookup as cache_lookup
from ..errors import UnreadableLog
from ..model import Series
from .columns import ColumnBuilder, flatten, kind_of
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
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()  # the part after the last newline: not a complete line yet
                history.lines(lines)
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
        step = int(step) if int64(step) else self.rows
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
        """Complete lines (newlines stripped), as :meth:`line` would take them one by one.

        The fast path parses the lines as one JSON array and the rows as columns, grouped by
        their key sets; anything it does not cover (a bad line, a nested dict, a value that
        is not a number) sends the lines to :meth:`line`, which is the definition.
        """
        if not self._batch(lines):
            for raw in lines:
                self.line(raw + b"\n")
                self.end_offset += len(raw) + 1

    def _batch(self, lines: list[bytes]) -> bool:
        if not lines:
            return True
        full = [raw for raw in lines if raw.strip()]
        try:
            # A string cannot run from one line into the next (JSON refuses raw control
            # characters in strings), so each line gives at least one element; equal counts
            # mean exactly one each.
            rows = json.loads(b"[" + b",\n".join(full) + b"]") if full else []
        except ValueError:
            return False
        if len(rows) != len(full) or (rows and set(map(type, rows)) != {dict}):
            return False
        base = self.rows
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, keys in enumerate(map(tuple, rows)):
            groups.setdefault(keys, []).append(i)
        n = len(rows)
        steps = np.arange(base, base + n, dtype=np.int64)  # a row without _step: its row number
        points: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        first_seen: dict[str, tuple[int, int]] = {}
        stamp_rows: list[np.ndarray] = []
        stamp_vals: list[np.ndarray] = []
        runtime_at, runtime = -1, None
        for keys, idx in groups.items():
            at = np.array(idx, dtype=np.int64)
            picked = rows if len(idx) == n else [rows[i] for i in idx]
            if len(keys) > 1:
                cols = list(zip(*map(itemgetter(*keys), picked)))
            else:  # itemgetter of one key gives the value itself, not a 1-tuple
                cols = [tuple(map(itemgetter(keys[0]), picked))] if keys else []
            for key, col in zip(keys, cols):
                nums = _numbers(col)
                if key == "_step":
                    if nums is None or not (np.isfinite(nums).all() and (np.abs(nums) < 2.0**63).all()):
                        return False
                    steps[at] = nums.astype(np.int64) if nums.dtype.kind == "f" else nums
                    continue
                if key in ("_timestamp", "_runtime"):
                    if nums is None:
                        return False
                    good = np.isfinite(nums)
                    if key == "_timestamp":
                        stamp_rows.append(at[good])
                        stamp_vals.append(nums[good].astype(np.float64))
                    elif good.any():
                        last = int(np.flatnonzero(good)[-1])
                        if at[last] > runtime_at:
                            runtime_at, runtime = int(at[last]), float(nums[last])
                    continue
                if key in _INTERNAL:
                    continue
                if nums is None:
                    return False  # text, media, nested dicts, booleans: the per-line path
                points.setdefault(key, []).append((at, nums.astype(np.float64)))
                where = (idx[0], keys.index(key))
                if key not in first_seen or where < first_seen[key]:
                    first_seen[key] = where
        # All checks passed: commit.
        self.rows += n
        self.lineno += len(lines)
        self.end_offset += sum(map(len, lines)) + len(lines)
        self._built = None
        if runtime_at >= 0:
            self.last_runtime = runtime
        if stamp_rows:
            at = np.concatenate(stamp_rows)
            order = np.argsort(at, kind="stable")
            self.stamp_steps.frombytes(steps[at[order]].tobytes())
            self.stamps.frombytes(np.concatenate(stamp_vals)[order].tobytes())
        for key in sorted(points, key=first_seen.__getitem__):
            parts = points[key]
            at = np.concatenate([a for a, _ in parts])
            vals = np.concatenate([v for _, v in parts])
            if len(parts) > 1:
                order = np.argsort(at, kind="stable")
                at, vals = at[order], vals[order]
            self.cols.extend(key, steps[at], vals)
        return True

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


def _numbers(col: tuple) -> np.ndarray | None:
    """A column of JSON values as numbers, when every one is a float or an int that a
    float64 holds (what ``_add`` takes as a point); None otherwise."""
    types = set(map(type, col))
    if not types <= {float, int}:
        return None
    if types == {int}:
        try:
            return np.array(col, dtype=np.int64)
        except OverflowError:
            pass
    try:
        out = np.array(col, dtype=np.float64)
    except OverflowError:
        return None
    if int in types and not np.isfinite(out[[type(v) is int for v in col]]).all():
        return None  # an int too large for a float64 is not a point
    return out


def finite_number(value: Any) -> bool:
    """A finite int or float that fits a float64 (an int of 400 digits does not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def int64(value: Any) -> bool:
    """A finite number whose integer part fits a step (int64)."""
    return finite_number(value) and -2**63 <= value < 2**63
