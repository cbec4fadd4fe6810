"""Which run did best on a metric (``runwise best METRIC [--max]``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.roles import higher_is_better as direction_of
from ..analysis.series_facts import stats_of
from ..errors import KeyNotFound, closest
from ..model import Run, RunState


@dataclass(frozen=True)
class BestRow:
    id: str
    name: str
    state: RunState
    best: float
    best_step: int
    final: float | None
    last_step: int | None


@dataclass(frozen=True)
class BestList:
    """Runs ranked by their best value of ``metric``, best first. ``direction_from`` says
    whether the direction came from the user (``--max``/``--min``) or from the key's role."""

    metric: str
    higher_is_better: bool
    direction_from: str
    rows: tuple[BestRow, ...]
    without_metric: int


def best_view(
    runs: Sequence[Run],
    metric: str,
    higher_is_better: bool | None = None,
    limit: int | None = None,
    now: float | None = None,
) -> BestList:
    """Rank ``runs`` by the best finite value each reached for ``metric``. The direction is
    ``higher_is_better`` when given, else the key's role (a loss is lower-is-better; an
    unknown key defaults to lower). Raises KeyNotFound when no run logged the metric."""
    hib = higher_is_better
    source = "flag"
    if hib is None:
        guess = direction_of(metric)
        hib, source = (bool(guess), "role") if guess is not None else (False, "default")
    rows = []
    missing = 0
    for run in runs:
        s = run.metrics.get(metric)
        st = stats_of(s) if s is not None else None
        value = None if st is None else (st.max if hib else st.min)
        if st is None or value is None:
            missing += 1
            continue
        step = st.max_step if hib else st.min_step
        assert step is not None
        rows.append(BestRow(run.id, run.name, run.state(now), value, step, st.final, run.last_step))
    if not rows:
        keys = {k for r in runs for k in r.metrics}
        near = closest(metric, keys)
        hint = f"closest keys: {', '.join(near)}" if near else "no run has metrics"
        raise KeyNotFound(f"no run logged {metric!r} with a finite value; {hint}")
    rows.sort(key=lambda r: -r.best if hib else r.best)
    if limit is not None:
        rows = rows[:limit]
    return BestList(metric, hib, source, tuple(rows), missing)
