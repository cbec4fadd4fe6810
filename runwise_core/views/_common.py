"""What several views share: choosing keys, refusing runs without history, run identity."""

from __future__ import annotations

import fnmatch
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import KeyNotFound, NoHistory, closest
from ..model import Run, RunState, Series


@dataclass(frozen=True)
class RunBrief:
    """Who a run is, in the few fields every view repeats."""

    id: str
    name: str
    state: RunState
    last_step: int | None
    source: str


def brief(run: Run, now: float | None = None) -> RunBrief:
    return RunBrief(run.id, run.name, run.state(now), run.last_step, run.source)


def require_history(run: Run) -> None:
    """Raise :class:`NoHistory` saying why when ``run`` has no scalar metric points."""
    if any(len(s) for s in run.metrics.values()):
        return
    why = []
    if run.rows == 0:
        why.append("it logged 0 history rows")
    else:
        why.append(f"its {run.rows:,} history rows hold no scalar values")
    if run.non_scalar:
        why.append("non-scalar keys only: " + ", ".join(sorted(run.non_scalar)[:5]))
    state = run.state()
    if state is not RunState.RUNNING and run.exit_code not in (None, 0):
        why.append(f"it {state.value} with exit code {run.exit_code}")
    elif state is RunState.RUNNING:
        why.append("it is running and may not have logged yet")
    why.extend(run.read_notes[:2])
    tail = [line for line in run.console_tail if line.strip()][-1:]
    hint = f"; last console line: {tail[0].strip()[:160]}" if tail else ""
    raise NoHistory(f"run {run.id} ({run.name}) has no metric history: {'; '.join(why)}{hint}")


def resolve_keys(run: Run, requested: Sequence[str]) -> list[str]:
    """The run's scalar keys for ``requested`` names, in the requested order.

    A name is an exact key or a glob (``train/*``). An unknown name raises
    :class:`KeyNotFound` naming the closest keys; a non-scalar key says what it is.
    """
    out: list[str] = []
    keys = run.metric_keys()
    for name in requested:
        name = name.strip()
        if not name:
            continue
        if name in run.metrics:
            matched = [name]
        elif any(ch in name for ch in "*?["):
            matched = [k for k in keys if fnmatch.fnmatchcase(k, name)]
        else:
            matched = []
        if not matched:
            if name in run.non_scalar:
                raise KeyNotFound(
                    f"key {name!r} of run {run.id} is a {run.non_scalar[name]}, not a scalar metric; "
                    "runwise reads scalar metrics only"
                )
            near = closest(name, keys)
            hint = f"closest keys: {', '.join(near)}" if near else f"run `runwise keys {run.id}` to list them"
            raise KeyNotFound(f"no key {name!r} in run {run.id}; {hint}")
        out.extend(k for k in matched if k not in out)
    return out


def clean_number(x: object) -> float | None:
    """A summary value as a number: ints and floats pass (NaN kept), anything else is None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    try:
        return float(x)
    except OverflowError:  # a JSON int beyond float range (400 digits) is no value
        return None


def now_or(now: float | None) -> float:
    return time.time() if now is None else now


def finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def step_slice(series: Series, step_range: tuple[int | None, int | None] | None) -> Series:
    """The points of ``series`` with ``lo <= step <= hi`` (either bound may be None)."""
    if step_range is None:
        return series
    lo, hi = step_range
    s = series.steps
    i = 0 if lo is None else int(np.searchsorted(s, lo, side="left"))
    j = s.size if hi is None else int(np.searchsorted(s, hi, side="right"))
    return Series(s[i:j], series.values[i:j])
