"""gradient: a gradient norm exploding (an order of magnitude over its running level) or vanishing.

Gradient norms are positive and multiplicative, so levels are block medians and ratios.

* **Exploding**: two blocks in a row (of about 1% of the run each, 6 points at least) whose medians are
  ``grad_explode_factor`` times the running level (the median of the blocks before, over
  about a tenth of the run): the norm itself moved up, not one noisy point. Isolated points
  that high count only while they are rare and stand out of the norm's own tail (2.5 times
  its 99th-percentile log-ratio); a norm whose every few steps jump tenfold is
  heavy-tailed by nature and raises nothing.
* **Vanishing**: the final stretch's median fell below ``grad_vanish_factor`` of the early
  level (after warmup). Scattered exact zeros (GRPO groups with no reward variance, rows
  logged without a gradient) do not move a median and raise nothing.

For a squared norm (``grad_norm_square``) the factors are squared.
"""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...numfmt import fmt, fmt_int
from ...settings import Thresholds
from ..medians import median
from ..roles import words
from .finding import Anomaly
from .levels import blocks_for
from .shared import finite

MIN_POINTS = 20
#: Isolated points above the factor are an event only while rarer than this.
MAX_POINT_RATE = 0.002
#: An isolated jump's log-ratio must be this many times the 99th percentile log-ratio.
TAIL_FACTOR = 2.5


def detect_gradient(key: str, series: Series, t: Thresholds) -> list[Anomaly]:
    """Up to two findings (exploding, vanishing) for one gradient-norm metric."""
    s = finite(series)
    n = len(s)
    if n < MIN_POINTS:
        return []
    y = np.abs(s.values)
    power = 2.0 if any(w in ("square", "squared", "sq", "sqr") for w in words(key)) else 1.0
    up, down = t.grad_explode_factor**power, t.grad_vanish_factor**power
    return [*_explode(key, s, y, up), *_vanish(key, s, y, down)]


def _running(med: np.ndarray, window: int) -> np.ndarray:
    """Median of the ``window`` blocks before each block (NaN where there are none)."""
    out = np.full(med.size, np.nan)
    if med.size <= window:
        return out
    view = np.lib.stride_tricks.sliding_window_view(med[:-1], window)
    out[window:] = np.median(view, axis=1)
    return out


def _explode(key: str, s: Series, y: np.ndarray, factor: float) -> list[Anomaly]:
    b = blocks_for(s.steps, y, 100)
    nb = len(b)
    window = max(3, nb // 10)
    ref = _running(b.med, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_b = b.med / ref
    ratio_b = np.where(np.isfinite(ref) & (ref > 0), ratio_b, 0.0)  # a zero level has no ratio
    # sustained: over at least 2 blocks and 6 points from here, the median block is over
    # factor x the level from before them (a scattered exact zero does not break it; a
    # shorter excursion is a burst, judged below)
    need = max(2, int(np.ceil(6 / b.size)))
    if nb >= need:
        ahead = np.median(np.lib.stride_tricks.sliding_window_view(b.med, need), axis=1)
        first = b.med[: ahead.size]
        base = ref[: ahead.size]
        ok = np.isfinite(base) & (base > 0)
        hot = np.flatnonzero(ok & (np.minimum(ahead, first) >= factor * np.where(ok, base, np.inf)))
    else:
        hot = np.zeros(0, dtype=np.int64)
    if hot.size:
        k = int(hot[0])
        lo = int(b.first_index[k])
        hi = int(b.first_index[k + 1]) if k + 1 < nb else y.size
        i = lo + int(np.argmax(y[lo:hi] >= factor * ref[k])) if np.any(y[lo:hi] >= factor * ref[k]) else lo
        peak = float(np.max(b.med[k:]))
        msg = (f"{key} exploded from a running level of {fmt(float(ref[k]))} to {fmt(float(b.med[k]))} at step "
               f"{fmt_int(int(s.steps[i]))} ({fmt(float(ratio_b[k]))}x), block median peaking at {fmt(peak)}")
        ev = {"level": float(ref[k]), "value": float(b.med[k]), "ratio": float(ratio_b[k])}
        return [Anomaly("gradient", key, int(s.steps[i]), msg, None, ev)]
    # isolated points far above their running level, when rare and out of the series' own
    # tail (log-normal noise of sigma 0.6 alone reaches 10x a few times in 10,000 steps)
    block_of = np.minimum(np.arange(y.size) // b.size, nb - 1)
    ref_pt = ref[block_of]
    valid = np.isfinite(ref_pt) & (ref_pt > 0) & (y > 0)
    if not valid.any():
        return []
    r = np.zeros(y.size)
    r[valid] = y[valid] / ref_pt[valid]
    logs = np.log(r[valid])
    # the 99th percentile of all but the 3 highest points: a burst (1-3 steps) being judged
    # must not set its own bar, which it would in a short series
    rest = np.partition(logs, logs.size - 3)[: logs.size - 3] if logs.size > 10 else logs
    bar = max(factor, float(np.exp(TAIL_FACTOR * max(0.0, float(np.percentile(rest, 99))))))
    pts = np.flatnonzero(r >= bar)
    if pts.size == 0 or pts.size > MAX_POINT_RATE * y.size + 2:
        return []
    i = int(pts[np.argmax(r[pts])])
    msg = (f"{key} jumped to {fmt(float(y[i]))} at step {fmt_int(int(s.steps[i]))} ({fmt(float(r[i]))}x its running "
           f"level {fmt(float(ref_pt[i]))})")
    if pts.size > 1:
        msg += f"; {fmt_int(pts.size)} points over {fmt(bar)}x in all"
    ev = {"level": float(ref_pt[i]), "value": float(y[i]), "ratio": float(r[i]), "count": float(pts.size)}
    return [Anomaly("gradient", key, int(s.steps[i]), msg, None, ev)]


def _vanish(key: str, s: Series, y: np.ndarray, factor: float) -> list[Anomaly]:
    n = y.size
    early = float(median(y[int(0.05 * n) : max(int(0.25 * n), int(0.05 * n) + 1)]))
    tail_n = max(5, n // 10)
    tail = float(median(y[-tail_n:]))
    # the upper quartile too: scattered exact zeros can pull a short tail's median to 0
    if early <= 0 or tail > factor * early or float(np.percentile(y[-tail_n:], 75)) > factor * early:
        return []
    # where it went under: the start of the final run of 1%-of-the-run blocks that stay under
    b = blocks_for(s.steps, y, 100)
    under = b.med <= max(factor * early, tail)
    stays = np.flatnonzero(~under)
    k = int(stays[-1]) + 1 if stays.size else 0
    k = min(k, len(b) - 1)
    step = int(s.steps[int(b.first_index[k])])
    msg = (f"{key} vanished: median {fmt(tail)} over the last {fmt_int(tail_n)} points vs {fmt(early)} early "
           f"(under {fmt(factor)}x from step {fmt_int(step)})")
    ev = {"early": early, "final": tail}
    return [Anomaly("gradient", key, step, msg, int(s.steps[-1]), ev)]
