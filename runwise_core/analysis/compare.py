"""Two runs side by side: final values or values at a step, deltas, and config differences.

Pure functions over :class:`~runwise_core.model.Run` data. ``A@STEP`` comparisons take
each metric's value at that step: the exact step when it was logged, else the nearest
logged one (ties go to the earlier step), and the step actually used is reported, so a
comparison never silently mixes steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model import Series


@dataclass(frozen=True)
class ValueAt:
    """A metric's value at (or nearest to) a requested step."""

    value: float
    step: int
    exact: bool


def value_at(series: Series, step: int) -> ValueAt | None:
    """The value logged at ``step``, or at the nearest logged step (earlier on a tie).

    With several points at one step (merged segments) the last one wins. ``None`` for an
    empty series.
    """
    s = series.steps
    if s.size == 0:
        return None
    right = int(np.searchsorted(s, step, side="right"))  # first index with steps > step
    if right > 0 and s[right - 1] == step:
        return ValueAt(float(series.values[right - 1]), int(step), True)
    candidates = []
    if right > 0:
        candidates.append(right - 1)
    if right < s.size:
        candidates.append(right)
    best = min(candidates, key=lambda i: (abs(int(s[i]) - step), int(s[i])))
    return ValueAt(float(series.values[best]), int(s[best]), False)


def delta_pct(a: float | None, b: float | None) -> tuple[float | None, float | None]:
    """``(b - a, 100 * (b - a) / |a|)``; the percent is ``None`` when ``a`` is 0 or either
    value is missing or non-finite."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None, None
    d = b - a
    return d, (100.0 * d / abs(a)) if a != 0 else None


class Missing:
    """Marks a config key that one run does not have (distinct from a ``None`` value)."""

    _instance: "Missing | None" = None

    def __new__(cls) -> "Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass(frozen=True)
class ConfigChange:
    key: str
    a: Any  # MISSING when run A lacks the key
    b: Any


#: Config keys that differ between any two runs and say nothing about the experiment.
IGNORED_CONFIG_PREFIXES = ("_wandb",)


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[ConfigChange]:
    """Keys whose values differ (or exist in one config only), in key order; wandb's own
    bookkeeping (``_wandb.*``) is left out."""
    out = []
    for key in sorted(set(a) | set(b)):
        if key.startswith(IGNORED_CONFIG_PREFIXES):
            continue
        va, vb = a.get(key, MISSING), b.get(key, MISSING)
        if not _same(va, vb):
            out.append(ConfigChange(key, va, vb))
    return out


def _same(x: Any, y: Any) -> bool:
    """Equal config values: ``1 == 1.0``, NaN equals NaN, but ``True`` is not ``1``."""
    if isinstance(x, bool) or isinstance(y, bool):
        return type(x) is type(y) and x == y
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return x == y or (math.isnan(x) and math.isnan(y))
    try:
        return bool(x == y)
    except (ValueError, TypeError):  # array-like values with no single truth value
        return repr(x) == repr(y)


def group_of(key: str) -> str:
    """The prefix a key is grouped under (``train/loss`` -> ``train``; no prefix -> ``""``)."""
    for sep in ("/", "."):
        if sep in key:
            return key.split(sep, 1)[0]
    return ""
