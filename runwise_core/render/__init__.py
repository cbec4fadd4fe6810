"""Renderers: pure functions from a view result to ``text``, ``md`` or ``json``, within a budget.

    render(result, "text" | "md" | "json", max_tokens=None) -> str

Each result type has one layout (a format-neutral :class:`~.doc.Doc`) written by
:mod:`.text` or :mod:`.markdown`, and one JSON form (:mod:`.jsondoc`). :mod:`.budget` fits
every output into ``max_tokens`` and says what it left out. Renderers never read runs or
files and never parse another renderer's output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analysis.downsample import downsample
from ..errors import UsageError
from ..model import Series
from ..tokens import estimate
from ..views import (AnomalyReport, BestList, Comparison, ConfigView, History, KeyList, LiveStatus, RunList, RunSummary,
                     StabilityTable, StatsTable)
from . import jsondoc
from .budget import fit_doc, fit_json
from .doc import Doc
from .layout_metrics import layout_compare, layout_history, layout_keys, layout_stability, layout_stats
from .layout_runs import layout_anomaly_report, layout_best, layout_config, layout_live, layout_run_list, layout_run_summary
from .markdown import to_markdown
from .text import to_text

FORMATS = ("text", "md", "json")

_LAYOUTS: dict[type, Callable[[Any], Doc]] = {
    RunList: layout_run_list,
    RunSummary: layout_run_summary,
    AnomalyReport: layout_anomaly_report,
    KeyList: layout_keys,
    StatsTable: layout_stats,
    StabilityTable: layout_stability,
    Comparison: layout_compare,
    LiveStatus: layout_live,
    ConfigView: layout_config,
    BestList: layout_best,
}

# (to_dict, the top-level keys a budget may trim, the hint when it does)
_JSON: dict[type, tuple[Callable[[Any], dict[str, Any]], tuple[str, ...], str]] = {
    RunList: (jsondoc.runs_dict, ("runs",), "use -n N"),
    RunSummary: (jsondoc.summary_dict, ("config", "summary", "metrics", "anomalies"), "use -k KEYS"),
    AnomalyReport: (jsondoc.anomaly_report_dict, ("anomalies", "keys_checked"), "use -k KEYS"),
    KeyList: (jsondoc.keys_dict, ("keys", "non_scalar"), "runwise keys ID PREFIX"),
    StatsTable: (jsondoc.stats_dict, ("stats",), "use -k KEYS"),
    StabilityTable: (jsondoc.stability_dict, ("stability",), "use -k KEYS"),
    Comparison: (jsondoc.compare_dict, ("config_diff", "only_a", "only_b", "metrics"), "use -f TEXT or -t PCT"),
    LiveStatus: (jsondoc.live_dict, ("console", "latest"), ""),
    ConfigView: (jsondoc.config_dict, ("config",), "use -f TEXT"),
    BestList: (jsondoc.best_dict, ("runs",), "use -n N"),
    History: (jsondoc.history_dict, (), "use --samples N or --steps FROM:TO"),
}


def _writer(fmt: str) -> Callable[[Doc], str]:
    return to_markdown if fmt == "md" else to_text


def render(result: Any, fmt: str = "text", max_tokens: int | None = None) -> str:
    """``result`` (any view result) as ``fmt``, never over ``max_tokens`` estimated tokens."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if max_tokens is not None and max_tokens < 1:
        raise UsageError(f"--max-tokens must be positive (got {max_tokens})")
    kind = type(result)
    if fmt == "json":
        if kind is History:
            return _history_json(result, max_tokens)
        to_dict, trim, hint = _JSON[kind]
        return fit_json(to_dict(result), max_tokens, trim, hint)
    write = _writer(fmt)
    if kind is History:
        return _history_text(result, max_tokens, write)
    return fit_doc(_LAYOUTS[kind](result), max_tokens, write)


def _history_text(h: History, max_tokens: int | None, write: Callable[[Doc], str]) -> str:
    """A history that does not fit is coarsened (rows merged pairwise, min/max kept exact)
    before anything is cut, so the whole step range stays visible."""
    doc = layout_history(h)
    text = write(doc)
    if max_tokens is None or estimate(text) <= max_tokens:
        return text
    factor = 1
    rows = max(len(kh.grid.starts) for kh in h.keys) if h.keys else 0
    while factor < max(rows, 1):
        doc = layout_history(h, factor=factor, force_grid=True)
        text = write(doc)
        if estimate(text) <= max_tokens:
            return text
        factor *= 2
    return fit_doc(doc, max_tokens, write)


def _history_json(h: History, max_tokens: int | None) -> str:
    data = jsondoc.history_dict(h)
    text = fit_json(data, None, ())
    if max_tokens is None or estimate(text) <= max_tokens:
        return text
    # Thin every key's points but keep the extremes: a downsample of the downsample.
    samples = h.samples
    while samples > 8:
        samples //= 2
        hist = {}
        for kh in h.keys:
            ds = downsample(Series(kh.points.steps, kh.points.values), samples, max_non_finite=20)
            hist[kh.key] = {"total": kh.total, "steps": [int(x) for x in ds.points.steps],
                            "values": [jsondoc.number(v) for v in ds.points.values]}
        data = dict(data, history=hist, truncated={"samples": samples, "hint": "use --steps FROM:TO to zoom in"})
        text = fit_json(data, None, ())
        if estimate(text) <= max_tokens:
            return text
    return fit_json(data, max_tokens, ("history",), "use fewer -k keys")


__all__ = ["FORMATS", "render"]
