"""Many rows of a ``wandb-history.jsonl`` at once: one JSON parse, then numpy columns.

:meth:`.wandb_history.History.line` is the definition of a row (one ``json.loads`` a line);
this module gives exactly what it gives, a few thousand rows at a time, or says it cannot
(None) and the caller goes line by line. The lines are parsed as one JSON array
(:func:`.json_array.parse_array`), the rows grouped by their key tuples, and each group's
values turned into float64 columns in C (``array('d')`` takes ints and floats only, and
refuses an int beyond float range) rather than value by value in Python.

It covers rows whose values are all numbers (and ``_wandb``, which is not read); text,
booleans, nulls, nested dicts, a ``_step`` that is not a whole number, or a line that is
not one object send the lines to the definition.

One array text for many lines is only safe if each line is one element. A string cannot
run on into the next line (JSON forbids raw newlines in strings, and lines are joined by a
comma and a newline), but an array can: ``{"a": [{}`` then ``{}]}`` parse as one row. So
each line must begin with ``{`` and end with ``}``, and no row may hold a list: then no
container is open at a line's end (after ``}`` and a comma, only an array may take a
``{``), each line gives at least one element, and equal counts mean exactly one each.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterator
from itertools import chain, count
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from .json_array import parse_array

_NEWLINE, _OPEN, _CLOSE = ord("\n"), ord("{"), ord("}")
_JSON_SPACE = b" \t\r"  # JSON's whitespace within a line (bytes.strip() would also take \v and \f)


class RowBatch(NamedTuple):
    """Rows decoded into columns, ready to append to what came before."""

    rows: int
    #: (key, steps, values) per key, keys in the order the rows first show them
    columns: list[tuple[str, np.ndarray, np.ndarray]]
    stamp_steps: np.ndarray
    stamps: np.ndarray
    #: the last finite ``_runtime`` among the rows, if any
    runtime: float | None
    #: how many rows took their row number as step (no ``_step`` key)
    stepless: int


def array_of_block(body: bytes) -> tuple[bytearray, int] | None:
    """Complete lines (each with its newline) as one JSON array text and their count, when
    every line is exactly ``{...}``, nothing around it (checked in numpy, not line by line);
    None otherwise."""
    text = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(text == _NEWLINE)
    if not len(ends) or ends[-1] != len(text) - 1 or text[0] != _OPEN:
        return None
    if not (text[ends - 1] == _CLOSE).all() or not (text[ends[:-1] + 1] == _OPEN).all():
        return None
    blob = bytearray(b"[")
    blob += body.replace(b"\n", b",\n")
    blob[-2:] = b"\n]"  # the last line's comma
    return blob, len(ends)


def array_of_lines(lines: list[bytes]) -> tuple[bytes, int] | None:
    """Complete lines (newlines stripped) as one JSON array text of the non-blank ones and
    their count, when each of those is ``{...}`` give or take JSON whitespace; None otherwise."""
    full = [raw for raw in lines if raw.strip()]
    if not all(map(_braced, full)):
        return None
    return b"[" + b",\n".join(full) + b"]", len(full)


def _braced(raw: bytes) -> bool:
    inner = raw.strip(_JSON_SPACE)
    return inner[:1] == b"{" and inner[-1:] == b"}"


def decode_array(blob: bytes | bytearray, count: int, base: int) -> RowBatch | None:
    """The ``count`` rows in ``blob`` (from :func:`array_of_block` or :func:`array_of_lines`),
    the first being row number ``base``; None when the batch does not cover them."""
    rows = parse_array(blob)
    if rows is None or len(rows) != count or (rows and set(map(type, rows)) != {dict}):
        return None
    return decode_rows(rows, base)


def decode_rows(rows: list[dict[str, Any]], base: int) -> RowBatch | None:
    """Parsed rows as columns, exactly as row-by-row reading would give them; None when a
    value is one the batch does not cover."""
    n = len(rows)
    steps = np.arange(base, base + n, dtype=np.int64)  # a row without _step: its row number
    stepless = n
    points: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    first_seen: dict[str, tuple[int, int]] = {}
    stamped: list[tuple[np.ndarray, np.ndarray]] = []
    runtime_at, runtime = -1, None
    for keys, at, picked in _groups(rows):
        cols = _numeric_columns(picked, keys)
        if cols is None:
            return None
        for place, key in enumerate(keys):
            if key == "_wandb":
                continue
            col = cols[key]
            if key == "_step":
                exact = _steps(col, picked)
                if exact is None:
                    return None
                steps[at] = exact
                stepless -= len(at)
            elif key == "_timestamp":
                good = np.isfinite(col)
                stamped.append((at[good], col[good]))
            elif key == "_runtime":
                good = np.flatnonzero(np.isfinite(col))
                if len(good) and at[good[-1]] > runtime_at:
                    runtime_at, runtime = int(at[good[-1]]), float(col[good[-1]])
            else:
                points.setdefault(key, []).append((at, col))
                where = (int(at[0]), place)
                if key not in first_seen or where < first_seen[key]:
                    first_seen[key] = where
    columns = []
    for key in sorted(points, key=first_seen.__getitem__):
        at, values = _in_row_order(points[key])
        columns.append((key, steps[at], values))
    stamp_at, stamps = _in_row_order(stamped)
    return RowBatch(n, columns, steps[stamp_at], stamps, runtime, stepless)


def _groups(rows: list[dict[str, Any]]) -> Iterator[tuple[tuple[str, ...], np.ndarray, list[dict[str, Any]]]]:
    """(key tuple, row numbers, rows) for each key tuple, in order of first appearance."""
    index: defaultdict[tuple[str, ...], int] = defaultdict(count().__next__)  # a new key tuple: the next number
    group_of = np.fromiter(map(index.__getitem__, map(tuple, rows)), dtype=np.intp, count=len(rows))
    if len(index) == 1:
        yield next(iter(index)), np.arange(len(rows)), rows
        return
    for keys, i in index.items():
        at = np.flatnonzero(group_of == i)
        yield keys, at, list(map(rows.__getitem__, at.tolist()))


def _numeric_columns(picked: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The float64 column of each key but ``_wandb``, when every value is a number that a
    row-by-row read takes as one (an int or float that fits a float64, not a bool) and no
    ``_wandb`` value holds a list (see the module docstring); None otherwise."""
    numeric = tuple(key for key in keys if key != "_wandb")
    if len(numeric) < len(keys) and any(map(_holds_list, map(itemgetter("_wandb"), picked))):
        return None
    if not numeric:
        return {}
    if len(numeric) == len(keys):
        flat = list(chain.from_iterable(map(dict.values, picked)))  # a group's rows share one key order
    elif len(numeric) == 1:
        flat = list(map(itemgetter(numeric[0]), picked))
    else:
        flat = list(chain.from_iterable(map(itemgetter(*numeric), picked)))
    try:
        values = array("d", flat)  # TypeError: text, null, dict, list; OverflowError: an int past float range
    except (TypeError, OverflowError):
        return None
    del flat
    table = np.frombuffer(values, dtype=np.float64).reshape(len(picked), len(numeric))
    cols = {}
    for place, key in enumerate(numeric):
        col = table[:, place]
        # array('d') takes True and False as 1.0 and 0.0; only a column holding those may hide one
        if ((col == 0.0) | (col == 1.0)).any() and bool in set(map(type, map(itemgetter(key), picked))):
            return None
        cols[key] = col
    return cols


def _steps(col: np.ndarray, picked: list[dict[str, Any]]) -> np.ndarray | None:
    """The ``_step`` column as int64, each value truncated as ``int()`` does; None when one
    is not finite or beyond int64 (a row-by-row read takes the row number there)."""
    if (np.abs(col) < 2.0**53).all():  # exact as floats, whether logged as ints or floats
        return col.astype(np.int64)
    exact = list(map(itemgetter("_step"), picked))  # ints past 2**53 lose digits as floats
    if not all(map(int64, exact)):
        return None
    return np.array(list(map(int, exact)), dtype=np.int64)


def _in_row_order(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, values) of several groups as one pair, by row number."""
    if not parts:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
    if len(parts) == 1:
        return parts[0]
    at = np.concatenate([a for a, _ in parts])
    values = np.concatenate([v for _, v in parts])
    order = np.argsort(at, kind="stable")
    return at[order], values[order]


def _holds_list(value: Any) -> bool:
    """Whether a JSON value is or holds a list, at any depth (without recursion: a value
    may be nested deeper than Python's stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
    return False


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
