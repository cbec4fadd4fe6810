"""Anomaly detection an agent can trust: found on the full series, silent when healthy.

One module per kind (``spike``, ``nan``, ``divergence``, ``overfitting``, ``plateau``,
``gradient``, ``throughput``); :func:`detect_anomalies` runs them by key role. Measured
by ``benchmarks/anomalies`` (see its README for recall, precision and false alarms).
"""

from .detect import detect_anomalies
from .finding import KINDS, Anomaly

__all__ = ["KINDS", "Anomaly", "detect_anomalies"]
