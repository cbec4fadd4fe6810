"""Plain metric logs: JSON lines (``*.jsonl``, and ``*.txt``/``*.log`` files of JSON objects,
like DETR's ``output/log.txt``) and CSV (``*.csv``, and ``*.log``/``*.txt`` files of CSV with
a step column, like Keras' ``CSVLogger('training.log')``).

Contract:

* Discovery claims a file by its name and its first lines only: a JSON object among the first
  five (a log may open with a config object), or a CSV header, that holds a number and names
  a step column or a metric-looking key (loss, acc, reward, ...).
  Dataset files of text, structured debug logs (``{"level":..,"msg":..}``), W&B's own files
  and Lightning's ``metrics.csv`` (see :mod:`.lightning_csv`) are left alone.
* The step column is the first of ``step, _step, global_step, iteration, iter, epoch`` whose
  values are all finite integers; rows without it take the previous row's step. It is the
  axis, not a metric. No such column: steps are row numbers, and ``read_notes`` says so.
* Two runs appended in one file (the step goes back to, or below, where it started) are split
  into runs ``NAME#1``, ``NAME#2``, ...; a smaller step-back (a resume that repeats some steps)
  stays one run, with a note. Only the last part can still be running.
* Non-numeric columns are listed in ``Run.non_scalar``; damaged lines are skipped with a
  note (see :mod:`.line_records`).

Discovery emits one :class:`RunRef` per appended run (ids ``<stem>-<hash6>#k``, found by a
fast step-only pass, :mod:`.log_parts`); :meth:`MetricLogSource.load` returns the part named by
the ``#k`` suffix and, for an id without one (the file grew a second run since the scan), the
newest part. :meth:`MetricLogSource.load_all` and :func:`load_file` return every part.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RunNotFound, UnreadableLog
from ..model import Run
from .base import RunRef
from .lightning_csv import is_lightning_folder
from .line_records import read_table
from .local_run import display_name, exitless_run, newest_mtime, path_id, is_regular
from .log_parts import STEP_KEYS, count_parts, restarts, split_key
from .row_table import RowTable

JSON_SUFFIXES = (".jsonl", ".ndjson", ".txt", ".log")
CSV_SUFFIXES = (".csv",)
_METRIC_WORD = re.compile(
    r"loss|acc|reward|return|score|metric|perplex|ppl|error|bleu|rouge|f1|(^|[_/.\s])lr($|[_/.\s])",
    re.IGNORECASE)
_PEEK_BYTES = 1 << 20
_SNIFF_LINES = 5
_WANDB_MARKERS = ("wandb-metadata.json", "wandb-history.jsonl", "wandb-summary.json")


def _looks_like_metrics(keys: list[str]) -> bool:
    low = {k.lower() for k in keys}
    if {"level", "msg"} <= low or {"level", "message"} <= low:
        return False  # a structured application log (W&B's debug-core.log), not metrics
    if low & set(STEP_KEYS):
        return True
    return any(_METRIC_WORD.search(k) for k in keys)


def _first_lines(path: Path, n: int = 1) -> list[str]:
    """The first ``n`` non-blank lines (at most 1 MiB of each; fewer when the file is short
    or unreadable)."""
    out: list[str] = []
    try:
        with open(path, "rb") as fh:
            for _ in range(20 + n):
                raw = fh.readline(_PEEK_BYTES)
                if not raw:
                    break
                if raw.strip():
                    out.append(raw.decode("utf-8", errors="replace").lstrip("\ufeff").strip())
                    if len(out) == n:
                        break
    except OSError:
        return []
    return out


def _first_line(path: Path) -> str | None:
    lines = _first_lines(path)
    return lines[0] if lines else None


def _csv_cells(line: str) -> list[str]:
    return [c.strip().strip('"') for c in line.split(",")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _metric_object(line: str) -> bool:
    """A JSON object holding a number under a step or metric-looking key set."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return False
    if not isinstance(obj, dict):
        return False
    numeric = any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in obj.values())
    return numeric and _looks_like_metrics([str(k) for k in obj])


