"""The JSON contract: each view result as plain data (documented in docs/cli.md).

Conventions: numbers are JSON numbers; a NaN or infinite value is the string ``"NaN"``,
``"Inf"`` or ``"-Inf"`` (a run that ends in NaN must say so; ``null`` means "no value");
steps are integers; states are their names; keys are stable and only ever added to.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.compare import MISSING
from .sparkline import sparkline

if TYPE_CHECKING:  # annotations only: rendering one view does not import the others
    from ..analysis.stats import SeriesStats
    from ..views import (AnomalyReport, BestList, Comparison, ConfigView, History, KeyList, LiveStatus, RunList,
                         RunSummary, StabilityTable, StatsTable)


def number(x: Any) -> Any:
    """A JSON-safe number: NaN/Inf as strings, numpy scalars as Python numbers, None kept."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "Inf" if f > 0 else "-Inf"
        return f
    return x


def value(x: Any) -> Any:
    """Any config value as JSON data (floats as :func:`number`, unknown objects as text)."""
    if isinstance(x, (list, tuple)):
        return [value(v) for v in x]
    if isinstance(x, dict):
        return {str(k): value(v) for k, v in x.items()}
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, (float, np.floating, np.integer)):
        return number(x)
    return repr(x)


def runs_dict(r: RunList) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.query is not None:
        out["query"] = r.query
    out["total"] = r.total
    out["runs"] = [
        {"id": x.id, "name": x.name, "state": x.state.value, "last_step": x.last_step, "source": x.source,
         "start_time": number(x.start_time), "runtime_s": number(x.runtime_s), "metric": x.metric,
         "final": number(x.final), "trend": x.trend.value if x.trend else None,
         "sparkline": sparkline(x.shape), "group": x.group, "tags": list(x.tags)}
        for x in r.rows
    ]
    if r.skipped:
        out["unreadable"] = list(r.skipped)
    return out


def anomaly_dict(a: Any) -> dict[str, Any]:
    """``kind``, ``metric``, ``step``, ``message``, plus ``end_step`` and ``evidence`` (the
    numbers behind the message) where the detector gives them."""
    kind = getattr(a, "kind", "")
    out: dict[str, Any] = {"kind": str(getattr(kind, "value", kind)), "metric": getattr(a, "metric", None),
                           "step": getattr(a, "step", None), "message": str(getattr(a, "message", ""))}
    if getattr(a, "end_step", None) is not None:
        out["end_step"] = a.end_step
    evidence = getattr(a, "evidence", None)
    if evidence:
        out["evidence"] = {str(k): number(v) for k, v in evidence.items()}
    return out


def summary_dict(s: RunSummary) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "state": s.state.value, "last_step": s.last_step,
        "total_steps": s.total_steps, "exit_code": s.exit_code, "runtime_s": number(s.runtime_s),
        "start_time": number(s.start_time), "source": s.source, "path": s.path, "project": s.project,
        "group": s.group, "tags": list(s.tags), "notes": s.notes,
        "anomalies_checked": s.anomalies_checked,
        "anomalies": [anomaly_dict(a) for a in s.anomalies],
        "metrics": [
            {"key": m.key, "role": m.role.value, "count": m.count, "first_step": m.first_step,
             "last_step": m.last_step, "final": number(m.final), "best": number(m.best), "best_step": m.best_step,
             "higher_is_better": m.higher_is_better, "trend": m.trend.value, "sparkline": sparkline(m.shape),
             "non_finite": m.non_finite}
            for m in s.metrics
        ],
        "read_notes": list(s.read_notes),
        "summary": {k: number(v) for k, v in s.summary.items()},
        "config": {k: value(v) for k, v in s.config.items()},
    }


def anomaly_report_dict(r: AnomalyReport) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "state": r.state.value, "last_step": r.last_step,
            "keys_checked": list(r.keys_checked), "anomalies": [anomaly_dict(a) for a in r.anomalies]}


def sampled_entry(sampled: tuple[int, int] | None) -> dict[str, Any]:
    """``{"sampled": {"rows_read", "rows"}}`` for a history a server sampled; {} otherwise."""
    return {} if sampled is None else {"sampled": {"rows_read": sampled[0], "rows": sampled[1]}}


