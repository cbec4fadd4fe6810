"""Row-indexed accumulation for tabular logs (JSON lines, CSV, Lightning's metrics.csv).

Tabular logs name their step column only by convention, may lack it on some rows, and may
hold two runs appended one after the other. So points are stored against the *row* they came
from, not a step: the reader streams the file once, and the step column, the row -> step map
and the split into runs are all decided afterwards from the stored columns, with no second
pass and no per-point Python objects (``array.array``: 16 bytes a point).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..model import Series
from .columns import kind_of, scalar


class DamageLog:
    """Lines skipped while reading, summarised into a few ``read_notes`` lines.

    A damaged file can hold thousands of bad lines; the notes keep the first ``keep`` and
    count the rest, so a note never costs more tokens than the data it describes.
    """

    def __init__(self, keep: int = 5) -> None:
        self.keep = keep
        self._items: list[tuple[int, str]] = []
        self.count = 0

    def skip(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self._items) < self.keep:
            self._items.append((line, reason))

    def state(self) -> dict:
        """JSON-able state, for the on-disk cache."""
        return {"items": [list(i) for i in self._items], "count": self.count, "keep": self.keep}

    @classmethod
    def restore(cls, state: dict) -> "DamageLog":
        log = cls(int(state["keep"]))
        log._items = [(int(line), str(reason)) for line, reason in state["items"]]
        log.count = int(state["count"])
        return log

    def notes(self, label: str) -> list[str]:
        out = [f"{label} line {line}: {reason}; skipped" for line, reason in self._items]
        if self.count > len(self._items):
            out.append(f"{label}: {self.count - len(self._items)} more damaged lines skipped")
        return out


def cell_value(value: Any) -> tuple[float | None, str | None]:
    """Classify one logged value: ``(number, None)``, ``(None, kind)`` or ``(None, None)``.

    Numbers (NaN and +-Inf included) are points; everything else has a kind, named as the
    W&B readers name it (:func:`.columns.kind_of`: ``null``, ``bool``, ``string``, ``list``,
    ...). Booleans are not metrics. A JSON string stays a string even when it looks numeric:
    the writer chose to log text. An int beyond float range is not a measurement.
    """
    try:
        number = scalar(value)
    except OverflowError:
        return None, "int"
    return (number, None) if number is not None else (None, kind_of(value))


#: A JSON list of at most this many numbers is read as one metric per element.
MAX_LIST_METRICS = 32


def json_cells(obj: Mapping[str, Any]) -> Iterator[tuple[str, float | None, str | None]]:
    """The cells of one JSON object as ``(key, number, kind)``.

    A short list of numbers (DETR's ``test_coco_eval_bbox``: the 12 COCO AP/AR values) is
    one metric per element, ``key[0]``, ``key[1]``, ...: the numbers an agent asks about
    (AP) live there. Longer or mixed lists stay one non-scalar ``list`` key.
    """
    for key, value in obj.items():
        key = str(key)
        if (isinstance(value, list) and 0 < len(value) <= MAX_LIST_METRICS
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)):
            for i, x in enumerate(value):
                yield f"{key}[{i}]", float(x), None
        else:
            yield (key, *cell_value(value))


def csv_cell_value(text: str) -> tuple[float | None, str | None]:
    """Classify one CSV cell: empty is missing, a float literal is a point, else a string."""
    text = text.strip()
    if not text:
        return None, None
    try:
        return float(text), None
    except ValueError:
        return None, "string"


class RowTable:
    """Scalar points per key, each tagged with its row number; non-scalar keys by kind.

    ``lines[r]`` is the 1-based file line where row ``r`` began, for notes that point at the
    file. A key that has any numeric point is a metric; a key that never has one is listed in
    ``non_scalar`` with the kind of its first value.
    """

    def __init__(self) -> None:
        self._rows: dict[str, array] = {}
        self._values: dict[str, array] = {}
        self._kinds: dict[str, str] = {}
        self.lines = array("q")
        self.first_keys: list[str] = []  # keys with a number in the first row that has one
        self._first_row: int | None = None

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON meta, arrays) for the on-disk cache; :meth:`restore` inverts it."""
        keys = list(self._rows)
        arrays = {"lines": np.frombuffer(self.lines, np.int64)}
        for i, key in enumerate(keys):
            arrays[f"r{i}"] = np.frombuffer(self._rows[key], np.int64)
            arrays[f"v{i}"] = np.frombuffer(self._values[key], np.float64)
        return {"keys": keys, "kinds": self._kinds, "first_keys": self.first_keys,
                "first_row": self._first_row}, arrays

    @classmethod
    def restore(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "RowTable":
        table = cls()
        table.lines = array("q", arrays["lines"].astype(np.int64).tobytes())
        for i, key in enumerate(meta["keys"]):
            table._rows[key] = array("q", arrays[f"r{i}"].astype(np.int64).tobytes())
            table._values[key] = array("d", arrays[f"v{i}"].astype(np.float64).tobytes())
        table._kinds = dict(meta["kinds"])
        table.first_keys = list(meta["first_keys"])
        table._first_row = meta["first_row"]
        return table

    def add_row(self, line: int, cells: Iterable[tuple[str, float | None, str | None]]) -> None:
        """Append one row: ``cells`` are ``(key, number, kind)`` from :func:`cell_value`."""
        row = len(self.lines)
        self.lines.append(line)
        for key, number, kind in cells:
            self._cell(row, key, number, kind)

    def add_json_row(self, line: int, obj: Mapping[str, Any]) -> None:
        """Append one parsed JSON object, as :func:`json_cells` classifies it.

        The common case (a plain int or float) is handled inline: this runs once per value
        of a file that may hold millions of rows, and the generic path costs 3x as much.
        """
        row = len(self.lines)
        self.lines.append(line)
        rows_of, values_of = self._rows, self._values
        for key, value in obj.items():
            t = type(value)
            if t is float or t is int:
                rows = rows_of.get(key)
                if rows is not None:
                    try:
                        values_of[key].append(value)
                    except OverflowError:  # an int beyond float range is not a measurement
                        self._cell(row, key, None, "int")
                        continue
                    rows.append(row)
                    continue
            elif t is str:
                if key not in self._kinds:
                    self._kinds[key] = "string"
                continue
            for k, number, kind in json_cells({key: value}):
                self._cell(row, k, number, kind)

    def _cell(self, row: int, key: str, number: float | None, kind: str | None) -> None:
        if number is not None:
            rows = self._rows.get(key)
            if rows is None:
                rows = self._rows[key] = array("q")
                self._values[key] = array("d")
            try:
                self._values[key].append(number)
            except OverflowError:
                self._kinds.setdefault(key, "int")
                return
            rows.append(row)
            if self._first_row is None:
                self._first_row = row
            if row == self._first_row:
                self.first_keys.append(key)
        elif kind is not None and key not in self._kinds:
            self._kinds[key] = kind

    def keys(self) -> list[str]:
        return list(self._rows)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def non_scalar(self) -> dict[str, str]:
        return {k: v for k, v in self._kinds.items() if k not in self._rows}

    def column(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, values) of one key, in file order."""
        return (np.frombuffer(self._rows[key], dtype=np.int64),
                np.frombuffer(self._values[key], dtype=np.float64))

    def row_steps(self, step_key: str) -> np.ndarray:
        """The step of every row from ``step_key``: rows lacking it (or holding NaN, Inf or a
        number beyond int64) take the previous row's step (a sparse row belongs to the step
        last logged), leading rows the first one. Fractions are truncated."""
        rows, values = self.column(step_key)
        ok = np.isfinite(values) & (np.abs(values) < 2.0**62)
        rows, values = rows[ok], values[ok]
        steps = np.zeros(self.n_rows, dtype=np.int64)
        if rows.size == 0:
            return np.arange(self.n_rows, dtype=np.int64)
        mark = np.full(self.n_rows, -1, dtype=np.int64)
        mark[rows] = np.arange(rows.size)
        np.maximum.accumulate(mark, out=mark)
        mark[mark < 0] = 0
        steps[:] = values.astype(np.int64)[mark]
        return steps

    def series(self, steps_of_row: np.ndarray, lo: int = 0, hi: int | None = None) -> dict[str, Series]:
        """Every metric over rows ``[lo, hi)``, with steps from ``steps_of_row``."""
        hi = self.n_rows if hi is None else hi
        out: dict[str, Series] = {}
        for key in self._rows:
            rows, values = self.column(key)
            a, b = np.searchsorted(rows, [lo, hi])
            if b > a:
                out[key] = Series.from_lists(steps_of_row[rows[a:b]], values[a:b].copy())
        return out
