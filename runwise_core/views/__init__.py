"""One function per zoom level: a run (or runs) plus options in, a typed result out.

The CLI and the MCP server call these and hand the result to :func:`runwise_core.render.render`.
Views never read files (the catalog loads runs), never format text, and raise
:mod:`runwise_core.errors` for anything a user can cause.

Each name is imported from its module on first use, so a command pays for the one view it
asks for (and its analysis), not for all of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._common import RunBrief
    from .anomalies import AnomalyReport, anomalies_view
    from .best import BestList, BestRow, best_view
    from .compare import CompareRow, Comparison, compare_view
    from .config import ConfigView, config_view
    from .history import History, KeyHistory, history_view
    from .keys import KeyInfo, KeyList, keys_view
    from .listing import RunList, RunRow, find_view, list_view
    from .live import LatestValue, LiveStatus, live_view
    from .samples import DEFAULT_SAMPLES, MAX_SAMPLES, MIN_SAMPLES
    from .stability import StabilityTable, stability_view
    from .stats import StatsTable, stats_view
    from .summary import MetricLine, RunSummary, run_view

#: Where each public name lives.
_HOMES: dict[str, str] = {
    "RunBrief": "_common",
    "AnomalyReport": "anomalies", "anomalies_view": "anomalies",
    "BestList": "best", "BestRow": "best", "best_view": "best",
    "CompareRow": "compare", "Comparison": "compare", "compare_view": "compare",
    "ConfigView": "config", "config_view": "config",
    "DEFAULT_SAMPLES": "samples", "MAX_SAMPLES": "samples", "MIN_SAMPLES": "samples", "History": "history",
    "KeyHistory": "history", "history_view": "history",
    "KeyInfo": "keys", "KeyList": "keys", "keys_view": "keys",
    "RunList": "listing", "RunRow": "listing", "find_view": "listing", "list_view": "listing",
    "LatestValue": "live", "LiveStatus": "live", "live_view": "live",
    "StabilityTable": "stability", "stability_view": "stability",
    "StatsTable": "stats", "stats_view": "stats",
    "MetricLine": "summary", "RunSummary": "summary", "run_view": "summary",
}

__all__ = [
    "AnomalyReport",
    "DEFAULT_SAMPLES",
    "MAX_SAMPLES",
    "MIN_SAMPLES",
    "BestList",
    "BestRow",
    "CompareRow",
    "Comparison",
    "ConfigView",
    "History",
    "KeyHistory",
    "KeyInfo",
    "KeyList",
    "LatestValue",
    "LiveStatus",
    "MetricLine",
    "RunBrief",
    "RunList",
    "RunRow",
    "RunSummary",
    "StabilityTable",
    "StatsTable",
    "anomalies_view",
    "best_view",
    "compare_view",
    "config_view",
    "find_view",
    "history_view",
    "keys_view",
    "list_view",
    "live_view",
    "run_view",
    "stability_view",
    "stats_view",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
