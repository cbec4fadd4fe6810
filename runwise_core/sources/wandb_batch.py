"""What proven history and summary items mean: columns per key, and the summary fold.

:mod:`.wandb_rows` finds the items; this module applies the same rules as the slow path in
``wandb_binary`` (``_history`` and ``_summary``) to many rows at once. Where a rule of the
slow path has a case the vectorised form does not cover (a row without exactly one finite
``_step``, two ``_timestamp`` items in a row), it returns None and the caller decodes those
records with protobuf instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .wandb_rows import Items, parse_numbers

_INTERNAL = ("_step", "_timestamp", "_runtime", "_wandb")
_I64 = 2.0**63


class HistoryColumns:
    """Decoded rows: per key (steps, values) in first-arrival key order, stamps, runtime."""

    __slots__ = ("columns", "stamp_steps", "stamps", "runtime", "has_runtime")

    def __init__(self) -> None:
        self.columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.stamp_steps = np.zeros(0, np.int64)
        self.stamps = np.zeros(0, np.float64)
        self.runtime: float | None = None
        self.has_runtime = False


def decode_history(items: Items, i0: int, i1: int, rows: int) -> HistoryColumns | None:
    """Items ``i0:i1`` (the whole of ``rows`` history records) as columns, or None.

    The slow path's rules: the step is the row's ``_step`` (int of a finite float), a row's
    finite ``_timestamp`` is its stamp, the last ``_runtime`` item sets the runtime (None if
    not finite), and every other key is a metric point at the row's step.
    """
    out = HistoryColumns()
    kid = items.key[i0:i1]
    rec = items.rec[i0:i1]
    row = np.zeros(kid.size, np.int64)
    np.cumsum(rec[1:] != rec[:-1], out=row[1:])
    if kid.size and int(row[-1]) + 1 != rows:
        return None  # a record without items
    ids = {name: i for i, name in enumerate(items.keys)}
    internal = np.zeros(kid.size, bool)
    for name in _INTERNAL:
        if name in ids:
            internal |= kid == ids[name]
    is_step = kid == ids.get("_step", -2)
    is_ts = kid == ids.get("_timestamp", -2)
    is_rt = np.flatnonzero(kid == ids.get("_runtime", -2))
    # Parse what is used: metric values, steps, stamps, and only the last runtime.
    wanted = ~internal | is_step | is_ts
    if is_rt.size:
        wanted[is_rt[-1]] = True
    pos = np.flatnonzero(wanted)
    parsed = parse_numbers(items, pos + i0)
    if parsed is None:
        return None
    vals = np.zeros(kid.size, np.float64)
    vals[pos] = parsed
    if not np.array_equal(np.bincount(row[is_step], minlength=rows), np.ones(rows, np.int64)):
        return None
    step_vals = vals[is_step]  # one per row, in row order
    if not (np.isfinite(step_vals).all() and (np.abs(step_vals) < _I64).all()):
        return None
    item_steps = step_vals.astype(np.int64)[row]  # truncation toward zero, as int() does
    if is_ts.any():
        if np.bincount(row[is_ts], minlength=rows).max() > 1:
            return None
        ts_vals = vals[is_ts]
        finite = np.isfinite(ts_vals)
        out.stamp_steps = item_steps[is_ts][finite]
        out.stamps = ts_vals[finite]
    if is_rt.size:
        out.has_runtime = True
        last = float(vals[is_rt[-1]])
        out.runtime = last if math.isfinite(last) else None
    metric = ~internal
    kid_m, steps_m, vals_m = kid[metric], item_steps[metric], vals[metric]
    if kid_m.size == 0:
        return out
    uniq, first = np.unique(kid_m, return_index=True)
    for i in np.argsort(first, kind="stable").tolist():  # keys in order of first arrival
        mask = kid_m == uniq[i]
        out.columns[items.keys[int(uniq[i])]] = (steps_m[mask], vals_m[mask])
    return out


def fold_summary(items: Items, i0: int, i1: int, fold: dict[str, Any]) -> None:
    """Apply summary items ``i0:i1`` in order to ``fold`` (key -> value_json), as the slow
    path's ``fold[key] = value_json`` would: the last value of each key wins, and keys new
    to ``fold`` join it in the order they first appear. Values stay ASCII bytes until used.
    """
    if i1 <= i0:
        return
    kid = items.key[i0:i1]
    uniq, first = np.unique(kid, return_index=True)
    _, last_rev = np.unique(kid[::-1], return_index=True)
    last = kid.size - 1 - last_rev
    for u in np.argsort(first, kind="stable").tolist():
        fold[items.keys[int(uniq[u])]] = items.value_bytes(i0 + int(last[u]))
