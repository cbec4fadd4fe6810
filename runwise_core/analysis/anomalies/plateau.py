"""plateau: no meaningful progress, either flat from the start or stalled for a long final stretch.

Both rules work on block medians (exact aggregates of every point), turned so lower is better.

* **Flat from the start** (stuck at chance): the median of the last third is within
  ``plateau_flat_rel`` of the first third's (plus the noise of those medians, at most 10%
  of the level), and
  the best block was never meaningfully better than the start. A loss sitting at ln k (chance
  for k classes) says so in the message.
* **Stalled**: the final stretch, at least ``plateau_min_final_frac`` of the run's steps,
  stays inside a band of block-median noise, while just before it the metric was still
  improving fast (``plateau_stall_drop_rel`` of its level in the window before) and not
  slowing down: over two equal windows before the stall, the second improved at least half
  as much as the first. That is the exponential-fit test in disguise: an exponential decay
  with ratio r between windows still has r/(1-r) windows' worth of progress to come, so
  r >= 0.5 means the curve was heading at least one more window's drop lower. A curve that
  converges smoothly slows down before it flattens and raises nothing; one that stops dead
  while heading lower does. A natural bound is not a stall: a non-negative loss flat under
  2% of its start, or an accuracy flat at 98% or more.

A metric that hovers around zero (median |value| within 3 noise sigmas, e.g. a GRPO surrogate loss)
carries no progress signal and is never judged.
"""

from __future__ import annotations

import math

import numpy as np

from ...model import Series
from ...numfmt import fmt, fmt_int
from ...settings import Thresholds
from ..medians import median
from .finding import Anomaly
from .levels import blocks_for, noise_sigma, rolling_median
from .shared import finite_oriented, magnitude
from .shared import noise as series_noise

MIN_POINTS = 8


def _chance(level: float) -> str:
    """' (near ln 2 = 0.6931: chance for 2 classes)' when ``level`` is within 2% of ln k."""
    for k in (2, 3, 4, 5, 10, 100, 1000):
        if abs(level - math.log(k)) <= 0.02 * math.log(k):
            return f" (near ln {k} = {fmt(math.log(k))}: chance for {k} classes)"
    return ""


def detect_plateau(key: str, series: Series, t: Thresholds, higher_better: bool | None = False) -> list[Anomaly]:
    """At most one finding per metric: flat-from-start takes precedence over a stall."""
    s, y = finite_oriented(series, higher_better)
    n = len(s)
    if n < MIN_POINTS:
        return []
    noise = series_noise(y)
    if magnitude(y) <= 3.0 * noise:
        return []
    sign = -1.0 if higher_better else 1.0
    third = n // 3
    first, last = float(median(y[:third])), float(median(y[-third:]))
    # Within the noise of the two medians, but never more than 10% of the level: a noisy
    # series whose change we cannot measure is not thereby "flat".
    tol = t.plateau_flat_rel * abs(first) + min(3.0 * noise / math.sqrt(third), 0.1 * abs(first))
    b = blocks_for(s.steps, y, 30)
    if abs(first - last) <= tol and first - float(np.min(b.med)) <= 2 * tol:
        msg = (f"{key} made no progress: {fmt(sign * first)} over the first third, {fmt(sign * last)} over the last "
               f"(steps {fmt_int(int(s.steps[0]))}-{fmt_int(int(s.steps[-1]))}){_chance(sign * last)}")
        ev = {"start": sign * first, "end": sign * last, "from_start": 1.0}
        return [Anomaly("plateau", key, int(s.steps[0]), msg, int(s.steps[-1]), ev)]
    return _stall(key, s, y, t, sign)


def _at_bound(raw: np.ndarray, level: float, start: float, sign: float) -> bool:
    """Whether a flat end is a natural bound, not a stall: a non-negative loss that reached
    under 2% of where it started (it cannot head much lower), or a [0, 1] accuracy at 98% or
    more (a ceiling)."""
    finite = raw[np.isfinite(raw)]
    if sign > 0:  # lower is better
        return bool(finite.min() >= 0 and start > 0 and level <= 0.02 * start)
    return bool(finite.min() >= 0 and finite.max() <= 1.0 and level >= 0.98)


def _stall(key: str, s: Series, y: np.ndarray, t: Thresholds, sign: float) -> list[Anomaly]:
    b = blocks_for(s.steps, y, 60)
    med = rolling_median(b.med, 1)  # one wild block (a spike in a short series) is not a level
    nb = med.size
    if nb < 12:
        return []
    sigma = noise_sigma(b.med)  # on the raw medians: smoothing would hide the noise
    band = max(6.0 * sigma, 0.01 * abs(float(med[-1])))  # the range of ~60 noisy medians is ~5 sigma
    rmax = np.maximum.accumulate(med[::-1])[::-1]
    rmin = np.minimum.accumulate(med[::-1])[::-1]
    j0 = int(np.argmax(rmax - rmin <= band))
    span = float(b.steps[-1] - b.steps[0])
    if j0 == 0 or span <= 0 or (b.steps[-1] - b.steps[j0]) / span < t.plateau_min_final_frac:
        return []
    if _at_bound(s.values, sign * float(med[j0]), sign * float(med[0]), sign):
        return []
    w = min(max(1, (nb - j0) // 2), j0 // 2)
    if w < 1:
        return []
    level = float(med[j0])
    imp1 = float(med[j0 - w] - level)
    imp0 = float(med[j0 - 2 * w] - med[j0 - w])
    if imp1 < t.plateau_stall_drop_rel * abs(level) or imp1 < 4.0 * band or imp1 < 0.5 * imp0:
        return []
    h = w
    step = int(b.steps[j0])
    frac = (b.steps[-1] - b.steps[j0]) / span
    before = int(b.steps[j0] - b.steps[j0 - h])
    msg = (f"{key} stalled at {fmt(sign * level)} from step {fmt_int(step)} to {fmt_int(int(s.steps[-1]))} "
           f"(the last {fmt(100 * frac, 2)}% of the steps) after moving {fmt(imp1)} in the {fmt_int(before)} "
           f"steps before")
    ev = {"level": sign * level, "improvement_before": imp1, "final_frac": float(frac), "from_start": 0.0}
    return [Anomaly("plateau", key, step, msg, int(s.steps[-1]), ev)]
