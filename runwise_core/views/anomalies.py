"""Anomalies alone (``runwise anomalies ID``, the MCP tool ``detect_anomalies``).

The run summary shows findings among the key metrics; this view answers the narrower
question "is anything wrong?" over every scalar key (or the keys asked for), and, unlike the
summary, says so explicitly when nothing was found: a caller that asked deserves a "no".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..analysis import codecs
from ..analysis.memo import memoized
from ..analysis.stored import stored
from ..model import Run, RunState
from ..settings import Settings
from ._common import resolve_keys

if TYPE_CHECKING:
    from ..analysis.anomalies.finding import Anomaly


@dataclass(frozen=True)
class AnomalyReport:
    """The findings on ``run`` over ``keys_checked`` (full-resolution series), by step."""

    id: str
    name: str
    state: RunState
    last_step: int | None
    keys_checked: tuple[str, ...]
    anomalies: tuple["Anomaly", ...]


def anomalies_view(run: Run, keys: Sequence[str] | None = None, now: float | None = None,
                   settings: Settings | None = None) -> AnomalyReport:
    """Run every detector on ``keys`` (exact or glob; unknown ones raise
    :class:`~runwise_core.errors.KeyNotFound`), else on every scalar key of ``run``."""
    from ..analysis.anomalies import detect_anomalies

    chosen = resolve_keys(run, keys) if keys else run.metric_keys()
    question = ("anomalies", tuple(chosen), repr(settings))
    found = memoized(run, question, lambda: stored(
        run, question, lambda: tuple(detect_anomalies(run, keys=list(chosen), settings=settings)),
        codecs.ANOMALIES)) if chosen else ()
    return AnomalyReport(id=run.id, name=run.name, state=run.state(now), last_step=run.last_step,
                         keys_checked=tuple(chosen), anomalies=found)
