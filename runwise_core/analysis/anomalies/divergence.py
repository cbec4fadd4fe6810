"""divergence: a loss that blows up and stays up (not a spike that recovers).

On about 200 block medians (exact aggregates of every point): the best level, the level of
the final stretch (last 5% of blocks, at least 2), and the rise between them. The rise must
be at least ``divergence_min_rise`` times the larger of the progress the loss had made
(start to best) and the best level itself, must clear the block-median noise by a wide
margin, and every block of the final stretch must stay above halfway: a blow-up that is
still up at the end. LR restarts and epoch bumps rise far less than the progress made, and
a spike that recovers leaves the final stretch low.
"""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...numfmt import fmt, fmt_int
from ...settings import Thresholds
from .finding import Anomaly
from .levels import blocks_for, noise_sigma
from .shared import finite_oriented, magnitude, noise

MIN_POINTS = 10
NOISE_MARGIN = 10.0


def detect_divergence(key: str, series: Series, t: Thresholds, higher_better: bool | None = False) -> list[Anomaly]:
    """One finding at the step where the blow-up began, if the loss ends far above its best."""
    s, y = finite_oriented(series, higher_better)
    if len(s) < MIN_POINTS:
        return []
    if magnitude(y) <= 3.0 * noise(y):
        return []  # hovers around zero (a GRPO/PPO surrogate loss): no level to blow up from
    b = blocks_for(s.steps, y, 200)
    med = b.med
    nb = med.size
    m = max(2, int(np.ceil(0.05 * nb)))
    if nb < m + 3:
        return []
    ib = int(np.argmin(med[:-m]))
    best = float(med[ib])
    span = float(np.max(med[: ib + 1]) - best)
    tail = float(np.median(med[-m:]))
    rise = tail - best
    sigma = noise_sigma(med)
    scale = max(span, abs(best), NOISE_MARGIN * sigma, 1e-12)
    if rise < t.divergence_min_rise * scale or rise < NOISE_MARGIN * sigma:
        return []
    half = best + 0.5 * rise
    if not np.all(med[-m:] > half):
        return []
    after = np.flatnonzero(med[ib:] > half)
    start = ib + int(after[0])
    # the first raw point past halfway inside the first block that crossed it
    lo = int(b.first_index[start])
    hi = int(b.first_index[start + 1]) if start + 1 < nb else y.size
    crossing = np.flatnonzero(y[lo:hi] > half)
    idx = lo + (int(crossing[0]) if crossing.size else 0)
    sign = -1.0 if higher_better else 1.0
    best_raw, tail_raw = sign * best, sign * tail
    best_step = int(s.steps[min(int(b.first_index[ib]) + b.size // 2, y.size - 1)])
    step = int(s.steps[idx])
    msg = (f"{key} diverged from {fmt(best_raw)} (best, near step {fmt_int(best_step)}) from step {fmt_int(step)}, "
           f"still {fmt(tail_raw)} at step {fmt_int(int(s.steps[-1]))}")
    evidence = {"best": best_raw, "best_step": float(best_step), "final": tail_raw, "rise_over_scale": rise / scale}
    return [Anomaly("divergence", key, step, msg, int(s.steps[-1]), evidence)]
