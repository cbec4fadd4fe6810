"""The per-series facts several views share, each computed once.

Exact statistics (``stats``, a run summary's final and best values), the trend arrow and
the sparkline shape (``run``, ``list``) cost tens of milliseconds each on a 1M-point
series. They are kept for the life of the series object (:mod:`.memo`) and, for a series of
a run the catalog loaded, on disk for as long as its files and the code are unchanged
(:mod:`.stored`), so the next process reads them.
"""

from __future__ import annotations

from ..model import Series
from . import codecs
from .memo import memoized
from .stats import SeriesStats, series_stats
from .stored import stored
from .trend import Trend, profile, trend_of


def stats_of(series: Series) -> SeriesStats:
    """:func:`~.stats.series_stats` of ``series``, computed once."""
    return memoized(series, ("stats",), lambda: stored(series, ("stats",), lambda: series_stats(series), codecs.STATS))


def trend_of_series(series: Series) -> Trend:
    """:func:`~.trend.trend_of` of ``series``, computed once."""
    return memoized(series, ("trend",), lambda: stored(series, ("trend",), lambda: trend_of(series), codecs.TREND))


def shape_of(series: Series, width: int = 10) -> tuple[float, ...]:
    """:func:`~.trend.profile` of ``series`` in ``width`` values, computed once."""
    question = ("profile", width)
    return memoized(series, question, lambda: stored(series, question, lambda: profile(series, width), codecs.SHAPE))
