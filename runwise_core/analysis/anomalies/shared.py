"""What several detectors compute from the same series, computed once per detection.

Spike, divergence and plateau each start from the finite points of a loss turned so lower is
better, and divergence and plateau both take its noise and its median magnitude: on a
1M-step series that is tens of milliseconds done twice or three times. Inside
:func:`scope` (which :func:`~.detect.detect_anomalies` opens around one run) such a value is
computed once and handed out again; outside a scope (a detector called on its own) it is
computed every time. Results are the very same objects, so nothing changes but the time.
The scope holds them only until detection ends.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from ...model import Series
from ..medians import median
from .levels import noise_sigma

T = TypeVar("T")

_TABLE: contextvars.ContextVar[dict[tuple[int, Hashable], tuple[Any, Any]] | None] = contextvars.ContextVar(
    "runwise_detection_scope", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """Share intermediate results between the detectors run inside the ``with`` block."""
    token = _TABLE.set({})
    try:
        yield
    finally:
        _TABLE.reset(token)


def shared(owner: object, name: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for ``name`` on this very ``owner`` in the current scope.
    The table keeps ``owner`` alive, so its id cannot be reused while the scope lasts."""
    table = _TABLE.get()
    if table is None:
        return compute()
    key = (id(owner), name)
    hit = table.get(key)
    if hit is None or hit[0] is not owner:
        hit = (owner, compute())
        table[key] = hit
    return hit[1]


def finite(series: Series) -> Series:
    """:meth:`Series.finite`, once per series."""
    return shared(series, "finite", series.finite)


def finite_oriented(series: Series, higher_better: bool | None) -> tuple[Series, np.ndarray]:
    """The finite points and their values turned so lower is better, once per direction."""
    def compute() -> tuple[Series, np.ndarray]:
        s = finite(series)
        return s, (-s.values if higher_better else s.values)

    return shared(series, ("oriented", bool(higher_better)), compute)


def magnitude(y: np.ndarray) -> float:
    """``median(|y|)``: how far from zero a series sits, once per array."""
    return shared(y, "magnitude", lambda: float(median(np.abs(y))))


def noise(y: np.ndarray) -> float:
    """:func:`~.levels.noise_sigma` of ``y``, once per array."""
    return shared(y, "noise", lambda: noise_sigma(y))
