"""Run every detector over a run's metrics, by role, and tidy the findings.

Which detector judges which key is decided by :mod:`runwise_core.analysis.roles` (and the
user's settings), never by one exact key name:

==============  ===============================================================
detector        keys
==============  ===============================================================
nan             every key
spike           loss-like keys (train_loss, val_loss, loss)
divergence      loss-like keys, except a validation loss that has a training
                counterpart (its rise is overfitting's question)
overfitting     each validation loss / accuracy with its training counterpart
plateau         train_loss, val_loss and accuracy-like keys
gradient        grad_norm keys
throughput      throughput keys; when a run logs none, steps per second derived from
                the log's timestamps (only when all keys are judged)
==============  ===============================================================

Tidying: findings are sorted by step (then kind, metric), and spikes on a metric from the
best level before its divergence on are dropped (the divergence says it). A validation
metric that is flat from the start (a plateau) is not judged for overfitting: its best is
just its luckiest point.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...model import Run
from ...settings import DEFAULT_SETTINGS, Settings
from ..roles import (
    LOSS_ROLES,
    Role,
    higher_is_better,
    is_validation,
    role_of,
    train_counterpart,
    training_loss_key,
)
from .divergence import detect_divergence
from .finding import KINDS, Anomaly
from .gradient import detect_gradient
from .nan import detect_nan
from .overfitting import detect_overfitting
from .plateau import detect_plateau
from .shared import scope
from .spike import detect_spikes
from .throughput import detect_derived_throughput, detect_throughput

PLATEAU_ROLES = frozenset({Role.TRAIN_LOSS, Role.VAL_LOSS, Role.ACCURACY})
# Loss components (loss_bbox, loss_ce) are not judged for overfitting: with sparse evals
# they wobble apart from the main loss, and the main loss answers the question.
OVERFIT_ROLES = frozenset({Role.VAL_LOSS, Role.ACCURACY})


def detect_anomalies(run: Run, keys: Iterable[str] | None = None, settings: Settings | None = None) -> list[Anomaly]:
    """Every anomaly found in ``run`` (optionally only in ``keys``), sorted by step.

    Returns an empty list for a healthy run: runwise spends no tokens on "all is well".
    Unknown keys in ``keys`` are ignored (the caller validates keys against the run).
    Deterministic, pure, and vectorized over the full-resolution series. Values near the
    float limit may overflow to inf inside the arithmetic; comparisons with inf still come
    out right (no finding), so those floating-point warnings are silenced here.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), scope():
        return _detect(run, keys, settings)


def _detect(run: Run, keys: Iterable[str] | None, settings: Settings | None) -> list[Anomaly]:
    settings = settings or DEFAULT_SETTINGS
    t = settings.thresholds
    all_keys = list(run.metrics)
    chosen = [k for k in (all_keys if keys is None else keys) if k in run.metrics]
    found: list[Anomaly] = []
    for key in chosen:
        series = run.metrics[key]
        role = role_of(key, settings)
        hib = higher_is_better(key, settings)
        found += detect_nan(key, series)
        if role in LOSS_ROLES:
            found += detect_spikes(key, series, t, hib)
            partner = train_counterpart(key, all_keys, settings) if is_validation(key) else None
            if partner is None:
                found += detect_divergence(key, series, t, hib)
        flat = False
        if role in PLATEAU_ROLES:
            plateau = detect_plateau(key, series, t, hib)
            flat = any(a.evidence.get("from_start") == 1.0 for a in plateau)
            found += plateau
        if role is Role.GRAD_NORM:
            found += detect_gradient(key, series, t)
        if role is Role.THROUGHPUT:
            found += detect_throughput(key, series, t, hib)
        if is_validation(key) and role in OVERFIT_ROLES and not flat:  # a flat metric cannot overfit
            found += _overfitting(run, key, all_keys, settings)
    logs_rate = any(role_of(k, settings) is Role.THROUGHPUT for k in all_keys)
    if keys is None and run.timestamps is not None and not logs_rate:
        found += detect_derived_throughput(run.timestamps, t)  # no logged rate: use the log's clock
    return tidy(found)


def _overfitting(run: Run, val_key: str, all_keys: list[str], settings: Settings) -> list[Anomaly]:
    """Validation vs its training counterpart, else vs the run's training loss."""
    partner = train_counterpart(val_key, all_keys, settings) or training_loss_key(all_keys, settings)
    if partner is None:
        return []
    return detect_overfitting(
        val_key, run.metrics[val_key], partner, run.metrics[partner], settings.thresholds,
        higher_is_better(val_key, settings), higher_is_better(partner, settings),
    )


def tidy(found: list[Anomaly]) -> list[Anomaly]:
    """Sort by step and drop findings another finding already explains."""
    diverged = {a.metric: a.evidence.get("best_step", a.step) for a in found if a.kind == "divergence"}
    kept = [a for a in found if not (a.kind == "spike" and a.metric in diverged and a.step >= diverged[a.metric])]
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(kept, key=lambda a: (a.step, order.get(a.kind, 99), a.metric))
