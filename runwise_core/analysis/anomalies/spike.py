"""spike: a sudden, short excursion of a loss-like metric in its bad direction, then recovery.

Judged against the local noise: the local level runs through the block medians (linear
between block centres, so a steep trend is not noise) and the local scale is the median,
over five neighbouring blocks, of the MAD around that level. A block is at least four
times the longest spike, so a spike cannot move either.

A point is a candidate when it is ``spike_min_z`` local sigmas above the level (or 4 times
the series' own 99th-percentile z, if its noise is heavy-tailed) *and* ``spike_min_rel``
of the local level above it (default: double). Consecutive candidates form one excursion.
An excursion counts as a spike only when it

* is short (at most 0.5% of the points, 3 to 50),
* starts after the warmup (the first block or 5% of the points, whichever is shorter) and
  rises above the points just before it, so the chaotic first steps and the fast first
  drop of a warmup are not spikes,
* comes back: an excursion that lasts to the end is divergence's business.

A metric where candidate excursions are common is spiky by nature (RL losses, tiny
batches): it raises nothing, because an alarm that fires on every run is noise to the reader.
"""

from __future__ import annotations

import numpy as np

from ...model import Series
from ...numfmt import fmt, fmt_int
from ...settings import Thresholds
from .finding import Anomaly
from .levels import MAD_TO_SIGMA, blocks
from .shared import finite_oriented

MIN_POINTS = 20
#: More candidate excursions than this (per point) means the metric is spiky by nature.
MAX_RATE = 0.004
#: A spike's z must be this many times the 99th-percentile z of the series (Gaussian noise:
#: 4 x 2.3 = 9.3, under the default 10; t(5) or log-normal noise: 12 to 15).
TAIL_FACTOR = 4.0


def max_len(n: int, t: Thresholds) -> int:
    """Longest excursion still called a spike: a fraction of the run, 3 to 50 points."""
    return int(min(50, max(3, np.ceil(t.spike_max_len_frac * n))))


def detect_spikes(key: str, series: Series, t: Thresholds, higher_better: bool | None = False) -> list[Anomaly]:
    """The strongest few spikes of one metric (others counted in the message)."""
    s, y = finite_oriented(series, higher_better)
    n = len(s)
    if n < MIN_POINTS:
        return []
    longest = max_len(n, t)
    size = max(4 * longest, 5)
    if n < 5 * size:
        size = max(3, n // 5)
    b = blocks(s.steps, y, size)
    nb = len(b)
    # The level runs through the block medians (linear between block centres), so a trend
    # inside a block is not mistaken for noise; the scale is the MAD of what is left,
    # taken over five neighbouring blocks.
    ends = np.append(b.first_index[1:], n)
    centres = (b.first_index + ends - 1) / 2.0
    level = np.interp(np.arange(n, dtype=np.float64), centres, b.med)
    resid = blocks(s.steps, y - level, b.size)
    pad_mad = np.pad(resid.mad, 2, mode="edge")
    sigma_b = MAD_TO_SIGMA * np.median(np.lib.stride_tricks.sliding_window_view(pad_mad, 5), axis=1)
    block_of = np.minimum(np.arange(n) // b.size, nb - 1)
    sigma = sigma_b[block_of]
    floor = 1e-12 + 1e-9 * np.abs(level)
    excess = y - level
    # Heavy-tailed noise (hard batches, RL losses) makes big z common: scale the bar by the
    # series' own tail (its 99th-percentile z, after the first block), so only what stands
    # out of the tail counts. The quantile leaves out at least 4 maximal excursions' worth
    # of points, so the spikes being judged cannot raise their own bar.
    z_all = excess[b.size :] / np.maximum(sigma, floor)[b.size :]
    q = 100.0 * (1.0 - max(0.01, 4.0 * longest / max(1, z_all.size)))
    z_min = max(t.spike_min_z, TAIL_FACTOR * float(np.percentile(z_all, q))) if z_all.size else t.spike_min_z
    thr = np.maximum.reduce([z_min * sigma, t.spike_min_rel * np.abs(level), floor])
    cand = excess >= thr
    if not cand.any():
        return []
    edges = np.diff(np.concatenate(([0], cand.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    if starts.size > MAX_RATE * n + 3:
        return []
    warm = min(b.size, max(3, n // 20))  # the first steps are warmup: no level yet
    found: list[tuple[float, int, int, int]] = []  # (z, start, end, peak index)
    for a, e in zip(starts.tolist(), ends.tolist()):  # loops over excursions, never points
        if e - a > longest or e >= n or a < warm:
            continue
        peak = a + int(np.argmax(excess[a:e]))
        before = y[max(0, a - longest) : a]
        if y[peak] - np.median(before) < thr[peak]:
            continue
        z = float(excess[peak] / max(sigma[peak], floor[peak]))
        found.append((z, a, e, peak))
    if not found:
        return []
    found.sort(reverse=True)
    keep = found[: max(1, t.spike_max_reported)]
    rest = len(found) - len(keep)
    out = []
    for z, a, e, peak in keep:
        raw_peak = float(s.values[peak])
        raw_level = float(-level[peak] if higher_better else level[peak])
        step, back = int(s.steps[peak]), int(s.steps[e])
        if raw_level != 0 and np.sign(raw_level) == np.sign(raw_peak) and not higher_better:
            ratio = raw_peak / raw_level
            how = f"{fmt(ratio)}x the local median {fmt(raw_level)}"
        else:
            ratio = float("nan")
            how = f"{fmt(z)} local sigmas from the local median {fmt(raw_level)}"
        word = "dropped" if higher_better else "spiked"
        msg = f"{key} {word} to {fmt(raw_peak)} at step {fmt_int(step)} ({how}), recovered by {fmt_int(back)}"
        if rest:
            msg += f"; {fmt_int(rest)} smaller spike{'s' if rest > 1 else ''} not listed"
        evidence = {"peak": raw_peak, "level": raw_level, "z": z, "points": float(e - a)}
        if np.isfinite(ratio):
            evidence["ratio"] = float(ratio)
        out.append(Anomaly("spike", key, step, msg, back, evidence))
    return out