def sniff(path: Path) -> str | None:
    """``"jsonl"`` or ``"csv"`` when ``path``'s first line looks like a metric log, else None."""
    line = _first_line(path)
    if line is None:
        return None
    if line.startswith("{"):
        # the first few lines: a log may open with a config or header object
        return "jsonl" if any(_metric_object(text) for text in _first_lines(path, _SNIFF_LINES)) else None
    header = _csv_cells(line)
    if path.suffix.lower() in CSV_SUFFIXES:
        return "csv" if len(header) >= 2 and _looks_like_metrics(header) else None
    # a .log/.txt that is CSV (Keras' CSVLogger writes training.log): a header naming a step
    # column, then a row of as many cells with a number in the step column
    if len(header) >= 2 and {h.lower() for h in header} & set(STEP_KEYS):
        lines = _first_lines(path, 2)
        row = _csv_cells(lines[1]) if len(lines) == 2 else []
        step_col = next(i for i, h in enumerate(header) if h.lower() in STEP_KEYS)
        if len(row) == len(header) and _is_number(row[step_col]):
            return "csv"
    return None


def _is_candidate(folder: Path, name: str, files: list[str]) -> bool:
    low = name.lower()
    if low.startswith(("wandb-", "debug")) or low.endswith(".wandb"):
        return False
    if low == "metrics.csv" and is_lightning_folder(folder, files):
        return False
    # a regular file only: a named pipe would block the read (links: vetted by the catalog)
    return low.endswith(JSON_SUFFIXES + CSV_SUFFIXES) and is_regular(folder / name)


@dataclass(frozen=True)
class _Part:
    lo: int
    hi: int


def _choose_step_key(table: RowTable) -> str | None:
    """The first step name whose values are all finite integers (a fractional epoch is not)."""
    by_lower = {k.lower(): k for k in reversed(table.keys())}
    for cand in STEP_KEYS:
        key = by_lower.get(cand)
        if key is None:
            continue
        _, values = table.column(key)
        if (values.size and np.all(np.isfinite(values)) and np.all(values == np.round(values))
                and np.all(np.abs(values) < 2.0**62)):
            return key
    return None


def _split(table: RowTable, notes: list[str]) -> tuple[list[_Part], str | None]:
    """Cut the rows where a new run begins (:func:`.log_parts.restarts`)."""
    key = split_key(table.first_keys)
    if key is None:
        return [_Part(0, table.n_rows)], None
    rows, values = table.column(key)
    cuts, backs = restarts(values)
    for i in backs:
        notes.append(f"{key} goes back from {values[i - 1]:g} to {values[i]:g} "
                     f"at line {table.lines[rows[i]]} (a resume?); kept in one run")
    bounds = [0, *(int(rows[i]) for i in cuts), table.n_rows]
    return [_Part(a, b) for a, b in zip(bounds, bounds[1:])], key


def _read(path: Path, kind: str) -> tuple[RowTable, list[str]]:
    table, damage = read_table(path, kind)
    if table.n_rows == 0 and damage.count:
        raise UnreadableLog(f"{path} holds no readable {kind} rows "
                            f"({'; '.join(damage.notes(path.name)[:2])})")
    if kind == "csv" and path.suffix.lower() not in CSV_SUFFIXES and table.n_rows and not table.keys():
        # a .log/.txt guessed to be CSV that holds no number at all is plain text
        raise UnreadableLog(f"{path} is not a metric log: neither JSON lines nor CSV with numbers")
    return table, damage.notes(path.name)


