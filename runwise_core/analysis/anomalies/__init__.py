"""Anomaly detection an agent can trust: found on the full series, silent when healthy.

One module per kind (``spike``, ``nan``, ``divergence``, ``overfitting``, ``plateau``,
``gradient``, ``throughput``); :func:`detect_anomalies` runs them by key role. Measured
by ``benchmarks/anomalies`` (see its README for recall, precision and false alarms).

The detectors are imported when :func:`detect_anomalies` is first looked up: a process that
reads stored findings (:mod:`runwise_core.analysis.stored`) needs only :class:`Anomaly`.
"""

from typing import Any

from .finding import KINDS, Anomaly

__all__ = ["KINDS", "Anomaly", "detect_anomalies"]


def __getattr__(name: str) -> Any:
    if name == "detect_anomalies":
        from .detect import detect_anomalies

        return detect_anomalies
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
