"""Decode a modern W&B run folder (wandb 0.10+): the binary ``run-<id>.wandb`` log.

The log is the truth: history rows, the run record (name, project, config, tags), summary
updates, console output, system stats and the exit record. ``files/wandb-summary.json``
(online runs) is what wandb last wrote as the summary and overrides the summary records;
it never touches metrics or state, which come from the history and the exit record alone.
"""

from __future__ import annotations

import json
import math
from array import array
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from google.protobuf.message import DecodeError

from ..cache import lookup as cache_lookup
from ..model import Series
from .columns import (ColumnBuilder, columns_to_cache, flatten, kind_of, seed_from_cache, stamps_from_cache,
                      stamps_to_cache)
from .wandb_files import read_config_yaml, read_output_log, read_summary_json, visible_line
from . import parallel
from .wandb_framing import BLOCK, CHUNK_HEADER, HEADER, ReadReport, field_number, iter_batches
from .wandb_proto import internal_pb2
from .wandb_batch import HistoryColumns, decode_history, fold_summary
from .wandb_rows import Batch, KeyTable, classify
from .wandb_segment import CONSOLE_TAIL_LINES, Segment

# Record body field numbers (wandb_internal.proto, Record.record_type).
HISTORY, SUMMARY, OUTPUT, CONFIG, STATS, OUTPUT_RAW, RUN, EXIT = 2, 3, 4, 5, 7, 13, 17, 18
_WANTED = frozenset({HISTORY, SUMMARY, OUTPUT, CONFIG, STATS, OUTPUT_RAW, RUN, EXIT})
_INTERNAL = frozenset({"_step", "_timestamp", "_runtime", "_wandb"})
#: The cache entry kind of a decoded ``.wandb`` log (bump when the decoder's output changes).
CACHE_KIND = "wandb-binary-1"
#: Records decoded together by the vectorised path (~2,700 rows of a typical run; larger
#: batches measured no faster, and their temporaries cost memory).
BATCH_RECORDS = 8192


def decode_value(text: str) -> Any:
    """A history or summary ``value_json`` as a Python value; numbers take the fast path.

    wandb writes NaN as ``NaN`` and infinities as ``Infinity``/``-Infinity``, which
    ``float`` reads directly. Text that is not JSON at all comes back as the string itself.
    """
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested beyond what json can read
        return text


class Rows(NamedTuple):
    """``count`` history records decoded as columns by the vectorised path."""

    columns: HistoryColumns
    count: int


class SummaryFold(NamedTuple):
    """Summary records folded in order: key -> last value_json, keys in first-seen order."""

    values: dict[str, Any]


class Record(NamedTuple):
    """A record for protobuf (anything but a proven history or summary record), and the
    read's offset near it, for a note should it not parse."""

    payload: bytes
    near: int


Op = Rows | SummaryFold | Record


def decode_ops(payloads: list[bytes], keys: KeyTable, near: int) -> list[Op]:
    """A batch of records as what they mean, in file order: proven-exact history and summary
    records by the vectorised path (:mod:`.wandb_rows`), every other record left for
    protobuf. History and summary records never affect each other or the rest, so each
    kind keeps its own order. Pure (no decoder state), so a worker process can run it on
    its part of a big log (:func:`decode_part`).
    """
    if not payloads:
        return []
    batch = classify(payloads, keys)
    kind, good = batch.kind, batch.good
    hist_good = np.concatenate(([0], np.cumsum(good & (kind == 1))))
    ops: list[Op] = []
    hist_from = summ_from = 0
    for i in np.flatnonzero(~good).tolist():
        k = kind[i]
        if k == 1:
            _history_ops(batch, hist_from, i, int(hist_good[i] - hist_good[hist_from]), near, ops)
            hist_from = i + 1
        elif k == 2:
            _summary_ops(batch, summ_from, i, ops)
            summ_from = i + 1
        ops.append(Record(payloads[i], near))
    n = len(payloads)
    _history_ops(batch, hist_from, n, int(hist_good[n] - hist_good[hist_from]), near, ops)
    _summary_ops(batch, summ_from, n, ops)
    return ops