def _kind_for(path: Path) -> str:
    """``.csv`` is CSV and ``.jsonl``/``.ndjson`` JSON lines; anything else (``.log``,
    ``.txt``, no suffix) is JSON lines when its first line is an object, else CSV."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    line = _first_line(path) or ""
    return "jsonl" if line.startswith("{") else "csv"


def _runs(path: Path, kind: str, run_id: str, name: str) -> list[Run]:
    table, notes = _read(path, kind)
    step_key = _choose_step_key(table)
    if step_key is None:
        steps = np.arange(table.n_rows, dtype=np.int64)
        notes.append(f"no step column ({', '.join(STEP_KEYS)}) with whole numbers: "
                     "steps are row numbers from 0")
    else:
        steps = table.row_steps(step_key)
    parts, cut_key = _split(table, notes)
    non_scalar = table.non_scalar()
    runs: list[Run] = []
    for k, part in enumerate(parts, start=1):
        rid, rname = (run_id, name) if len(parts) == 1 else (f"{run_id}#{k}", f"{name}#{k}")
        run = exitless_run(rid, rname, kind, path, [path])
        run.metrics = table.series(steps, part.lo, part.hi)
        if step_key is not None:
            run.metrics.pop(step_key, None)  # the axis, not a metric
        run.non_scalar = dict(non_scalar)
        run.rows = part.hi - part.lo
        if run.rows:
            run.last_step = int(steps[part.lo:part.hi].max())
        run.read_notes = list(notes)
        if len(parts) > 1:
            first, last = table.lines[part.lo], table.lines[part.hi - 1]
            run.read_notes.append(
                f"{path.name} holds {len(parts)} runs appended ({cut_key} restarts); this is "
                f"part {k} of {len(parts)}, lines {first}-{last}")
            if k < len(parts):
                run.last_activity = None  # a later run follows: this one is not running
        runs.append(run)
    return runs


def load_file(path: Path) -> list[Run]:
    """Read one metric log given by path (``runwise local FILE``): one run per appended part.

    The format comes from the suffix (``.csv`` is CSV, ``.jsonl``/``.ndjson`` JSON lines),
    else from the first line (an object: JSON lines; else CSV). Raises :class:`UnreadableLog`
    for a file that cannot be opened, holds no readable row at all, or (a ``.log``/``.txt``
    read as CSV) holds no number. The on-disk cache is used when the caller put one in
    effect (``runwise_core.cache.using``).
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableLog(f"{path} is not a readable file")
    return _runs(path, _kind_for(path), path_id(path.stem, path, SOURCE.name), display_name(path, is_file=True))


class MetricLogSource:
    """The :class:`~runwise_core.sources.base.Source` for JSON-lines and CSV metric logs."""

    name = "metric-log"

    def __init__(self) -> None:
        self._last: tuple[tuple, list[Run]] | None = None

    def scan(self, folder: Path, files: list[str], subdirs: list[str]) -> list[RunRef]:
        if any(m in files for m in _WANDB_MARKERS) or any(f.endswith(".wandb") for f in files):
            return []  # a W&B run folder: its JSON files are W&B's
        refs: list[RunRef] = []
        for fname in files:
            if not _is_candidate(folder, fname, files):
                continue
            path = folder / fname
            kind = sniff(path)
            if kind is None:
                continue
            run_id, name = path_id(path.stem, path, self.name), display_name(path, is_file=True)
            mtime = newest_mtime([path]) or 0.0
            n = count_parts(path, kind)
            if n == 1:
                refs.append(RunRef(self.name, run_id, (path,), mtime, name))
                continue
            # one ref per appended run; later parts sort as newer (1 ms apart)
            refs.extend(RunRef(self.name, f"{run_id}#{k}", (path,), mtime - (n - k) * 1e-3, f"{name}#{k}")
                        for k in range(1, n + 1))
        return refs

    def load_all(self, ref: RunRef) -> list[Run]:
        """Every run in the ref's file (several when runs were appended).

        The parts of the last file read are kept (keyed by path, size and mtime), so loading
        ``NAME#1`` and then ``NAME#2`` parses the file once; each call returns fresh
        :class:`Run` objects (the series arrays are shared and never written).
        """
        path = ref.paths[0]
        name = (ref.name_hint or display_name(path, is_file=True)).split("#", 1)[0]
        base = ref.id.split("#", 1)[0]
        try:
            st = path.stat()
            key = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, base, name)
        except OSError:
            key = None
        if key is None or self._last is None or self._last[0] != key:
            runs = _runs(path, _kind_for(path), base, name)
            self._last = (key, runs) if key is not None else None
        else:
            runs = self._last[1]
        return [dataclasses.replace(r, metrics=dict(r.metrics), non_scalar=dict(r.non_scalar),
                                    read_notes=list(r.read_notes), config=dict(r.config),
                                    summary=dict(r.summary)) for r in runs]

    def load(self, ref: RunRef) -> Run:
        """The part named by ``#k`` in ``ref.id``, else the newest part (the one that can be
        running); the other parts' ids are named in ``read_notes``."""
        runs = self.load_all(ref)
        if "#" in ref.id:
            for run in runs:
                if run.id == ref.id:
                    return run
            raise RunNotFound(f"{ref.paths[0]} has no part {ref.id!r}; parts: "
                                f"{', '.join(r.id for r in runs)}")
        run = runs[-1]
        if len(runs) > 1:
            run.read_notes.append("earlier runs in this file: " + ", ".join(r.id for r in runs[:-1]))
        return run


SOURCE = MetricLogSource()
