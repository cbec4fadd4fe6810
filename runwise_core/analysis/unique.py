"""Sorted distinct values, as ``np.unique`` gives them, without importing ``numpy.ma``.

``np.unique(a)`` asks ``np.ma.is_masked(a)``, and the first such question imports numpy's
masked-array package: 10 ms of a warm ``runwise history`` that never sees a masked array.
"""

from __future__ import annotations

import numpy as np


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for a 1-D array without NaN (steps, indices): sorted, each value once."""
    out = np.sort(a)
    if out.size < 2:
        return out
    return out[np.concatenate(([True], out[1:] != out[:-1]))]
