"""Sparklines: a metric's shape in a few block characters (▁▂▃▄▅▆▇█)."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
#: Three levels in glyphs that cost one token each (and merge when repeated): the run list
#: uses them, where eight levels would cost two tokens per block on ten rows.
COMPACT_BLOCKS = "_▄█"
#: Stands for a slice holding no finite value (all NaN / Inf).
NON_FINITE = "×"


def sparkline(values: Sequence[float], blocks: str = BLOCKS) -> str:
    """One block per value, scaled between the finite min and max; a constant series is a
    flat low line; non-finite values show as ``×``. Empty input gives an empty string.
    ``blocks`` are the levels, lowest first (:data:`BLOCKS` or :data:`COMPACT_BLOCKS`)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return NON_FINITE * len(values)
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(NON_FINITE)
        elif span <= 0:
            out.append(blocks[0])
        else:
            out.append(blocks[min(int((v - lo) / span * len(blocks)), len(blocks) - 1)])
    return "".join(out)
