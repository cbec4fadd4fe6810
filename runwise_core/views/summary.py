"""The run summary (``runwise run ID``, ``runwise latest``): status, anomalies, key metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..analysis import codecs
from ..analysis.keypick import pick_keys
from ..analysis.memo import memoized
from ..analysis.roles import Role, higher_is_better, role_of
from ..analysis.series_facts import shape_of, stats_of, trend_of_series
from ..analysis.stats import best_value
from ..analysis.stored import stored
from ..analysis.trend import Trend
from ..model import Run, RunState, Series
from ..settings import Settings
from ._common import clean_number, resolve_keys

if TYPE_CHECKING:
    from ..analysis.anomalies.finding import Anomaly

try:  # The detectors are their own package; without them a summary reports none checked.
    from ..analysis import anomalies as _anomalies
except ImportError:  # pragma: no cover - depends on what is installed
    _anomalies = None


@dataclass(frozen=True)
class MetricLine:
    """One key metric: final and best value, direction, trend and shape."""

    key: str
    role: Role
    count: int
    first_step: int | None
    last_step: int | None
    final: float | None
    best: float | None
    best_step: int | None
    higher_is_better: bool | None
    trend: Trend
    shape: tuple[float, ...]
    non_finite: int


def metric_line(key: str, series: Series, settings: Settings | None = None) -> MetricLine:
    """The summary line of one key (memoised per series: see :mod:`..analysis.memo`; its
    costly parts are kept on disk too: see :mod:`..analysis.series_facts`)."""
    return memoized(series, ("metric_line", key, repr(settings)), lambda: _metric_line(key, series, settings))


def _metric_line(key: str, series: Series, settings: Settings | None) -> MetricLine:
    st = stats_of(series)
    hib = higher_is_better(key, settings)
    best, best_step = best_value(st, hib) if hib is not None else (None, None)
    return MetricLine(
        key=key,
        role=role_of(key, settings),
        count=st.count,
        first_step=st.first_step,
        last_step=st.last_step,
        final=st.final,
        best=best,
        best_step=best_step,
        higher_is_better=hib,
        trend=trend_of_series(series),
        shape=shape_of(series, 10),
        non_finite=st.non_finite,
    )


@dataclass(frozen=True)
class RunSummary:
    """What ``runwise run`` says about one run.

    ``anomalies`` holds the detector's findings (objects with ``kind``, ``metric``, ``step``,
    ``message``); ``anomalies_checked`` is False when detection was skipped
    (``--no-anomalies``) or is not available, so "no anomalies" is never claimed unchecked.
    ``picked`` is True when runwise chose the keys itself; ``other_keys`` counts the rest.
    """

    id: str
    name: str
    state: RunState
    source: str
    path: str
    project: str | None
    group: str | None
    tags: tuple[str, ...]
    notes: str | None
    last_step: int | None
    total_steps: int | None
    runtime_s: float | None
    exit_code: int | None
    start_time: float | None
    config: dict[str, Any]
    summary: dict[str, float | None]
    metrics: tuple[MetricLine, ...]
    picked: bool
    other_keys: int
    anomalies: tuple["Anomaly", ...]
    anomalies_checked: bool
    read_notes: tuple[str, ...] = field(default=())


def run_view(
    run: Run,
    keys: Sequence[str] | None = None,
    anomalies: bool = True,
    now: float | None = None,
    settings: Settings | None = None,
) -> RunSummary:
    """Summarize ``run``: the given ``keys`` (exact or glob; unknown ones raise
    :class:`~runwise_core.errors.KeyNotFound`), else the key metrics picked by role.

    A run without any metric still gets a summary (status, config, anomalies): the
    metrics section is then empty and the renderer says why.
    """
    chosen = resolve_keys(run, keys) if keys else pick_keys(run.metrics, settings)
    lines = tuple(metric_line(k, run.metrics[k], settings) for k in chosen)
    found: tuple[Anomaly, ...] = ()
    checked = False
    if anomalies and _anomalies is not None:
        package = _anomalies  # its detectors are imported only when an answer is computed
        wanted = list(chosen) if keys else None
        question = ("anomalies", tuple(wanted) if wanted else None, repr(settings))
        found = memoized(run, question, lambda: stored(
            run, question, lambda: tuple(package.detect_anomalies(run, keys=wanted, settings=settings)),
            codecs.ANOMALIES))
        checked = True
    summary = {
        k: clean_number(v)
        for k, v in sorted(run.summary.items())
        if not k.startswith("_") and isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return RunSummary(
        id=run.id,
        name=run.name,
        state=run.state(now),
        source=run.source,
        path=run.path,
        project=run.project,
        group=run.group,
        tags=tuple(run.tags),
        notes=run.notes,
        last_step=run.last_step,
        total_steps=run.total_steps,
        runtime_s=run.runtime_s,
        exit_code=run.exit_code,
        start_time=run.start_time,
        config={k: v for k, v in run.config.items() if not k.startswith("_wandb")},
        summary=summary,
        metrics=lines,
        picked=not keys,
        other_keys=len([k for k in run.metrics if k not in chosen]),
        anomalies=found,
        anomalies_checked=checked,
        read_notes=tuple(run.read_notes),
    )