def keys_dict(k: KeyList) -> dict[str, Any]:
    return {
        "id": k.run_id, "rows": k.rows, **sampled_entry(k.sampled),
        "keys": [{"key": i.key, "count": i.count, "first_step": i.first_step, "last_step": i.last_step,
                  "non_finite": i.non_finite} for i in k.keys],
        "non_scalar": [{"key": key, "kind": kind} for key, kind in k.non_scalar],
    }


def stats_entry(s: SeriesStats) -> dict[str, Any]:
    return {"count": s.count, "min": number(s.min), "min_step": s.min_step, "max": number(s.max),
            "max_step": s.max_step, "mean": number(s.mean), "std": number(s.std), "final": number(s.final),
            "final_step": s.final_step, "first_step": s.first_step, "last_step": s.last_step,
            "nan": s.nan, "inf": s.inf}


def stats_dict(t: StatsTable) -> dict[str, Any]:
    return {"id": t.run_id, "step_range": list(t.step_range) if t.step_range else None, **sampled_entry(t.sampled),
            "stats": {k: stats_entry(s) for k, s in t.rows}}


def history_dict(h: History) -> dict[str, Any]:
    return {
        "id": h.run_id, "samples": h.samples, "exact": h.exact, **sampled_entry(h.sampled),
        "step_range": list(h.step_range) if h.step_range else None,
        "history": {
            kh.key: {"total": kh.total, "steps": [int(x) for x in kh.points.steps],
                     "values": [number(v) for v in kh.points.values]}
            for kh in h.keys
        },
    }


def stability_dict(t: StabilityTable) -> dict[str, Any]:
    return {"id": t.run_id, **sampled_entry(t.sampled), "stability": {
        k: {"status": s.status.value, "count": s.count, "window": s.window,
            "rolling_std_median": number(s.rolling_std_median), "rolling_std_final": number(s.rolling_std_final),
            "relative_noise": number(s.relative_noise), "slope_per_1k": number(s.slope_per_1k),
            "recent_slope_per_1k": number(s.recent_slope_per_1k)}
        for k, s in t.rows}}


def _brief(b: Any) -> dict[str, Any]:
    return {"id": b.id, "name": b.name, "state": b.state.value, "last_step": b.last_step}


def compare_dict(c: Comparison) -> dict[str, Any]:
    out: dict[str, Any] = {
        "a": _brief(c.a), "b": _brief(c.b), "step_a": c.step_a, "step_b": c.step_b,
        "metrics": [
            {"key": r.key, "a": number(r.a), "b": number(r.b), "delta": number(r.delta), "pct": number(r.pct),
             "a_step": r.a_step, "b_step": r.b_step, "a_exact": r.a_exact, "b_exact": r.b_exact,
             "better": r.better, "group": r.group}
            for r in c.rows
        ],
        "only_a": list(c.only_a), "only_b": list(c.only_b),
        "hidden_below_threshold": c.hidden_below_threshold,
    }
    if c.config_diff is not None:
        out["config_diff"] = {
            d.key: {"a": None if d.a is MISSING else value(d.a), "b": None if d.b is MISSING else value(d.b),
                    "in_a": d.a is not MISSING, "in_b": d.b is not MISSING}
            for d in c.config_diff
        }
    return out


def live_dict(v: LiveStatus) -> dict[str, Any]:
    return {"id": v.id, "name": v.name, "state": v.state.value, "is_running": v.is_running, "step": v.step,
            "total_steps": v.total_steps, "steps_per_s": number(v.rate), "eta_s": number(v.eta_s),
            "runtime_s": number(v.runtime_s), "seconds_since_activity": number(v.seconds_since_activity),
            "latest": {x.key: {"value": number(x.value), "step": x.step} for x in v.values},
            "console": list(v.console)}


def config_dict(c: ConfigView) -> dict[str, Any]:
    return {"id": c.run_id, "name": c.run_name, "config": {k: value(v) for k, v in c.items}}


def best_dict(b: BestList) -> dict[str, Any]:
    return {"metric": b.metric, "higher_is_better": b.higher_is_better, "direction_from": b.direction_from,
            "without_metric": b.without_metric,
            "runs": [{"id": r.id, "name": r.name, "state": r.state.value, "best": number(r.best),
                      "best_step": r.best_step, "final": number(r.final), "last_step": r.last_step}
                     for r in b.rows]}
