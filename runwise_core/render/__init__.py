"""Renderers: pure functions from a view result to ``text``, ``md`` or ``json``, within a budget.

    render(result, "text" | "md" | "json", max_tokens=None) -> str

Each result type has one layout (a format-neutral :class:`~.doc.Doc`) written by
:mod:`.text` or :mod:`.markdown`, and one JSON form (:mod:`.jsondoc`). :mod:`.budget` fits
every output into ``max_tokens`` and says what it left out. Renderers never read runs or
files and never parse another renderer's output.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..tokens import estimate
from .budget import fit_doc, fit_json
from .doc import Doc
from .markdown import to_markdown
from .text import to_text

if TYPE_CHECKING:
    from ..views import History

FORMATS = ("text", "md", "json")

# Each view result type (by class name) to the module and function of its layout, and of its
# JSON form with the top-level keys a budget may trim and the hint when it does. Modules are
# imported when first needed: a command pays for the one view it prints, not for all of them.
_LAYOUTS: dict[str, tuple[str, str]] = {
    "RunList": ("layout_runs", "layout_run_list"),
    "RunSummary": ("layout_runs", "layout_run_summary"),
    "AnomalyReport": ("layout_runs", "layout_anomaly_report"),
    "KeyList": ("layout_metrics", "layout_keys"),
    "StatsTable": ("layout_metrics", "layout_stats"),
    "StabilityTable": ("layout_metrics", "layout_stability"),
    "Comparison": ("layout_metrics", "layout_compare"),
    "LiveStatus": ("layout_runs", "layout_live"),
    "ConfigView": ("layout_runs", "layout_config"),
    "BestList": ("layout_runs", "layout_best"),
}
_JSON: dict[str, tuple[str, tuple[str, ...], str]] = {
    "RunList": ("runs_dict", ("runs",), "use -n N"),
    "RunSummary": ("summary_dict", ("config", "summary", "metrics", "anomalies"), "use -k KEYS"),
    "AnomalyReport": ("anomaly_report_dict", ("anomalies", "keys_checked"), "use -k KEYS"),
    "KeyList": ("keys_dict", ("keys", "non_scalar"), "runwise keys ID PREFIX"),
    "StatsTable": ("stats_dict", ("stats",), "use -k KEYS"),
    "StabilityTable": ("stability_dict", ("stability",), "use -k KEYS"),
    "Comparison": ("compare_dict", ("config_diff", "only_a", "only_b", "metrics"), "use -f TEXT or -t PCT"),
    "LiveStatus": ("live_dict", ("console", "latest"), ""),
    "ConfigView": ("config_dict", ("config",), "use -f TEXT"),
    "BestList": ("best_dict", ("runs",), "use -n N"),
    "History": ("history_dict", (), "use --samples N or --steps FROM:TO"),
}


def _function(module: str, name: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def _writer(fmt: str) -> Callable[[Doc], str]:
    return to_markdown if fmt == "md" else to_text


def render(result: Any, fmt: str = "text", max_tokens: int | None = None) -> str:
    """``result`` (any view result) as ``fmt``, never over ``max_tokens`` estimated tokens."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if max_tokens is not None and max_tokens < 1:
        raise UsageError(f"--max-tokens must be positive (got {max_tokens})")
    kind = type(result).__name__
    if fmt == "json":
        if kind == "History":
            return _history_json(result, max_tokens)
        to_dict, trim, hint = _JSON[kind]
        return fit_json(_function("jsondoc", to_dict)(result), max_tokens, trim, hint)
    write = _writer(fmt)
    if kind == "History":
        return _history_text(result, max_tokens, write)
    return fit_doc(_function(*_LAYOUTS[kind])(result), max_tokens, write)


def _history_text(h: "History", max_tokens: int | None, write: Callable[[Doc], str]) -> str:
    """A history that does not fit is coarsened (rows merged pairwise, min/max kept exact)
    before anything is cut, so the whole step range stays visible."""
    from .layout_metrics import layout_history

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


def _history_json(h: "History", max_tokens: int | None) -> str:
    from ..analysis.downsample import downsample
    from ..model import Series
    from . import jsondoc

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
