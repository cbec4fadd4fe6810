"""nan: NaN or +-Inf anywhere in a metric. One finding per metric: the first step and how many."""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...numfmt import fmt_int
from .finding import Anomaly


def detect_nan(key: str, series: Series) -> list[Anomaly]:
    """One finding if any value is NaN or infinite, at the first such step.

    The message says which non-finite values occur, how many of the points, and whether
    the metric came back to finite values afterwards (a run that stays NaN is dead).
    """
    bad = ~np.isfinite(series.values)
    count = int(bad.sum())
    if count == 0:
        return []
    idx = np.flatnonzero(bad)
    first, last = int(idx[0]), int(idx[-1])
    vals = series.values[bad]
    kinds = [name for name, hit in (("NaN", np.isnan(vals).any()), ("Inf", np.isposinf(vals).any()),
                                     ("-Inf", np.isneginf(vals).any())) if hit]
    steps = series.steps
    what = "/".join(kinds)
    tail = "to the end" if last == series.values.size - 1 else f"last at step {fmt_int(int(steps[last]))}, finite after"
    if count == 1:
        msg = f"{key} is {what} at step {fmt_int(int(steps[first]))} (1 of {fmt_int(series.values.size)} points)"
    else:
        msg = (f"{key} is {what} from step {fmt_int(int(steps[first]))} ({fmt_int(count)} of "
               f"{fmt_int(series.values.size)} points, {tail})")
    evidence = {"count": float(count), "points": float(series.values.size)}
    return [Anomaly("nan", key, int(steps[first]), msg, int(steps[last]), evidence)]
