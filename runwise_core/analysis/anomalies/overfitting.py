"""overfitting: validation getting worse after its best while training keeps improving.

Validation is often sparse (every N steps); the training series is dense. Both are aligned
by step: the training level at a step is the median of the training points within half a
validation interval of it. A finding needs all of:

* at least three validation points after the best one, and the last ones (median of up to
  three) worse than the best by ``overfit_min_rise_rel`` of the best level and by five
  times the validation noise (the late point-to-point scatter, or the scatter around the
  post-best trend line if larger);
* most validation points after the best worse than it (a steady drift, not one outlier),
  and still drifting: a least-squares slope over them at least two standard errors above
  zero (the best point itself is left out, being the luckiest);
* the best clearly better than the first evals: a flat metric's best is just its luckiest
  point, and that is a plateau, not overfitting;
* the training metric improving over the same stretch, by ``overfit_train_min_drop_rel``
  of its level: if training also gets worse, the gap did not open and this is not
  overfitting.

The finding's step is the step where validation was best.
"""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...numfmt import fmt, fmt_int
from ...settings import Thresholds
from ..medians import median
from .finding import Anomaly
from .levels import noise_sigma, oriented, rolling_median, window_median
from .shared import finite

MIN_VAL_POINTS = 4
#: Two worse points after the best are a wobble; three are a trend.
MIN_AFTER_BEST = 3
#: The points after the best must rise with a slope this many standard errors above zero.
MIN_TREND_T = 2.0
NOISE_MARGIN = 5.0


def detect_overfitting(
    val_key: str,
    val: Series,
    train_key: str,
    train: Series,
    t: Thresholds,
    val_higher_better: bool | None,
    train_higher_better: bool | None,
) -> list[Anomaly]:
    """One finding for a (validation, training) pair, at the best validation step."""
    v, tr = finite(val), finite(train)
    if len(v) < MIN_VAL_POINTS or len(tr) < MIN_VAL_POINTS:
        return []
    yv = oriented(v.values, val_higher_better)
    smooth = rolling_median(yv, 2) if yv.size >= 50 else yv
    ib = int(np.argmin(smooth))
    after = yv[ib + 1 :]
    if after.size < MIN_AFTER_BEST:
        return []
    best = float(smooth[ib])
    end = float(np.median(yv[-min(3, after.size) :]))
    rise = end - best
    trend, scatter = _trend(v.steps[ib + 1 :].astype(np.float64), after)
    # late point-to-point scatter (early curvature would inflate it), or the scatter around
    # the post-best trend line if that is larger: a handful of points can make a MAD tiny
    noise = max(noise_sigma(yv[yv.size // 2 :]) if yv.size >= 8 else noise_sigma(yv), scatter)
    # the best is the luckiest of many points (about 2 sigma low): the margin covers that too
    if rise <= t.overfit_min_rise_rel * max(abs(best), 1e-12) or rise <= NOISE_MARGIN * noise:
        return []
    if np.mean(after > best) < 0.75:
        return []
    if trend < MIN_TREND_T:
        return []  # worse than the best, but not getting worse: a noisy level, not a drift
    progress = float(np.median(yv[: max(1, min(3, ib))]) - best)
    if progress < NOISE_MARGIN * noise or progress < t.overfit_min_rise_rel * max(abs(best), 1e-12):
        return []  # never improved: a flat metric's best is just its luckiest point
    yt = oriented(tr.values, train_higher_better)
    steps_v = v.steps
    gap = float(np.median(np.diff(steps_v))) if steps_v.size > 1 else 1.0
    sb, se = float(steps_v[ib]), float(steps_v[-1])
    t_best = window_median(tr.steps, yt, sb - gap / 2, sb + gap / 2)
    t_end = window_median(tr.steps, yt, se - gap / 2, se + gap / 2)
    if t_end is None:  # training may end before the last eval; use its last stretch
        tail_n = max(1, min(tr.values.size // 10, 50))
        t_end = float(median(yt[-tail_n:]))
    if t_best is None:
        return []
    improve = t_best - t_end
    if improve <= t.overfit_train_min_drop_rel * max(abs(t_best), 1e-12):
        return []
    sv, st = (-1.0 if val_higher_better else 1.0), (-1.0 if train_higher_better else 1.0)
    verb = "fell" if val_higher_better else "rose"
    tverb = "rose" if train_higher_better else "fell"
    last_n = min(3, after.size)
    msg = (f"{val_key} {verb} from {fmt(sv * best)} (best, step {fmt_int(int(sb))}) to {fmt(sv * end)} "
           f"(median of the last {last_n} evals, to step {fmt_int(int(se))}) while {train_key} {tverb} from "
           f"{fmt(st * t_best)} to {fmt(st * t_end)}")
    evidence = {"best": sv * best, "final": sv * end, "train_at_best": st * t_best, "train_final": st * t_end}
    return [Anomaly("overfitting", val_key, int(sb), msg, int(se), evidence)]


def _trend(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The t statistic of the least-squares slope of ``y`` on ``x`` (inf for a perfect rise)
    and the residual standard deviation around that line."""
    xc = x - x.mean()
    sxx = float(np.sum(xc * xc))
    if y.size < 3 or sxx <= 0:
        return 0.0, 0.0
    slope = float(np.sum(xc * (y - y.mean())) / sxx)
    resid = y - y.mean() - slope * xc
    sd = float(np.sqrt(np.sum(resid * resid) / (y.size - 2)))
    if sd == 0.0:
        return (float("inf") if slope > 0 else 0.0), 0.0
    return slope / (sd / np.sqrt(sxx)), sd
