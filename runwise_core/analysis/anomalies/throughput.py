"""throughput: samples, tokens or steps per second dropping substantially and staying down.

A run that logs no rate of its own is judged on steps per second derived from its log's
timestamps (:func:`steps_per_sec`).

On block medians in log space (throughput is multiplicative): the one split that best
separates a higher level before from a lower level after (a CUSUM change point), ignoring
the first 5% (compile and warmup are slow starts, not drops). A finding needs the level
after the split at most ``throughput_drop_frac`` of the level before, the final stretch
(last 10%) still that low, and the low stretch to last at least 5% of the run: short dips for
evaluation or checkpointing recover and raise nothing.
"""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...numfmt import fmt, fmt_int
from ...settings import Thresholds
from .finding import Anomaly
from .levels import blocks, blocks_for
from .shared import finite

MIN_POINTS = 20


def detect_throughput(key: str, series: Series, t: Thresholds, higher_better: bool | None = True) -> list[Anomaly]:
    """One finding at the step where the drop began."""
    s = finite(series)
    if len(s) < MIN_POINTS or higher_better is False:
        return []
    b = blocks_for(s.steps, s.values, 100)
    med = b.med
    if np.any(med <= 0):
        med = np.maximum(med, 1e-12)
    skip = max(1, int(0.05 * med.size))
    z = np.log(med[skip:])
    nb = z.size
    if nb < 10:
        return []
    c = np.cumsum(z - z.mean())
    k = int(np.argmax(c[:-1])) + 1  # split: z[:k] high, z[k:] low
    before = float(np.exp(np.median(z[:k])))
    after = float(np.exp(np.median(z[k:])))
    tail = float(np.exp(np.median(z[-max(2, nb // 10) :])))
    if nb - k < max(2, 0.05 * nb) or after > t.throughput_drop_frac * before or tail > t.throughput_drop_frac * before:
        return []
    # step: the first raw point in block k that falls below halfway
    kb = k + skip
    lo = int(b.first_index[kb])
    hi = int(b.first_index[kb + 1]) if kb + 1 < len(b) else s.values.size
    half = 0.5 * (before + after)
    below = np.flatnonzero(s.values[lo:hi] < half)
    idx = lo + (int(below[0]) if below.size else 0)
    step = int(s.steps[idx])
    msg = (f"{key} dropped from {fmt(before)} to {fmt(after)} at step {fmt_int(step)} ({fmt(after / before)}x) "
           f"and stayed down ({fmt(tail)} at the end)")
    ev = {"before": before, "after": after, "final": tail, "ratio": after / before}
    return [Anomaly("throughput", key, step, msg, int(s.steps[-1]), ev)]


#: The name a rate derived from the log's timestamps is reported under.
DERIVED_KEY = "steps_per_sec"


def steps_per_sec(timestamps: Series, target: int = 100) -> Series | None:
    """Training speed from the log's own clock: steps per second, as block medians.

    Rows logged in one batch share a timestamp, so only the rows where the clock moves are
    used, each with the steps since the previous such row. The rate of a block (at least 5
    of those rows) is the median of its rows' rates, an exact aggregate that a pause (a
    stopped and resumed process, a long evaluation: one slow row) cannot move. ``None``
    when there are fewer than 100 such rows: too short a log to judge speed.
    """
    s = timestamps.finite()
    if len(s) < 2:
        return None
    keep = np.concatenate(([True], np.diff(s.values) > 0))
    steps, clock = s.steps[keep].astype(np.float64), s.values[keep]
    d_step, d_time = np.diff(steps), np.diff(clock)
    ok = d_step > 0
    if ok.sum() < 100:
        return None
    rate = d_step[ok] / d_time[ok]
    at = s.steps[keep][1:][ok]
    b = blocks(at, rate, max(5, int(np.ceil(rate.size / max(1, target)))))
    return Series(b.steps.astype(np.int64), b.med)


def detect_derived_throughput(timestamps: Series, t: Thresholds) -> list[Anomaly]:
    """A throughput drop judged on :func:`steps_per_sec`, for runs that log no rate of their own."""
    rate = steps_per_sec(timestamps)
    if rate is None:
        return []
    found = detect_throughput(DERIVED_KEY, rate, t)
    said = f"{DERIVED_KEY} (from the log's timestamps)"
    return [Anomaly(a.kind, a.metric, a.step, a.message.replace(DERIVED_KEY, said, 1), a.end_step, a.evidence)
            for a in found]