def _history_ops(batch: Batch, start: int, stop: int, rows: int, near: int, ops: list[Op]) -> None:
    """The good history records among ``batch`` records ``start:stop`` (``rows`` of them)."""
    items = batch.history
    if rows == 0 or items is None:
        return
    i0, i1 = np.searchsorted(items.rec, [start, stop]).tolist()
    decoded = decode_history(items, i0, i1, rows)
    if decoded is None:  # something the vectorised rules do not cover: protobuf, in order
        ops.extend(Record(batch.payloads[i], near) for i in range(start, stop) if batch.kind[i] == 1)
    else:
        ops.append(Rows(decoded, rows))


def _summary_ops(batch: Batch, start: int, stop: int, ops: list[Op]) -> None:
    items = batch.summary
    if items is None or start >= stop:
        return
    i0, i1 = np.searchsorted(items.rec, [start, stop]).tolist()
    fold: dict[str, Any] = {}
    fold_summary(items, i0, i1, fold)
    if fold:
        ops.append(SummaryFold(fold))


class _Decoder:
    """Accumulates one folder's records into a :class:`Segment`."""

    def __init__(self, segment: Segment) -> None:
        self.seg = segment
        self.cols = ColumnBuilder()
        self.stamp_steps = array("q")
        self.stamps = array("d")
        self.summary: dict[str, Any] = {}  # key -> value_json (text, or ASCII bytes from the batch path)
        self.pending: list[bytes] = []
        self.keys = KeyTable()
        self.console: list[str] = []
        self.partial_line = ""
        self.system = ColumnBuilder()
        self.last_runtime: float | None = None
        self.pb: Any = None  # wandb's protobuf module, imported on the first slow-path record

    # -- batches -------------------------------------------------------------------------
    def feed_batch(self, payloads: list[bytes], where: ReadReport) -> None:
        """Queue one block's records; decode when enough have gathered (numpy works best on
        large batches)."""
        self.pending.extend(payloads)
        if len(self.pending) >= BATCH_RECORDS:
            self.flush(where)

    def flush(self, where: ReadReport) -> None:
        """Decode the queued records (see :func:`decode_ops`)."""
        payloads, self.pending = self.pending, []
        self.apply(decode_ops(payloads, self.keys, where.end_offset))

    def apply(self, ops: list[Op]) -> None:
        """Take decoded records in order: rows and summary folds from the vectorised path,
        and every other record through protobuf."""
        seg = self.seg
        extend = self.cols.extend
        for op in ops:
            if type(op) is Rows:
                decoded = op.columns
                seg.rows += op.count
                for key, (steps, values) in decoded.columns.items():
                    extend(key, steps, values)
                if decoded.stamps.size:
                    self.stamp_steps.frombytes(decoded.stamp_steps.tobytes())
                    self.stamps.frombytes(decoded.stamps.tobytes())
                if decoded.has_runtime:
                    self.last_runtime = decoded.runtime
            elif type(op) is SummaryFold:
                self.summary.update(op.values)
            else:
                self.feed_safe(op.payload, op.near)

    def feed_safe(self, payload: bytes, near: int) -> None:
        try:
            self.feed(payload)
        except DecodeError as e:  # a record whose crc held but whose body does not parse
            self.seg.read_notes.append(f"record ending near byte {near:,} could not be decoded ({type(e).__name__}); skipped")

    # -- records -------------------------------------------------------------------------
    def feed(self, payload: bytes) -> None:
        kind = field_number(payload)
        if kind not in _WANTED:
            return
        if self.pb is None:
            self.pb = internal_pb2()
        record = self.pb.Record.FromString(payload)
        if kind == HISTORY:
            self._history(record.history)
        elif kind == SUMMARY:
            self._summary(record.summary)
        elif kind in (OUTPUT, OUTPUT_RAW):
            self._output(record.output if kind == OUTPUT else record.output_raw)
        elif kind == STATS:
            self._stats(record.stats)
        elif kind == CONFIG:
            self._config(record.config)
        elif kind == RUN:
            self._run(record.run)
        elif kind == EXIT:
            self.seg.exited = True
            self.seg.exit_code = int(record.exit.exit_code)
            self.seg.runtime_s = float(record.exit.runtime) if record.exit.runtime else self.seg.runtime_s

    def _history(self, history: Any) -> None:
        step: int | None = None
        stamp: float | None = None
        pairs: list[tuple[str, Any]] = []
        for item in history.item:
            key = item.key or ".".join(item.nested_key)
            if key in _INTERNAL:
                if key == "_step":
                    step = _as_int(decode_value(item.value_json))
                elif key == "_timestamp":
                    stamp = _as_float(decode_value(item.value_json))
                elif key == "_runtime":
                    self.last_runtime = _as_float(decode_value(item.value_json))
                continue
            pairs.append((key, decode_value(item.value_json)))
        if step is None:
            step = int(history.step.num) if history.HasField("step") else self.seg.rows
        self.seg.rows += 1
        add = self.cols.add
        for key, value in pairs:
            if type(value) is float:
                add(key, step, value)
            else:
                self._other(key, step, value)
        if stamp is not None:
            self.stamp_steps.append(step)
            self.stamps.append(stamp)

    def _other(self, key: str, step: int, value: Any) -> None:
        if isinstance(value, dict) and "_type" not in value:
            for sub, leaf in flatten(value, key).items():
                self._other(sub, step, leaf)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                self.cols.add(key, step, float(value))
            except OverflowError:  # an int beyond float range (wandb writes ints as digits): no measurement
                self.seg.non_scalar.setdefault(key, "int")
        elif isinstance(value, str) and key.endswith("._type"):
            # wandb 0.2x+ logs media (histograms, tables, images) as nested keys under one
            # parent; the parent is the non-scalar, its fields are folded away by merge().
            self.seg.non_scalar[key[: -len("._type")]] = kind_of({"_type": value})
        elif value is not None:
            self.seg.non_scalar.setdefault(key, kind_of(value))
        else:
            self.seg.non_scalar.setdefault(key, "null")

    def _summary(self, summary: Any) -> None:
        for item in summary.update:
            key = item.key or ".".join(item.nested_key)
            self.summary[key] = item.value_json
        for item in summary.remove:
            self.summary.pop(item.key or ".".join(item.nested_key), None)

    def _output(self, out: Any) -> None:
        text = self.partial_line + out.line
        lines = text.split("\n")
        self.partial_line = lines.pop()
        self.console.extend(visible_line(line) for line in lines)
        if len(self.console) > 4 * CONSOLE_TAIL_LINES:
            del self.console[:-CONSOLE_TAIL_LINES]
        self._touch(out.timestamp.seconds + out.timestamp.nanos / 1e9 if out.HasField("timestamp") else None)

    def _stats(self, stats: Any) -> None:
        when = stats.timestamp.seconds + stats.timestamp.nanos / 1e9
        self._touch(when)
        start = self.seg.start_time or when
        at = int(round(when - start))
        for item in stats.item:
            value = decode_value(item.value_json)
            if type(value) is float and item.key:  # a StatsItem has no nested_key to fall back on
                self.system.add(item.key, at, value)

    def _config(self, config: Any) -> None:
        for item in config.update:
            key = item.key or ".".join(item.nested_key)
            if key == "_wandb" or key.startswith("_wandb."):
                continue
            value = decode_value(item.value_json)
            if isinstance(value, dict):
                self.seg.config.update(flatten(value, key))
            else:
                self.seg.config[key] = _int_if_whole(value)
        for item in config.remove:
            self.seg.config.pop(item.key or ".".join(item.nested_key), None)

    def _run(self, run: Any) -> None:
        seg = self.seg
        seg.run_id = run.run_id or seg.run_id
        seg.name = run.display_name or seg.name
        seg.project = run.project or None
        seg.group = run.run_group or None
        seg.tags = tuple(run.tags)
        seg.notes = run.notes or None
        if run.HasField("start_time"):
            seg.start_time = run.start_time.seconds + run.start_time.nanos / 1e9
        self._config(run.config)

    def _touch(self, when: float | None) -> None:
        if when is not None and when > 0 and (self.seg.last_activity is None or when > self.seg.last_activity):
            self.seg.last_activity = when

    # -- cache state ---------------------------------------------------------------------
    _SEG_FIELDS = ("run_id", "name", "project", "group", "notes", "config", "start_time", "runtime_s",
                   "exit_code", "exited", "last_activity", "rows", "non_scalar", "read_notes")

    def state(self, metrics: dict[str, Series], system: dict[str, Series]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Everything decoded from the log so far, as JSON and arrays (for :mod:`..cache`).

        Taken after :meth:`flush` and before :meth:`finish` (which adds the side files).
        """
        seg = self.seg
        meta: dict[str, Any] = {f: getattr(seg, f) for f in self._SEG_FIELDS}
        meta["tags"] = list(seg.tags)
        meta["summary"] = {k: v if isinstance(v, str) else v.decode("ascii") for k, v in self.summary.items()}
        meta["console"] = self.console
        meta["partial_line"] = self.partial_line
        meta["last_runtime"] = self.last_runtime
        arrays: dict[str, np.ndarray] = {}
        stamps_to_cache(self.stamp_steps, self.stamps, arrays)
        columns_to_cache(metrics, "m", meta, arrays)
        columns_to_cache(system, "s", meta, arrays)
        return meta, arrays

    @classmethod
    def restore(cls, seg: Segment, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> "_Decoder":
        """A decoder in the state :meth:`state` described, ready to read on."""
        self = cls(seg)
        for f in cls._SEG_FIELDS:
            setattr(seg, f, meta[f])
        seg.tags = tuple(meta["tags"])
        self.summary = dict(meta["summary"])
        self.console = list(meta["console"])
        self.partial_line = meta["partial_line"]
        self.last_runtime = meta["last_runtime"]
        stamps_from_cache(arrays, self.stamp_steps, self.stamps)
        seed_from_cache(self.cols, "m", meta, arrays)
        seed_from_cache(self.system, "s", meta, arrays)
        return self

    # -- result --------------------------------------------------------------------------
    def finish(self, folder: Path, metrics: dict[str, Series] | None = None,
               system: dict[str, Series] | None = None) -> Segment:
        seg = self.seg
        if self.partial_line:
            self.console.append(visible_line(self.partial_line))
        seg.metrics = self.cols.build() if metrics is None else metrics
        for key in list(seg.non_scalar):
            if key in self.cols:
                del seg.non_scalar[key]
        seg.system = self.system.build() if system is None else system
        if self.stamps:
            stamps = np.frombuffer(self.stamps, dtype=np.float64).copy()
            seg.timestamps = Series.from_lists(np.frombuffer(self.stamp_steps, dtype=np.int64).copy(), stamps)
            self._touch(float(stamps.max()))
        seg.summary = {k: decode_value(v if isinstance(v, str) else v.decode("ascii"))
                       for k, v in self.summary.items() if not k.startswith("_wandb")}
        json_summary = read_summary_json(folder / "files" / "wandb-summary.json", seg.read_notes)
        if json_summary is not None:
            seg.summary.update(json_summary)
        seg.summary = {k: v for k, v in flatten(seg.summary).items() if not k.startswith("_wandb")}
        if not seg.config:
            seg.config = read_config_yaml(folder / "files" / "config.yaml", seg.read_notes)
        if not self.console:
            self.console = read_output_log(folder / "files" / "output.log", CONSOLE_TAIL_LINES)
        seg.console = self.console[-CONSOLE_TAIL_LINES:]
        if seg.runtime_s is None:
            if self.last_runtime is not None:
                seg.runtime_s = self.last_runtime
            elif seg.start_time and seg.last_activity:
                seg.runtime_s = max(0.0, seg.last_activity - seg.start_time)
        return seg


def read_segment(folder: Path, log: Path, run_id: str) -> Segment:
    """Read one modern W&B run folder whose binary log is ``log``.

    With a cache in effect (:func:`runwise_core.cache.using`), an unchanged log is not read
    at all and a grown one is read from where the last read stopped.
    """
    seg = Segment(folder=folder, run_id=run_id, source="wandb")
    cache, facts, entry, plan = cache_lookup(CACHE_KIND, log)
    if entry is not None and plan == "same":
        decoder = _Decoder.restore(seg, entry.meta, entry.arrays)
        metrics, system = decoder.cols.build(), decoder.system.build()
        seg.read_notes.extend(entry.meta["framing_notes"])
        return decoder.finish(folder, metrics, system)
    if entry is not None and plan == "grown":
        decoder, start = _Decoder.restore(seg, entry.meta, entry.arrays), entry.end_offset
    else:
        decoder, start = _Decoder(seg), HEADER
    report = ReadReport(log)
    _read_log(decoder, log, report, start)
    metrics, system = decoder.cols.build(), decoder.system.build()
    if cache is not None and facts is not None:
        meta, arrays = decoder.state(metrics, system)
        meta["framing_notes"] = report.notes
        cache.put(CACHE_KIND, log, facts, report.end_offset, meta, arrays)
    seg.read_notes.extend(report.notes)
    return decoder.finish(folder, metrics, system)


def _read_log(decoder: _Decoder, log: Path, report: ReadReport, start: int) -> None:
    """Decode ``log`` from ``start`` into ``decoder``; a big log on several cores
    (:mod:`.parallel`): the later parts are decoded by workers while this process decodes
    the first, and each is joined only if it begins where the one before it ended."""
    try:
        size = log.stat().st_size
    except OSError:
        size = 0
    parts = parallel.split(start, size, BLOCK)
    if len(parts) > 1:
        def read_first(stop: int) -> bool:
            _decode(decoder, log, report, start, stop=stop)
            return report.reached_stop

        def join(part: Part) -> bool | None:
            # Not joined, so read on from the last good record here as a one-process read
            # would: a part that does not follow, and one damaged before its first whole
            # record (its note would name where the last good record ended, which lies in
            # the part before).
            if not part.follows(report.end_offset) or (part.report.notes and not part.report.records):
                return None
            decoder.apply(part.ops)
            part.report_into(report)
            return report.reached_stop

        if parallel.read_in_parts(parts, lambda a, b: (decode_part, (str(log), a, b)), read_first, join):
            return
        start = report.end_offset
        report.reached_stop = False
    _decode(decoder, log, report, start)


def _decode(decoder: _Decoder, log: Path, report: ReadReport, start: int, stop: int | None = None) -> None:
    report.reached_stop = False
    for payloads in iter_batches(log, report, start, stop=stop):
        decoder.feed_batch(payloads, report)
    decoder.flush(report)


class Part(NamedTuple):
    """One part of a big log, decoded by a worker: the framing report and the records."""

    report: ReadReport
    ops: list[Op]

    def follows(self, end_offset: int) -> bool:
        """Whether this part's first record is the one after ``end_offset``: right there,
        or at the next block when only a block's zero padding lies between."""
        first = self.report.first_record
        if first is None:
            return False
        return first == end_offset or (first % BLOCK == 0 and 0 < first - end_offset < CHUNK_HEADER)

    def report_into(self, report: ReadReport) -> None:
        report.end_offset = self.report.end_offset
        report.records += self.report.records
        report.notes.extend(self.report.notes)
        report.reached_stop = self.report.reached_stop


def decode_part(log: str, start: int, stop: int | None) -> Part:
    """Decode the records that begin in ``[start, stop)`` of a log (``stop`` None: to the
    end), ``start`` being a block boundary; runs in a worker process."""
    path = Path(log)
    report = ReadReport(path)
    keys = KeyTable()
    ops: list[Op] = []
    pending: list[bytes] = []
    for payloads in iter_batches(path, report, start, stop=stop, resync=True):
        pending.extend(payloads)
        if len(pending) >= BATCH_RECORDS:
            ops.extend(decode_ops(pending, keys, report.end_offset))
            pending = []
    ops.extend(decode_ops(pending, keys, report.end_offset))
    return Part(report, ops)


def _as_int(value: Any) -> int | None:
    """A whole number that fits an int64 step (a logged 1e30 or 10**400 does not)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            if math.isfinite(value) and -2**63 <= value < 2**63:
                return int(value)
        except OverflowError:  # math.isfinite of an int beyond float range
            pass
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _int_if_whole(value: Any) -> Any:
    """Config numbers read as floats (``4.0``) shown as the ints they were (``4``)."""
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
