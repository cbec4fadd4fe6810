"""One function per zoom level: a run (or runs) plus options in, a typed result out.

The CLI and the MCP server call these and hand the result to :func:`runwise_core.render.render`.
Views never read files (the catalog loads runs), never format text, and raise
:mod:`runwise_core.errors` for anything a user can cause.
"""

from ._common import RunBrief
from .anomalies import AnomalyReport, anomalies_view
from .best import BestList, BestRow, best_view
from .compare import CompareRow, Comparison, compare_view
from .config import ConfigView, config_view
from .history import DEFAULT_SAMPLES, MAX_SAMPLES, MIN_SAMPLES, History, KeyHistory, history_view
from .keys import KeyInfo, KeyList, keys_view
from .listing import RunList, RunRow, find_view, list_view
from .live import LatestValue, LiveStatus, live_view
from .stability import StabilityTable, stability_view
from .stats import StatsTable, stats_view
from .summary import MetricLine, RunSummary, run_view

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
