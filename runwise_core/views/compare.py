"""Two runs side by side (``runwise compare A B``, ``A@STEP B@STEP``, ``-f``, ``-t``, ``-g``, ``-d``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.compare import ConfigChange, config_diff, delta_pct, group_of, value_at
from ..analysis.roles import higher_is_better
from ..errors import KeyNotFound
from ..model import Run
from ..settings import Settings
from ._common import RunBrief, brief, resolve_keys


@dataclass(frozen=True)
class CompareRow:
    """One metric in both runs. ``a_step``/``b_step`` are the steps the values come from;
    ``a_exact``/``b_exact`` are False when the nearest logged step stood in for the asked one.
    ``better`` is "a", "b", "=" or None (direction unknown or a value missing)."""

    key: str
    group: str
    a: float | None
    b: float | None
    delta: float | None
    pct: float | None
    a_step: int | None
    b_step: int | None
    a_exact: bool
    b_exact: bool
    better: str | None


@dataclass(frozen=True)
class Comparison:
    a: RunBrief
    b: RunBrief
    step_a: int | None
    step_b: int | None
    rows: tuple[CompareRow, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    hidden_below_threshold: int
    threshold_pct: float | None
    filter: str | None
    grouped: bool
    config_diff: tuple[ConfigChange, ...] | None  # None unless asked for


def _value(run: Run, key: str, step: int | None) -> tuple[float | None, int | None, bool]:
    s = run.metrics[key]
    if len(s) == 0:
        return None, None, True
    if step is None:
        return s.final, s.last_step, True
    at = value_at(s, step)
    assert at is not None  # non-empty series
    return at.value, at.step, at.exact


def _better(key: str, a: float | None, b: float | None, settings: Settings | None) -> str | None:
    hib = higher_is_better(key, settings)
    if hib is None or a is None or b is None or math.isnan(a) or math.isnan(b):
        return None
    if a == b:
        return "="
    return ("b" if b > a else "a") if hib else ("b" if b < a else "a")


def compare_view(
    run_a: Run,
    run_b: Run,
    step_a: int | None = None,
    step_b: int | None = None,
    keys: Sequence[str] | None = None,
    filter: str | None = None,
    threshold_pct: float | None = None,
    group: bool = False,
    config: bool = False,
    now: float | None = None,
    settings: Settings | None = None,
) -> Comparison:
    """The metrics both runs logged (or ``keys``, which must exist in run A or B), final
    values or values at ``step_a``/``step_b``; ``filter`` keeps keys containing the text
    (case-insensitive); ``threshold_pct`` keeps rows whose |% change| is at least that (rows
    without a percent are kept); ``group`` orders rows by prefix; ``config`` adds the config
    differences. Keys logged by one run only are listed by name."""
    if keys:
        chosen = []
        for name in keys:
            try:
                found = resolve_keys(run_a, [name])
            except KeyNotFound:  # a key of run B only is fine; B's error names B's keys
                found = resolve_keys(run_b, [name])
            chosen.extend(k for k in found if k not in chosen)
    else:
        chosen = sorted(set(run_a.metrics) | set(run_b.metrics), key=lambda k: (group_of(k), k))
        chosen = [k for k in chosen if not k.startswith("_")]
    if filter:
        chosen = [k for k in chosen if filter.lower() in k.lower()]
    only_a = tuple(k for k in chosen if k in run_a.metrics and k not in run_b.metrics)
    only_b = tuple(k for k in chosen if k in run_b.metrics and k not in run_a.metrics)
    rows = []
    hidden = 0
    for k in chosen:
        if k not in run_a.metrics or k not in run_b.metrics:
            continue
        a, sa, ea = _value(run_a, k, step_a)
        b, sb, eb = _value(run_b, k, step_b)
        d, p = delta_pct(a, b)
        if threshold_pct is not None and p is not None and abs(p) < threshold_pct:
            hidden += 1
            continue
        rows.append(CompareRow(k, group_of(k), a, b, d, p, sa, sb, ea, eb, _better(k, a, b, settings)))
    if group:
        rows.sort(key=lambda r: (r.group, r.key))
    return Comparison(
        a=brief(run_a, now),
        b=brief(run_b, now),
        step_a=step_a,
        step_b=step_b,
        rows=tuple(rows),
        only_a=only_a,
        only_b=only_b,
        hidden_below_threshold=hidden,
        threshold_pct=threshold_pct,
        filter=filter,
        grouped=group,
        config_diff=tuple(config_diff(run_a.config, run_b.config)) if config else None,
    )
